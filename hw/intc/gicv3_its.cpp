#include "hw/intc/gicv3_its.hpp"

#include <cstring>

namespace armvm {

namespace {

// GITS_BASER<n> types and the fields software may write (Type and
// Entry_Size are read-only).
constexpr unsigned kTypeDevice = 1, kTypeCollection = 4;
constexpr uint64_t kBaserWritable = (3ull << 62) | (7ull << 59) | (7ull << 53) | 0x0000fffffffff000ull |
                                    (3u << 10) | (3u << 8) | 0xff;
constexpr uint64_t kCbaserWritable = (1ull << 63) | (7ull << 59) | (7ull << 53) | 0x000ffffffffff000ull |
                                     (3u << 10) | 0xff;
constexpr unsigned kIteSize = 12;

// GITS_TYPER: physical LPIs, 12-byte ITEs, 16-bit EventIDs and DeviceIDs,
// PTA = 0 (collections target CPU numbers), 16-bit collection IDs (CIL).
constexpr uint64_t kTyper = 1 | ((kIteSize - 1) << 4) | ((GicIts::kEventBits - 1) << 8) |
                            ((GicIts::kDevBits - 1) << 13) | (static_cast<uint64_t>(GicIts::kCollBits - 1) << 32) |
                            (1ull << 36);

uint64_t load64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
void store64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

// A 64-bit register written whole or as 32-bit halves, under `mask`.
void write64(uint64_t& r, uint64_t off, unsigned size, uint64_t value, uint64_t mask) {
    uint64_t v = size == 8 ? value
                 : (off & 4) ? (r & 0xffffffffull) | (value << 32)
                             : (r & ~0xffffffffull) | (value & 0xffffffffull);
    r = (r & ~mask) | (v & mask);
}
uint64_t read64(uint64_t r, uint64_t off, unsigned size) {
    return (off & 4) ? r >> 32 : (size == 8 ? r : r & 0xffffffffull);
}

}  // namespace

void GicIts::reset() {
    ctlr_ = 0;
    cbaser_ = cwriter_ = creadr_ = 0;
    for (auto& b : baser_) b = 0;
    // 8-byte entries, 64 KiB pages until software says otherwise (QEMU's reset values)
    baser_[0] = (static_cast<uint64_t>(kTypeDevice) << 56) | (7ull << 48) | (2u << 8);
    baser_[1] = (static_cast<uint64_t>(kTypeCollection) << 56) | (7ull << 48) | (2u << 8);
    errors_ = 0;
}

// The 64-bit registers (GITS_TYPER, CBASER, CWRITER, CREADR, BASER<n>):
// the only ones a doubleword access reaches (another reads as zero and
// writes nothing, as on QEMU).
bool GicIts::is64(uint64_t off) {
    return off == 0x08 || off == 0x80 || off == 0x88 || off == 0x90 || (off >= 0x100 && off < 0x140 && !(off & 7));
}

uint64_t GicIts::read(uint64_t off, unsigned size) {
    if (off >= 0x10000) return 0;  // the translation frame: GITS_TRANSLATER is write-only
    if (size == 8 && !is64(off)) return 0;
    switch (off & ~7ull) {
    case 0x0000:
        if (off == 0x0000) return ctlr_ | (1u << 31);  // GITS_CTLR: always quiescent between accesses
        return 0x0000043b;                              // GITS_IIDR: Arm (QEMU's)
    case 0x0008: return read64(kTyper, off, size);
    case 0x0080: return read64(cbaser_, off, size);
    case 0x0088: return read64(cwriter_, off, size);
    case 0x0090: return read64(creadr_, off, size);
    default: break;
    }
    if (off >= 0x100 && off < 0x140) return read64(baser_[(off - 0x100) / 8], off, size);
    if (off == 0xffe8) return 0x3b;  // GITS_PIDR2: ArchRev 3 (GICv3)
    return 0;
}

void GicIts::write_by(uint64_t off, unsigned size, uint64_t value, MemAttrs who) {
    if (off == kTranslater || off == kTranslater + 2) {
        // A CPU writing the translater itself: DeviceID 0 (QEMU's choice
        // for requests that carry no requester ID).
        uint32_t devid = who.requester_id < 0 ? 0 : static_cast<uint32_t>(who.requester_id);
        if (size == 4 || size == 2) translate(devid, static_cast<uint32_t>(value & (size == 4 ? 0xffffffffu : 0xffffu)));
        return;
    }
    if (size == 8 && !is64(off)) return;
    bool enabled = ctlr_ & 1;
    switch (off & ~7ull) {
    case 0x0000:
        if (off == 0x0000) {
            ctlr_ = value & 1;
            if (ctlr_ & 1) process();
        }
        return;
    case 0x0080:
        // Ignored while the ITS is enabled (UNPREDICTABLE); a write resets
        // the read pointer.
        if (!enabled) {
            write64(cbaser_, off, size, value, kCbaserWritable);
            creadr_ = cwriter_ = 0;
        }
        return;
    case 0x0088:
        write64(cwriter_, off, size, value, 0xfffe1);
        if (cwriter_ & 1) creadr_ &= ~1ull;  // Retry: restart a stalled queue
        cwriter_ &= ~1ull;
        process();
        return;
    default: break;
    }
    if (off >= 0x100 && off < 0x140 && !enabled) {
        uint64_t& b = baser_[(off - 0x100) / 8];
        if (((b >> 56) & 7) != 0) write64(b, off, size, value, kBaserWritable);  // (unimplemented ones: RAZ/WI)
    }
}

void GicIts::process() {
    if (!(ctlr_ & 1) || !(cbaser_ >> 63) || (creadr_ & 1)) return;
    uint64_t qsize = ((cbaser_ & 0xff) + 1) * 4096;
    uint64_t base = cbaser_ & 0x000ffffffffff000ull;
    uint64_t rd = creadr_ & 0xfffe0, wr = cwriter_ & 0xfffe0;
    if (wr >= qsize || rd >= qsize) {  // a pointer outside the queue: stall
        creadr_ |= 1;
        return;
    }
    while (rd != wr) {
        const uint8_t* p = mem_(base + rd, 32);
        if (!p) {  // the queue is not in RAM
            creadr_ = rd | 1;
            return;
        }
        uint64_t cmd[4];
        std::memcpy(cmd, p, sizeof cmd);
        command(cmd);
        rd = (rd + 32) % qsize;
    }
    creadr_ = rd;
}

uint8_t* GicIts::table_entry(unsigned type, uint64_t index) {
    const uint64_t* baser = nullptr;
    for (const auto& b : baser_)
        if (((b >> 56) & 7) == type) baser = &b;
    if (!baser || !(*baser >> 63)) return nullptr;
    uint64_t b = *baser;
    static constexpr uint64_t kPage[4] = {4096, 16384, 65536, 65536};
    uint64_t psz = kPage[(b >> 8) & 3];
    uint64_t esz = ((b >> 48) & 0x1f) + 1;
    uint64_t bytes = ((b & 0xff) + 1) * psz;
    uint64_t pa = b & 0x0000fffffffff000ull & ~(psz - 1);
    if (psz == 65536) pa |= ((b >> 12) & 0xf) << 48;  // 64 KiB pages: bits [15:12] are PA[51:48]
    if (!((b >> 62) & 1)) {  // flat
        if ((index + 1) * esz > bytes) return nullptr;
        return mem_(pa + index * esz, esz);
    }
    // Two levels: 8-byte level-1 entries (bit 63 valid) each naming one
    // page of entries.
    uint64_t per_page = psz / esz;
    uint64_t l1 = index / per_page;
    if ((l1 + 1) * 8 > bytes) return nullptr;
    const uint8_t* e = mem_(pa + l1 * 8, 8);
    if (!e) return nullptr;
    uint64_t l1e = load64(e);
    if (!(l1e >> 63)) return nullptr;
    uint64_t page = l1e & 0x000ffffffffff000ull & ~(psz - 1);
    return mem_(page + (index % per_page) * esz, esz);
}

bool GicIts::read_dte(uint32_t dev, bool& valid, unsigned& size, uint64_t& itt) {
    if (dev >= (1u << kDevBits)) return false;
    const uint8_t* p = table_entry(kTypeDevice, dev);
    if (!p) return false;
    uint64_t e = load64(p);
    valid = e & 1;
    size = (e >> 1) & 0x1f;
    itt = ((e >> 6) & 0xfffffffffffull) << 8;
    return true;
}

bool GicIts::read_cte(uint16_t icid, bool& valid, unsigned& cpu) {
    const uint8_t* p = table_entry(kTypeCollection, icid);
    if (!p) return false;
    uint64_t e = load64(p);
    valid = e & 1;
    cpu = static_cast<unsigned>((e >> 1) & 0xffff);
    return true;
}

bool GicIts::read_ite(uint64_t itt, uint32_t event, Ite& ite) {
    const uint8_t* p = mem_(itt + uint64_t{event} * kIteSize, kIteSize);
    if (!p) return false;
    uint64_t e = load64(p);
    ite.valid = (e & 3) == 3;  // valid and physical
    ite.intid = static_cast<uint32_t>((e >> 2) & 0xffffff);
    ite.icid = static_cast<uint16_t>(e >> 32);
    return true;
}

bool GicIts::write_ite(uint64_t itt, uint32_t event, const Ite& ite) {
    uint8_t* p = mem_(itt + uint64_t{event} * kIteSize, kIteSize);
    if (!p) return false;
    store64(p, ite.valid ? 3 | (uint64_t{ite.intid} << 2) | (uint64_t{ite.icid} << 32) : 0);
    std::memset(p + 8, 0, 4);
    return true;
}

bool GicIts::lookup(uint32_t dev, uint32_t event, uint64_t& itt, Ite& ite, unsigned& cpu) {
    bool valid = false;
    unsigned size = 0;
    if (!read_dte(dev, valid, size, itt) || !valid || event >= (1ull << (size + 1))) return false;
    if (!read_ite(itt, event, ite) || !ite.valid) return false;
    return read_cte(ite.icid, valid, cpu) && valid && cpu < gic_.ncpus();
}

void GicIts::translate(uint32_t device_id, uint32_t event_id) {
    if (!(ctlr_ & 1)) return;
    uint64_t itt;
    Ite ite;
    unsigned cpu;
    if (lookup(device_id, event_id, itt, ite, cpu)) gic_.set_lpi(cpu, ite.intid, true);
}

// One command (IHI 0069 6.3). A command whose parameters are wrong is
// ignored and counted, and the queue goes on (one of the behaviours the
// architecture allows; QEMU's too).
void GicIts::command(const uint64_t cmd[4]) {
    unsigned op = cmd[0] & 0xff;
    uint32_t dev = static_cast<uint32_t>(cmd[0] >> 32);
    uint32_t event = static_cast<uint32_t>(cmd[1]);
    uint16_t icid = static_cast<uint16_t>(cmd[2]);
    uint64_t rdbase = (cmd[2] >> 16) & 0x7ffffffffull;  // PTA = 0: a CPU number
    bool v = cmd[2] >> 63;
    uint64_t itt = 0;
    Ite ite;
    unsigned cpu = 0;
    bool ok = true;
    switch (op) {
    case 0x08: {  // MAPD DeviceID, ITT_addr, Size
        unsigned size = cmd[1] & 0x1f;
        uint64_t addr = cmd[2] & 0x000fffffffffff00ull;
        uint8_t* p = dev < (1u << kDevBits) && size < kEventBits ? table_entry(kTypeDevice, dev) : nullptr;
        if ((ok = p != nullptr)) store64(p, v ? 1 | (uint64_t{size} << 1) | ((addr >> 8) << 6) : 0);
        break;
    }
    case 0x09: {  // MAPC ICID, RDbase
        uint8_t* p = !v || rdbase < gic_.ncpus() ? table_entry(kTypeCollection, icid) : nullptr;
        if ((ok = p != nullptr)) store64(p, v ? 1 | (rdbase << 1) : 0);
        break;
    }
    case 0x0a:    // MAPTI DeviceID, EventID, pINTID, ICID
    case 0x0b: {  // MAPI DeviceID, EventID, ICID (pINTID = EventID)
        uint32_t intid = op == 0x0a ? static_cast<uint32_t>(cmd[1] >> 32) : event;
        bool valid = false;
        unsigned size = 0;
        ok = read_dte(dev, valid, size, itt) && valid && event < (1ull << (size + 1)) &&
             intid >= Gic::kLpiBase && intid < (1u << Gic::kIdBits);
        if (ok) ok = write_ite(itt, event, Ite{true, intid, icid});
        break;
    }
    case 0x03:  // INT DeviceID, EventID
    case 0x04:  // CLEAR
    case 0x0f:  // DISCARD
        if ((ok = lookup(dev, event, itt, ite, cpu))) {
            gic_.set_lpi(cpu, ite.intid, op == 0x03);
            if (op == 0x0f) write_ite(itt, event, Ite{});
        }
        break;
    case 0x0c:  // INV DeviceID, EventID: the LPI's configuration is read afresh
        if ((ok = lookup(dev, event, itt, ite, cpu))) gic_.lpi_config_changed();
        break;
    case 0x0d: {  // INVALL ICID
        bool valid = false;
        if ((ok = read_cte(icid, valid, cpu) && valid)) gic_.lpi_config_changed();
        break;
    }
    case 0x01: {  // MOVI DeviceID, EventID, ICID
        bool valid = false;
        unsigned to = 0;
        ok = lookup(dev, event, itt, ite, cpu) && read_cte(icid, valid, to) && valid && to < gic_.ncpus();
        if (ok) {
            if (gic_.lpi_pending(cpu, ite.intid)) {
                gic_.set_lpi(cpu, ite.intid, false);
                gic_.set_lpi(to, ite.intid, true);
            }
            ite.icid = icid;
            write_ite(itt, event, ite);
        }
        break;
    }
    case 0x0e: {  // MOVALL RDbase1, RDbase2
        uint64_t to = (cmd[3] >> 16) & 0x7ffffffffull;
        if ((ok = rdbase < gic_.ncpus() && to < gic_.ncpus()))
            gic_.move_lpis(static_cast<unsigned>(rdbase), static_cast<unsigned>(to));
        break;
    }
    case 0x05:  // SYNC RDbase: every effect is already visible
        ok = rdbase < gic_.ncpus();
        break;
    default:  // (GICv4's commands and unknown ones)
        ok = false;
        break;
    }
    if (!ok) ++errors_;
}

}  // namespace armvm
