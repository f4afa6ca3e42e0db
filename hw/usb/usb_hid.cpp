#include "hw/usb/usb_hid.hpp"

#include <algorithm>

namespace armvm {
namespace {

// The string indices of QEMU's HID devices (they share one table).
enum : uint8_t {
    kStrManufacturer = 1, kStrTablet = 3, kStrKeyboard = 4, kStrConfigTablet = 7, kStrConfigKeyboard = 8,
    kStrSerialTablet = 10, kStrSerialKeyboard = 11,
};

// HID class requests (HID 1.11 section 7.2).
enum : uint8_t { kGetReport = 1, kGetIdle = 2, kGetProtocol = 3, kSetReport = 9, kSetIdle = 10, kSetProtocol = 11 };

// A boot keyboard (HID 1.11 appendix B.1 report: modifiers, reserved,
// six keys; five LEDs out).
const std::vector<uint8_t> kKeyboardReport = {
    0x05, 0x01, 0x09, 0x06, 0xa1, 0x01, 0x75, 0x01, 0x95, 0x08, 0x05, 0x07, 0x19, 0xe0, 0x29, 0xe7,
    0x15, 0x00, 0x25, 0x01, 0x81, 0x02, 0x95, 0x01, 0x75, 0x08, 0x81, 0x01, 0x95, 0x05, 0x75, 0x01,
    0x05, 0x08, 0x19, 0x01, 0x29, 0x05, 0x91, 0x02, 0x95, 0x01, 0x75, 0x03, 0x91, 0x01, 0x95, 0x06,
    0x75, 0x08, 0x15, 0x00, 0x25, 0xff, 0x05, 0x07, 0x19, 0x00, 0x29, 0xff, 0x81, 0x00, 0xc0,
};
// A pointer: three buttons, absolute X and Y in 0..0x7fff, a relative wheel.
const std::vector<uint8_t> kTabletReport = {
    0x05, 0x01, 0x09, 0x02, 0xa1, 0x01, 0x09, 0x01, 0xa1, 0x00, 0x05, 0x09, 0x19, 0x01, 0x29, 0x03,
    0x15, 0x00, 0x25, 0x01, 0x95, 0x03, 0x75, 0x01, 0x81, 0x02, 0x95, 0x01, 0x75, 0x05, 0x81, 0x01,
    0x05, 0x01, 0x09, 0x30, 0x09, 0x31, 0x15, 0x00, 0x26, 0xff, 0x7f, 0x35, 0x00, 0x46, 0xff, 0x7f,
    0x75, 0x10, 0x95, 0x02, 0x81, 0x02, 0x05, 0x01, 0x09, 0x38, 0x15, 0x81, 0x25, 0x7f, 0x35, 0x00,
    0x45, 0x00, 0x75, 0x08, 0x95, 0x01, 0x81, 0x06, 0xc0, 0xc0,
};
constexpr size_t kMaxQueued = 16;

}  // namespace

bool UsbHid::is_keyboard() const {
    return kind_ == Kind::Keyboard;
}

std::vector<uint8_t> UsbHid::device_descriptor() const {
    bool kbd = is_keyboard();
    return usb_device_descriptor(0x0200, 64, 0x0627, 0x0001, 0x0000, kStrManufacturer,
                                 kbd ? kStrKeyboard : kStrTablet, kbd ? kStrSerialKeyboard : kStrSerialTablet);
}

std::vector<uint8_t> UsbHid::hid_descriptor() const {
    bool kbd = is_keyboard();
    uint16_t len = static_cast<uint16_t>(report_descriptor().size());
    std::vector<uint8_t> d = {9, 0x21};
    usb_put16(d, kbd ? 0x0111 : 0x0001);  // bcdHID (QEMU's values)
    d.insert(d.end(), {0, 1, 0x22});      // no country; one report descriptor
    usb_put16(d, len);
    return d;
}

std::vector<uint8_t> UsbHid::config_descriptor() const {
    bool kbd = is_keyboard();
    std::vector<uint8_t> c = {9, 2, 0, 0, 1, 1, kbd ? kStrConfigKeyboard : kStrConfigTablet,
                              0xa0, 50};  // bus powered, remote wakeup; 100 mA
    c.insert(c.end(), {9, 4, 0, 0, 1, 3, static_cast<uint8_t>(kbd ? 1 : 0), static_cast<uint8_t>(kbd ? 1 : 0), 0});
    std::vector<uint8_t> h = hid_descriptor();
    c.insert(c.end(), h.begin(), h.end());
    // EP 1 IN, interrupt, 8 bytes; every 8 ms (keyboard) or 1 ms (tablet)
    // at high speed (2^(interval-1) microframes).
    usb_put_endpoint(c, 0x81, 3, 8, kbd ? 7 : 4, false);
    c[2] = static_cast<uint8_t>(c.size());
    return c;
}

std::string UsbHid::string(unsigned index) const {
    switch (index) {
    case kStrManufacturer: return "QEMU";
    case kStrTablet: return "QEMU USB Tablet";
    case kStrKeyboard: return "QEMU USB Keyboard";
    case kStrConfigTablet: return "HID Tablet";
    case kStrConfigKeyboard: return "HID Keyboard";
    case kStrSerialTablet:
    case kStrSerialKeyboard: return serial;
    default: return "";
    }
}

const std::vector<uint8_t>& UsbHid::report_descriptor() const {
    return is_keyboard() ? kKeyboardReport : kTabletReport;
}

std::vector<uint8_t> UsbHid::report() const {
    if (is_keyboard()) {
        std::vector<uint8_t> r = {modifiers_, 0, 0, 0, 0, 0, 0, 0};
        if (keys_.size() > 6) {
            std::fill(r.begin() + 2, r.end(), 1);  // ErrorRollOver
        } else {
            std::copy(keys_.begin(), keys_.end(), r.begin() + 2);
        }
        return r;
    }
    return {buttons_, static_cast<uint8_t>(x_), static_cast<uint8_t>(x_ >> 8), static_cast<uint8_t>(y_),
            static_cast<uint8_t>(y_ >> 8), 0};
}

void UsbHid::queue_report() {
    if (queue_.size() >= kMaxQueued) queue_.pop_front();  // (the oldest goes: the guest is not reading)
    queue_.push_back(report());
    if (wakeup) wakeup();
}

void UsbHid::key(uint8_t usage, bool down) {
    if (!is_keyboard()) return;
    if (usage >= 0xe0 && usage <= 0xe7) {
        uint8_t bit = static_cast<uint8_t>(1u << (usage - 0xe0));
        modifiers_ = down ? (modifiers_ | bit) : (modifiers_ & ~bit);
    } else {
        auto it = std::find(keys_.begin(), keys_.end(), usage);
        if (down && it == keys_.end()) keys_.push_back(usage);
        if (!down && it != keys_.end()) keys_.erase(it);
    }
    queue_report();
}

void UsbHid::pointer(uint16_t x, uint16_t y, uint8_t buttons) {
    if (is_keyboard()) return;
    x_ = std::min<uint16_t>(x, 0x7fff);
    y_ = std::min<uint16_t>(y, 0x7fff);
    buttons_ = buttons & 7;
    queue_report();
}

void UsbHid::reset() {
    UsbDevice::reset();
    idle_ = 0;
    protocol_ = 1;
    leds_ = 0;
    queue_.clear();
}

UsbDevice::Result UsbHid::transfer(unsigned ep, bool in, std::vector<uint8_t>& data, size_t max) {
    if (ep != 1 || !in) return Result::Stall;
    if (queue_.empty()) return Result::Nak;
    data = std::move(queue_.front());
    queue_.pop_front();
    if (data.size() > max) data.resize(max);
    return Result::Ok;
}

UsbDevice::Result UsbHid::other_request(const UsbSetup& s, std::vector<uint8_t>& data) {
    auto reply = [&](std::vector<uint8_t> d) { return UsbDevice::reply(s, data, std::move(d)); };
    if (s.request_type == 0x81 && s.request == 6) {  // GET_DESCRIPTOR to the interface
        if (s.value >> 8 == 0x22) return reply(report_descriptor());
        if (s.value >> 8 == 0x21) return reply(hid_descriptor());
        return Result::Stall;
    }
    if (s.request_type == 0xa1) {
        switch (s.request) {
        case kGetReport: return reply(report());
        case kGetIdle: return reply({idle_});
        case kGetProtocol: return reply({protocol_});
        default: return Result::Stall;
        }
    }
    if (s.request_type == 0x21) {
        switch (s.request) {
        case kSetReport:
            if (is_keyboard() && !data.empty()) leds_ = data[0] & 0x1f;
            return Result::Ok;
        case kSetIdle: idle_ = static_cast<uint8_t>(s.value >> 8); return Result::Ok;
        case kSetProtocol: protocol_ = static_cast<uint8_t>(s.value & 1); return Result::Ok;
        default: return Result::Stall;
        }
    }
    return Result::Stall;
}

}  // namespace armvm
