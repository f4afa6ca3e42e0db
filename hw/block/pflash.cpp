#include "hw/block/pflash.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "base/report.hpp"

namespace armvm {

namespace {
constexpr unsigned kDevices = 2;                          // 16-bit devices in the 32-bit bank
constexpr uint64_t kDeviceSize = PFlash::kBankSize / kDevices;
// Each device has the bank's number of blocks, each half a bank sector
// (the two devices side by side make one 256 KiB sector), as QEMU's CFI
// table says.
constexpr uint32_t kBlocksPerDevice = PFlash::kBankSize / PFlash::kSector;
constexpr uint64_t kDeviceSector = PFlash::kSector / kDevices;
constexpr uint8_t kReady = 0x80, kEraseError = 0x20, kProgramError = 0x10;
}  // namespace

Result<std::unique_ptr<PFlash>> PFlash::create(BlockDev* backing) {
    if (backing && backing->size() != kBankSize)
        return make_error("device requires " + std::to_string(kBankSize) + " bytes, block backend provides " +
                          std::to_string((backing->size() + 511) / 512 * 512) + " bytes");  // (in 512-byte sectors)
    std::unique_ptr<PFlash> f(new PFlash());
    void* p = ::mmap(nullptr, kBankSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return make_error(std::string("cannot map a flash bank: ") + std::strerror(errno));
    f->mem_ = static_cast<uint8_t*>(p);
    f->backing_ = backing;
    f->ro_ = backing && backing->read_only();
    if (backing && !backing->read(0, f->mem_, kBankSize)) return make_error("failed to read the initial flash content");
    // The CFI query table (JEDEC JESD68): "QRY", the Intel command set,
    // timings, one device's size and its uniform erase blocks, and the
    // primary extended table ("PRI" 1.0).
    uint8_t* t = f->cfi_;
    t[0x10] = 'Q', t[0x11] = 'R', t[0x12] = 'Y';
    t[0x13] = 0x01;  // Intel/Sharp command set
    t[0x15] = 0x31;  // primary extended table at 0x31
    t[0x1b] = 0x45, t[0x1c] = 0x55;  // Vcc 4.5-5.5 V
    t[0x1f] = 0x07;                   // typical word program 2^7 us
    t[0x20] = 0x07;                   // typical buffer write 2^7 us
    t[0x21] = 0x0a;                   // typical block erase 2^10 ms
    t[0x23] = 0x04, t[0x24] = 0x04, t[0x25] = 0x04;  // maxima: 2^4 x typical
    t[0x27] = static_cast<uint8_t>(__builtin_ctzll(kDeviceSize));
    t[0x28] = 0x02;                   // x8/x16 interface
    t[0x2a] = 0x0b;                   // 2 KiB write buffer per device
    t[0x2c] = 0x01;                   // one erase block region
    t[0x2d] = static_cast<uint8_t>(kBlocksPerDevice - 1), t[0x2e] = static_cast<uint8_t>((kBlocksPerDevice - 1) >> 8);
    t[0x2f] = static_cast<uint8_t>(kDeviceSector >> 8), t[0x30] = static_cast<uint8_t>(kDeviceSector >> 16);
    t[0x31] = 'P', t[0x32] = 'R', t[0x33] = 'I', t[0x34] = '1', t[0x35] = '0';
    t[0x3f] = 0x01;                   // one protection field
    return f;
}

PFlash::~PFlash() {
    if (mem_) ::munmap(mem_, kBankSize);
}

void PFlash::reset_enter() {
    to_read_array();
    status_ = kReady;
    sync_romd();
}

void PFlash::sync_romd() {
    bool on = cmd_ == 0;
    if (on == romd_) return;
    romd_ = on;
    if (romd_hook_) romd_hook_(on);
}

// Query and identifier addresses count in device words of the bank: one
// answer per 32-bit word, the same byte from each of the two devices.
uint32_t PFlash::query(uint64_t off) const {
    uint64_t i = off >> 2;
    uint32_t b = i < sizeof cfi_ ? cfi_[i] : 0;
    return b | (b << 16);
}

uint32_t PFlash::ident(uint64_t off) const {
    uint32_t v = 0;
    switch ((off >> 2) & 0xff) {
    case 0: v = 0x89; break;  // manufacturer: Intel
    case 1: v = 0x18; break;  // device
    default: break;           // (block lock status: nothing is locked)
    }
    return v | (v << 16);
}

uint64_t PFlash::read(uint64_t off, unsigned size) {
    if (off >= kBankSize || size > kBankSize - off) return 0;
    uint64_t mask = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
    switch (cmd_) {
    case 0x00: {  // read array
        uint64_t v = 0;
        std::memcpy(&v, mem_ + off, size);
        return v;
    }
    case 0x90: return (ident(off) | (size > 4 ? uint64_t{ident(off + 4)} << 32 : 0)) & mask;
    case 0x98: return (query(off) | (size > 4 ? uint64_t{query(off + 4)} << 32 : 0)) & mask;
    default:  // the modes that read the status register
        return (uint64_t{status_word()} | (uint64_t{status_word()} << 32)) & mask;
    }
}

void PFlash::store(uint64_t off, unsigned size, uint64_t value) {
    if (ro_) {
        status_ |= kProgramError;
        return;
    }
    std::memcpy(mem_ + off, &value, size);
    write_back(off, size);
}

void PFlash::write_back(uint64_t off, uint64_t len) {
    if (!backing_ || ro_) return;
    if (!backing_->write(off, mem_ + off, len) && !write_failed_) {
        write_failed_ = true;
        report_warning("flash: writing its backing file failed; the guest's change lives in memory only");
    }
}

void PFlash::write(uint64_t off, unsigned size, uint64_t value) {
    if (off >= kBankSize || size > kBankSize - off) return;
    command(off, size, value);
    sync_romd();
}

void PFlash::command(uint64_t off, unsigned size, uint64_t value) {
    uint8_t c = static_cast<uint8_t>(value);  // (the command of the low device)
    switch (wcycle_) {
    case 0:
        switch (c) {
        case 0x00: case 0xff: case 0xf0:  // read array (0xf0: an AMD-style probe)
            return to_read_array();
        case 0x10: case 0x40:  // word program: the data comes next
        case 0x20: case 0x28:  // block erase: the confirmation comes next
        case 0x60:             // block lock / unlock
        case 0x98:             // CFI query
            cmd_ = c;
            wcycle_ = 1;
            return;
        case 0xe8:  // buffered program: the count comes next
            status_ |= kReady;
            cmd_ = c;
            wcycle_ = 1;
            return;
        case 0x50:  // clear status
            status_ = 0;
            return to_read_array();
        case 0x70: case 0x90:  // read status, read identifier
            cmd_ = c;
            return;
        default:
            return to_read_array();
        }
    case 1:
        switch (cmd_) {
        case 0x10: case 0x40:
            store(off, size, value);
            status_ |= kReady;
            wcycle_ = 0;
            return;
        case 0x20: case 0x28:
            if (c == 0xd0) {
                if (ro_) {
                    status_ |= kEraseError;
                } else {
                    uint64_t base = off & ~(kSector - 1);
                    std::memset(mem_ + base, 0xff, kSector);
                    write_back(base, kSector);
                }
                status_ |= kReady;
                wcycle_ = 0;
                return;
            }
            return to_read_array();
        case 0xe8:
            counter_ = static_cast<uint32_t>(value & 0xffff);  // words - 1, per device
            buffer_base_ = off;
            wcycle_ = 2;
            return;
        case 0x60:
            if (c == 0xd0 || c == 0x01) {
                status_ |= kReady;
                wcycle_ = 0;
                return;
            }
            return to_read_array();
        case 0x98:
            if (c == 0xff || c == 0x00) return to_read_array();
            return;  // (other writes leave the query mode as it is)
        default:
            return to_read_array();
        }
    case 2:  // buffered program: the data words
        store(off, size, value);
        status_ |= kReady;
        if (counter_ == 0) {
            wcycle_ = 3;
            return;
        }
        --counter_;
        return;
    case 3:  // buffered program: the confirmation
        if (c == 0xd0) {
            status_ |= kReady;
            wcycle_ = 0;
            return;
        }
        return to_read_array();
    default:
        return to_read_array();
    }
}

}  // namespace armvm
