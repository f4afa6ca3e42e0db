// The board's input side: the USB devices it lists (query of usb buses)
// and the keys and pointer that QMP's send-key and input-send-event give
// the guest's USB keyboards and tablets.
#include <optional>
#include <vector>

#include "hw/usb/usb_hid.hpp"
#include "machine/virt/board.hpp"

namespace armvm::virt {

std::vector<Board::UsbInfo> Board::usb_devices() const {
    std::vector<UsbInfo> out;
    for (const auto& u : usb_devs_) {
        unsigned bus = 0;
        for (unsigned i = 0; i < usb_buses_.size(); ++i)
            if (usb_buses_[i].second == u.hc) bus = i;
        out.push_back({bus, u.hc->address_of(u.dev.get()), u.port, u.dev->speed, u.dev->product(), u.id});
    }
    return out;
}

void Board::input_key(uint8_t usage, bool down) {
    for (auto& d : usb_devs_)
        if (auto* h = dynamic_cast<UsbHid*>(d.dev.get()); h && h->kind() == UsbHid::Kind::Keyboard) h->key(usage, down);
}

void Board::input_pointer(std::optional<uint16_t> x, std::optional<uint16_t> y, uint8_t buttons_set,
                          uint8_t buttons_clear) {
    if (x) ptr_x_ = *x;
    if (y) ptr_y_ = *y;
    ptr_buttons_ = static_cast<uint8_t>((ptr_buttons_ | buttons_set) & ~buttons_clear);
    for (auto& d : usb_devs_)
        if (auto* h = dynamic_cast<UsbHid*>(d.dev.get()); h && h->kind() == UsbHid::Kind::Tablet)
            h->pointer(ptr_x_, ptr_y_, ptr_buttons_);
}

bool Board::has_input(bool keyboard) const {
    for (const auto& d : usb_devs_)
        if (auto* h = dynamic_cast<const UsbHid*>(d.dev.get()))
            if ((h->kind() == UsbHid::Kind::Keyboard) == keyboard) return true;
    return false;
}

void Board::send_keys(const std::vector<uint8_t>& usages, uint64_t hold_ms) {
    // (keys still held from the last send-key are let go first)
    if (key_timer_) {
        loop_->cancel_timer(key_timer_);
        key_timer_ = 0;
        for (auto it = held_keys_.rbegin(); it != held_keys_.rend(); ++it) input_key(*it, false);
    }
    for (uint8_t k : usages) input_key(k, true);
    held_keys_ = usages;
    key_timer_ = loop_->add_timer(EventLoop::now_ns() + hold_ms * 1'000'000, [this] {
        key_timer_ = 0;
        for (auto it = held_keys_.rbegin(); it != held_keys_.rend(); ++it) input_key(*it, false);
        held_keys_.clear();
    });
}

}  // namespace armvm::virt
