// The GICv3 Interrupt Translation Service (ARM IHI 0069, chapters 5 and 6):
// it turns a device's MSI write (DeviceID = the PCI requester ID, EventID =
// the data written to GITS_TRANSLATER) into an LPI pending on one
// redistributor, through tables the OS keeps in guest memory: the device
// table (DeviceID → the device's interrupt translation table), the ITTs
// (EventID → LPI INTID and collection) and the collection table (ICID →
// redistributor). The OS fills them with commands it queues in guest
// memory (GITS_CBASER/CWRITER/CREADR).
//
// The entry formats are the implementation's to choose; these are:
//   device table entry, 8 bytes: bit 0 valid, bits [5:1] EventID bits - 1,
//       bits [49:6] ITT address >> 8
//   collection table entry, 8 bytes: bit 0 valid, bits [16:1] the target
//       CPU's number (GITS_TYPER.PTA = 0)
//   interrupt translation entry, 12 bytes: a 64-bit word with bit 0 valid,
//       bit 1 physical, bits [25:2] the LPI INTID, bits [47:32] the ICID,
//       and 4 bytes unused (GICv4's doorbell)
// Sizes as QEMU's ITS: 16-bit DeviceIDs, EventIDs and collection IDs.
#pragma once
#include <cstdint>

#include "hw/core/mmio.hpp"
#include "hw/intc/gic.hpp"

namespace armvm {

class GicIts : public MmioDevice {
public:
    static constexpr uint64_t kTranslater = 0x10040;  // GITS_TRANSLATER, in the second 64 KiB frame
    static constexpr unsigned kDevBits = 16, kEventBits = 16, kCollBits = 16;

    explicit GicIts(Gic& gic, Gic::GuestMem mem) : gic_(gic), mem_(std::move(mem)) { reset(); }

    AccessSizes access_sizes(uint64_t) override { return {1, 8}; }
    // Words and doublewords only (QEMU's: a narrower access aborts), but
    // for GITS_TRANSLATER's 16-bit form.
    bool decodes(uint64_t off, unsigned size) override { return size >= 4 || (size == 2 && off == kTranslater); }
    uint64_t read(uint64_t off, unsigned size) override;
    void write(uint64_t off, unsigned size, uint64_t value) override { write_by(off, size, value, {}); }
    // A write of GITS_TRANSLATER takes the writer's requester ID as the
    // DeviceID (the device tree's msi-map is the identity; a CPU's is 0).
    void write_by(uint64_t off, unsigned size, uint64_t value, MemAttrs who) override;
    void reset_enter() override { reset(); }

    // An MSI from `device_id` (the requester ID) with `event_id` as data.
    void translate(uint32_t device_id, uint32_t event_id);

    // Commands refused (bad parameters) since reset.
    uint64_t errors() const { return errors_; }

private:
    static bool is64(uint64_t off);
    struct Ite {
        bool valid = false;
        uint32_t intid = 0;
        uint16_t icid = 0;
    };
    void reset();
    void process();  // run the queue from CREADR to CWRITER
    void command(const uint64_t cmd[4]);

    // Table entry `index` of the GITS_BASER of `type` (1 devices, 4
    // collections), flat or two-level: its host pointer, or null.
    uint8_t* table_entry(unsigned type, uint64_t index);
    bool read_dte(uint32_t dev, bool& valid, unsigned& size, uint64_t& itt);
    bool read_cte(uint16_t icid, bool& valid, unsigned& cpu);
    bool read_ite(uint64_t itt, uint32_t event, Ite& ite);
    bool write_ite(uint64_t itt, uint32_t event, const Ite& ite);
    // The ITE of (device, event) and its target CPU; false if any table
    // says no.
    bool lookup(uint32_t dev, uint32_t event, uint64_t& itt, Ite& ite, unsigned& cpu);

    Gic& gic_;
    Gic::GuestMem mem_;
    uint32_t ctlr_ = 0;
    uint64_t cbaser_ = 0, cwriter_ = 0, creadr_ = 0;
    uint64_t baser_[8] = {};
    uint64_t errors_ = 0;
};

}  // namespace armvm
