// usb-storage: a USB mass storage device (Bulk-Only Transport 1.0) with
// one SCSI disk behind it, as QEMU's (its descriptors and strings; at
// SuperSpeed on an xHCI USB 3 port, high speed on a USB 2 one; its SCSI
// disk says "QEMU QEMU HARDDISK 2.5+"). The SCSI commands a Linux or
// firmware driver sends to a disk (INQUIRY, READ CAPACITY, MODE SENSE,
// READ/WRITE(6/10/16), SYNCHRONIZE CACHE, REQUEST SENSE, ...) run on the
// block layer's disk; anything else is an ILLEGAL REQUEST with sense data.
//
// The disk I/O is done in the transfer, under the BQL (a USB stick is not
// where a VM's I/O speed is measured; virtio-blk has its I/O thread).
#pragma once
#include <array>

#include "hw/usb/usb.hpp"

namespace armvm {

class BlockDev;

class UsbStorage : public UsbDevice {
public:
    // `removable`: the SCSI disk says it has removable media (RMB).
    UsbStorage(BlockDev& disk, bool removable) : disk_(disk), removable_(removable) {}
    const char* type_name() const override { return "usb-storage"; }
    bool supports(UsbSpeed s) const override { return s != UsbSpeed::Low; }
    Result transfer(unsigned ep, bool in, std::vector<uint8_t>& data, size_t max) override;
    void reset() override;

protected:
    std::vector<uint8_t> device_descriptor() const override;
    std::vector<uint8_t> config_descriptor() const override;
    std::vector<uint8_t> bos_descriptor() const override;
    std::string string(unsigned index) const override;
    Result other_request(const UsbSetup& setup, std::vector<uint8_t>& data) override;

private:
    enum class Phase { Command, DataIn, DataOut, Status };
    void command(const std::vector<uint8_t>& cbw);
    // Runs the SCSI command in cdb_; fills data_ for a data-in command.
    // Returns false with sense_ set on CHECK CONDITION.
    bool scsi();
    bool finish_write();
    bool check_lba(uint64_t lba, uint64_t blocks);
    bool fail(uint8_t key, uint8_t asc, uint8_t ascq = 0);
    std::vector<uint8_t> mode_pages(uint8_t page, bool changeable, bool& ok) const;
    void to_status(uint8_t status);

    BlockDev& disk_;
    bool removable_;
    Phase phase_ = Phase::Command;
    uint32_t tag_ = 0, expected_ = 0;  // the CBW's tag and data length
    std::vector<uint8_t> cdb_;
    std::vector<uint8_t> data_;  // data-in to send, or data-out received
    size_t phase_len_ = 0;       // bytes in the data phase
    size_t done_ = 0;            // bytes of the data phase moved
    uint8_t status_ = 0;         // the CSW's
    std::array<uint8_t, 3> sense_{};  // key, ASC, ASCQ of the last CHECK CONDITION
    bool unit_attention_ = true;      // reset since the last command
    bool failed_ = false;             // the command in progress ended in CHECK CONDITION
};

}  // namespace armvm
