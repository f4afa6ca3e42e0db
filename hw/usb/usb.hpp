// A USB device as a host controller sees it (USB 2.0 chapter 9, USB 3.2
// chapter 9): the default control pipe answering the standard requests
// from the device's descriptors, and its other endpoints' transfers. The
// controller (hw/usb/xhci.cpp) moves the bytes; a device never touches
// guest memory.
//
// Runs under the BQL (the controller's doorbells on a vCPU thread; input
// events from the main loop).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace armvm {

// The speeds a device can run at, as xHCI's protocol speed IDs.
enum class UsbSpeed : uint8_t { Full = 1, Low = 2, High = 3, Super = 4 };

struct UsbSetup {
    uint8_t request_type, request;
    uint16_t value, index, length;
    bool in() const { return request_type & 0x80; }
};

class UsbDevice {
public:
    virtual ~UsbDevice() = default;
    virtual const char* type_name() const = 0;
    // Its product string (HMP's info usb).
    std::string product() const { return string(device_descriptor()[15]); }
    // Whether the device can run at `s` (a controller picks the fastest
    // speed its port and the device share).
    virtual bool supports(UsbSpeed s) const = 0;
    // The speed it was attached at (set by the controller).
    UsbSpeed speed = UsbSpeed::High;
    // The serial number string as QEMU makes it when none is given:
    // "<the device's own>-<controller's PCI path>-<port>".
    std::string serial;

    enum class Result { Ok, Nak, Stall };
    // A control transfer on endpoint 0: `data` is the OUT stage's bytes, or
    // receives the IN stage's (at most setup.length).
    Result control(const UsbSetup& setup, std::vector<uint8_t>& data);
    // A bulk or interrupt transfer on endpoint `ep` (1-15): IN fills `data`
    // with at most `max` bytes; Nak when there is nothing yet (the device
    // calls `wakeup` when there is).
    virtual Result transfer(unsigned ep, bool in, std::vector<uint8_t>& data, size_t max) = 0;
    // A USB bus reset (port reset, or the controller's reset).
    virtual void reset() { configuration_ = 0; }
    std::function<void()> wakeup;

protected:
    // The descriptors at the speed the device runs at: device, then
    // configuration (with its interfaces, class and endpoint descriptors),
    // the BOS for USB 3; its strings by index (0: none).
    virtual std::vector<uint8_t> device_descriptor() const = 0;
    virtual std::vector<uint8_t> config_descriptor() const = 0;
    virtual std::vector<uint8_t> bos_descriptor() const { return {}; }
    virtual std::string string(unsigned index) const = 0;
    // Requests that are not standard device requests (class requests,
    // GET_DESCRIPTOR to an interface); Stall if unknown.
    virtual Result other_request(const UsbSetup& setup, std::vector<uint8_t>& data);
    virtual void configured(uint8_t /*configuration*/) {}

    // An IN stage's bytes `d` (cut to what the setup asked for) into `data`.
    static Result reply(const UsbSetup& setup, std::vector<uint8_t>& data, std::vector<uint8_t> d);

    uint8_t configuration_ = 0;
};

// Descriptor building helpers.
void usb_put16(std::vector<uint8_t>& v, uint16_t x);
// A device descriptor (18 bytes).
std::vector<uint8_t> usb_device_descriptor(uint16_t bcd_usb, uint8_t max_packet0, uint16_t vendor, uint16_t product,
                                           uint16_t bcd_device, uint8_t i_manufacturer, uint8_t i_product,
                                           uint8_t i_serial);
// An endpoint descriptor, and for SuperSpeed its companion.
void usb_put_endpoint(std::vector<uint8_t>& v, uint8_t address, uint8_t attributes, uint16_t max_packet,
                      uint8_t interval, bool super);

}  // namespace armvm
