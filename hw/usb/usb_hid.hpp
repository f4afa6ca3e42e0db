// usb-kbd and usb-tablet: USB HID devices (HID 1.11) as QEMU's, at high
// speed on an xHCI USB 2 port: the same descriptors, strings, report
// descriptors (a boot keyboard; an absolute pointer with three buttons and
// a wheel) and class requests (GET/SET_REPORT, _IDLE, _PROTOCOL), and an
// interrupt IN endpoint that NAKs until there is a new report.
#pragma once
#include <deque>

#include "hw/usb/usb.hpp"

namespace armvm {

class UsbHid : public UsbDevice {
public:
    enum class Kind { Keyboard, Tablet };
    explicit UsbHid(Kind k) : kind_(k) {}
    Kind kind() const { return kind_; }
    const char* type_name() const override { return kind_ == Kind::Keyboard ? "usb-kbd" : "usb-tablet"; }
    bool supports(UsbSpeed s) const override { return s == UsbSpeed::Full || s == UsbSpeed::High; }
    Result transfer(unsigned ep, bool in, std::vector<uint8_t>& data, size_t max) override;
    void reset() override;

    // Input (keyboard): a key by its HID usage (page 7) pressed or released.
    void key(uint8_t usage, bool down);
    // Input (tablet): the pointer at (x, y) in 0..0x7fff, the buttons' bits.
    void pointer(uint16_t x, uint16_t y, uint8_t buttons);
    // The guest's keyboard LEDs (SET_REPORT output report).
    uint8_t leds() const { return leds_; }

protected:
    std::vector<uint8_t> device_descriptor() const override;
    std::vector<uint8_t> config_descriptor() const override;
    std::string string(unsigned index) const override;
    Result other_request(const UsbSetup& setup, std::vector<uint8_t>& data) override;

private:
    bool is_keyboard() const;
    std::vector<uint8_t> report() const;
    void queue_report();
    const std::vector<uint8_t>& report_descriptor() const;
    std::vector<uint8_t> hid_descriptor() const;

    Kind kind_;
    uint8_t idle_ = 0, protocol_ = 1, leds_ = 0;
    std::vector<uint8_t> keys_;  // pressed, in press order (at most 6 reported)
    uint8_t modifiers_ = 0;
    uint16_t x_ = 0, y_ = 0;
    uint8_t buttons_ = 0;
    std::deque<std::vector<uint8_t>> queue_;  // reports the guest has not read
};

}  // namespace armvm
