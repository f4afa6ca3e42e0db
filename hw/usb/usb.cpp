#include "hw/usb/usb.hpp"

#include <algorithm>

namespace armvm {
namespace {

// Standard requests (USB 2.0 table 9-4, USB 3.2 table 9-5) and descriptor types.
enum : uint8_t {
    kGetStatus = 0, kClearFeature = 1, kSetFeature = 3, kSetAddress = 5, kGetDescriptor = 6, kGetConfiguration = 8,
    kSetConfiguration = 9, kGetInterface = 10, kSetInterface = 11, kSetSel = 48, kSetIsochDelay = 49,
};
enum : uint8_t { kDescDevice = 1, kDescConfig = 2, kDescString = 3, kDescBos = 15 };

}  // namespace

void usb_put16(std::vector<uint8_t>& v, uint16_t x) {
    v.push_back(static_cast<uint8_t>(x));
    v.push_back(static_cast<uint8_t>(x >> 8));
}

std::vector<uint8_t> usb_device_descriptor(uint16_t bcd_usb, uint8_t max_packet0, uint16_t vendor, uint16_t product,
                                           uint16_t bcd_device, uint8_t i_manufacturer, uint8_t i_product,
                                           uint8_t i_serial) {
    std::vector<uint8_t> d = {18, kDescDevice};
    usb_put16(d, bcd_usb);
    d.insert(d.end(), {0, 0, 0, max_packet0});  // class, subclass and protocol in the interfaces
    usb_put16(d, vendor);
    usb_put16(d, product);
    usb_put16(d, bcd_device);
    d.insert(d.end(), {i_manufacturer, i_product, i_serial, 1});
    return d;
}

void usb_put_endpoint(std::vector<uint8_t>& v, uint8_t address, uint8_t attributes, uint16_t max_packet,
                      uint8_t interval, bool super) {
    v.insert(v.end(), {7, 5, address, attributes});
    usb_put16(v, max_packet);
    v.push_back(interval);
    if (super) v.insert(v.end(), {6, 0x30, 0x0f, 0, 0, 0});  // companion: 16 per burst, no streams
}

UsbDevice::Result UsbDevice::control(const UsbSetup& s, std::vector<uint8_t>& data) {
    unsigned recipient = s.request_type & 0x1f;
    bool standard = (s.request_type & 0x60) == 0;
    auto reply = [&](std::vector<uint8_t> d) { return UsbDevice::reply(s, data, std::move(d)); };
    if (!standard || (recipient != 0 && !(s.request == kClearFeature || s.request == kSetFeature ||
                                          s.request == kGetStatus || s.request == kGetInterface ||
                                          s.request == kSetInterface)))
        return other_request(s, data);
    switch (s.request) {
    case kGetStatus:
        if (recipient == 0) {
            std::vector<uint8_t> c = config_descriptor();
            return reply({static_cast<uint8_t>(c.size() > 7 && (c[7] & 0x40) ? 1 : 0), 0});  // self-powered
        }
        return reply({0, 0});
    case kClearFeature:  // (ENDPOINT_HALT too: no device here halts an endpoint of its own)
    case kSetFeature:
    case kSetAddress:  // (the controller gave the address: xHCI's Address Device)
    case kSetSel:
    case kSetIsochDelay:
        return Result::Ok;
    case kGetDescriptor: {
        unsigned type = s.value >> 8, index = s.value & 0xff;
        if (type == kDescDevice) return reply(device_descriptor());
        if (type == kDescConfig && index == 0) return reply(config_descriptor());
        if (type == kDescBos) {
            std::vector<uint8_t> b = bos_descriptor();
            if (b.empty()) return Result::Stall;
            return reply(b);
        }
        if (type == kDescString) {
            if (index == 0) return reply({4, kDescString, 0x09, 0x04});  // English (US)
            std::string str = string(index);
            if (str.empty()) return Result::Stall;
            std::vector<uint8_t> d = {static_cast<uint8_t>(std::min<size_t>(2 + 2 * str.size(), 254)), kDescString};
            for (size_t i = 0; i < str.size() && d.size() < 254; ++i) usb_put16(d, static_cast<uint8_t>(str[i]));
            return reply(d);
        }
        return Result::Stall;  // (device qualifier, other speed: a device of one speed has none)
    }
    case kGetConfiguration:
        return reply({configuration_});
    case kSetConfiguration:
        if (s.value > 1) return Result::Stall;
        configuration_ = static_cast<uint8_t>(s.value);
        configured(configuration_);
        return Result::Ok;
    case kGetInterface:
        return reply({0});
    case kSetInterface:
        return s.value == 0 ? Result::Ok : Result::Stall;
    default:
        return Result::Stall;
    }
}

UsbDevice::Result UsbDevice::reply(const UsbSetup& s, std::vector<uint8_t>& data, std::vector<uint8_t> d) {
    if (d.size() > s.length) d.resize(s.length);
    data = std::move(d);
    return Result::Ok;
}

UsbDevice::Result UsbDevice::other_request(const UsbSetup&, std::vector<uint8_t>&) {
    return Result::Stall;
}

}  // namespace armvm
