#include "hw/usb/usb_storage.hpp"

#include <algorithm>
#include <cstring>

#include "block/block.hpp"

namespace armvm {
namespace {

enum : uint8_t {
    kStrManufacturer = 1, kStrProduct = 2, kStrSerial = 3, kStrConfigFull = 4, kStrConfigHigh = 5, kStrConfigSuper = 6,
};
constexpr uint32_t kCbwSignature = 0x43425355, kCswSignature = 0x53425355;
constexpr unsigned kBlock = 512;
constexpr uint64_t kMaxTransfer = 32 << 20;  // one command's data at most (Linux asks for up to 1 MiB)
// SCSI sense keys and additional sense codes (SPC-4 4.5.6, annex D).
enum : uint8_t {
    kNoSense = 0, kMediumError = 3, kIllegalRequest = 5, kUnitAttention = 6, kDataProtect = 7,
    kAscInvalidOpcode = 0x20, kAscLbaOutOfRange = 0x21, kAscInvalidField = 0x24, kAscWriteProtected = 0x27,
    kAscWriteError = 0x0c, kAscReadError = 0x11,
};

uint32_t be32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
}
uint64_t be64(const uint8_t* p) {
    return static_cast<uint64_t>(be32(p)) << 32 | be32(p + 4);
}
void put_be32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24), p[1] = static_cast<uint8_t>(v >> 16), p[2] = static_cast<uint8_t>(v >> 8),
    p[3] = static_cast<uint8_t>(v);
}
void put_be64(uint8_t* p, uint64_t v) {
    put_be32(p, static_cast<uint32_t>(v >> 32));
    put_be32(p + 4, static_cast<uint32_t>(v));
}
void put_le32(std::vector<uint8_t>& v, uint32_t x) {
    for (int i = 0; i < 4; ++i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

}  // namespace

std::vector<uint8_t> UsbStorage::device_descriptor() const {
    bool super = speed == UsbSpeed::Super;
    return usb_device_descriptor(super ? 0x0300 : 0x0200, super ? 9 : 64, 0x46f4, 0x0001, 0x0000, kStrManufacturer,
                                 kStrProduct, kStrSerial);
}

std::vector<uint8_t> UsbStorage::config_descriptor() const {
    bool super = speed == UsbSpeed::Super;
    uint8_t name = super ? kStrConfigSuper : speed == UsbSpeed::High ? kStrConfigHigh : kStrConfigFull;
    std::vector<uint8_t> c = {9, 2, 0, 0, 1, 1, name, 0xc0, 0};  // self powered
    c.insert(c.end(), {9, 4, 0, 0, 2, 8, 6, 0x50, 0});            // mass storage, SCSI, bulk-only
    uint16_t mps = super ? 1024 : speed == UsbSpeed::High ? 512 : 64;
    usb_put_endpoint(c, 0x81, 2, mps, 0, super);
    usb_put_endpoint(c, 0x02, 2, mps, 0, super);
    c[2] = static_cast<uint8_t>(c.size());
    return c;
}

std::vector<uint8_t> UsbStorage::bos_descriptor() const {
    if (speed != UsbSpeed::Super) return {};
    std::vector<uint8_t> b = {5, 15, 0, 0, 2};
    b.insert(b.end(), {7, 16, 2, 2, 0, 0, 0});                     // USB 2.0 extension: LPM
    b.insert(b.end(), {10, 16, 3, 0, 0x0e, 0, 1, 0x0a, 0xff, 7});  // SuperSpeed: full/high/super
    b[2] = static_cast<uint8_t>(b.size());
    return b;
}

std::string UsbStorage::string(unsigned index) const {
    switch (index) {
    case kStrManufacturer: return "QEMU";
    case kStrProduct: return "QEMU USB HARDDRIVE";
    case kStrSerial: return serial;
    case kStrConfigFull: return "Full speed config (usb 1.1)";
    case kStrConfigHigh: return "High speed config (usb 2.0)";
    case kStrConfigSuper: return "Super speed config (usb 3.0)";
    default: return "";
    }
}

void UsbStorage::reset() {
    UsbDevice::reset();
    phase_ = Phase::Command;
    data_.clear();
    sense_ = {};
    unit_attention_ = true;
}

UsbDevice::Result UsbStorage::other_request(const UsbSetup& s, std::vector<uint8_t>& data) {
    if (s.request_type == 0x21 && s.request == 0xff) {  // Bulk-Only Mass Storage Reset
        phase_ = Phase::Command;
        data_.clear();
        return Result::Ok;
    }
    if (s.request_type == 0xa1 && s.request == 0xfe) return reply(s, data, {0});  // Get Max LUN: one LUN
    return Result::Stall;
}

void UsbStorage::to_status(uint8_t status) {
    status_ = status;
    phase_ = Phase::Status;
}

UsbDevice::Result UsbStorage::transfer(unsigned ep, bool in, std::vector<uint8_t>& data, size_t max) {
    if (!in && ep == 2) {
        if (phase_ == Phase::Command) {
            command(data);
            return Result::Ok;
        }
        if (phase_ == Phase::DataOut) {
            size_t n = std::min(data.size(), phase_len_ - done_);
            if (!failed_)
                std::copy(data.begin(), data.begin() + static_cast<long>(n), data_.begin() + static_cast<long>(done_));
            done_ += n;
            if (done_ == phase_len_) to_status(!failed_ && finish_write() ? 0 : 1);
            return Result::Ok;
        }
        return Result::Stall;
    }
    if (in && ep == 1) {
        if (phase_ == Phase::DataIn) {
            size_t n = std::min(max, phase_len_ - done_);
            if (failed_)
                data.assign(n, 0);
            else
                data.assign(data_.begin() + static_cast<long>(done_), data_.begin() + static_cast<long>(done_ + n));
            done_ += n;
            // All we have sent (a short transfer ends the data phase early).
            if (done_ == phase_len_) to_status(failed_ ? 1 : 0);
            return Result::Ok;
        }
        if (phase_ == Phase::Status && max >= 13) {
            data.clear();
            put_le32(data, kCswSignature);
            put_le32(data, tag_);
            // residue: what the data phase did not move (all of it for a failed command)
            put_le32(data, failed_ ? expected_ : static_cast<uint32_t>(expected_ - std::min<size_t>(done_, expected_)));
            data.push_back(status_);
            phase_ = Phase::Command;
            return Result::Ok;
        }
        return Result::Stall;
    }
    return Result::Stall;
}

void UsbStorage::command(const std::vector<uint8_t>& cbw) {
    // A CBW is 31 bytes with its signature (BOT 6.2.1); else a phase error.
    if (cbw.size() != 31 || (cbw[0] | cbw[1] << 8 | cbw[2] << 16 | static_cast<uint32_t>(cbw[3]) << 24) !=
                                kCbwSignature) {
        tag_ = 0, expected_ = 0, done_ = 0;
        return to_status(2);
    }
    std::memcpy(&tag_, cbw.data() + 4, 4);
    std::memcpy(&expected_, cbw.data() + 8, 4);
    bool dir_in = cbw[12] & 0x80;
    unsigned len = std::clamp<unsigned>(cbw[14] & 0x1f, 1, 16);
    cdb_.assign(cbw.begin() + 15, cbw.begin() + 15 + len);
    done_ = 0;
    data_.clear();
    failed_ = false;
    bool ok = cbw[13] == 0 ? scsi() : fail(kIllegalRequest, 0x25);  // (one LUN: LOGICAL UNIT NOT SUPPORTED)
    if (!ok) {
        // CHECK CONDITION: the data phase the host expects still happens
        // (zeros in, or the host's bytes dropped), then a failed CSW.
        failed_ = true;
        if (expected_ == 0) return to_status(1);
        phase_len_ = expected_;
        phase_ = dir_in ? Phase::DataIn : Phase::DataOut;
        return;
    }
    if (phase_ == Phase::DataOut) {
        if (dir_in || expected_ == 0) return to_status(2);
        phase_len_ = data_.size();
        return;
    }
    if (data_.size() > expected_) data_.resize(expected_);
    if (!data_.empty()) {
        if (!dir_in) return to_status(2);  // (the host would send what the device has to send)
        phase_len_ = data_.size();
        phase_ = Phase::DataIn;
        return;
    }
    to_status(0);
}

bool UsbStorage::fail(uint8_t key, uint8_t asc, uint8_t ascq) {
    sense_ = {key, asc, ascq};
    data_.clear();
    return false;
}

bool UsbStorage::check_lba(uint64_t lba, uint64_t blocks) {
    uint64_t total = disk_.size() / kBlock;
    if (lba > total || blocks > total - lba) return fail(kIllegalRequest, kAscLbaOutOfRange);
    return true;
}

std::vector<uint8_t> UsbStorage::mode_pages(uint8_t page, bool changeable, bool& ok) const {
    std::vector<uint8_t> out;
    auto add = [&](uint8_t code, std::vector<uint8_t> p) {
        if (page != 0x3f && page != code) return;
        if (changeable) std::fill(p.begin() + 2, p.end(), 0);
        out.insert(out.end(), p.begin(), p.end());
    };
    // A geometry of 16 heads and 63 sectors a track, as disks are given.
    uint64_t cyl = std::min<uint64_t>(disk_.size() / kBlock / (16 * 63), 0xffffff);
    auto c3 = [&](int shift) { return static_cast<uint8_t>(cyl >> shift); };
    add(0x01, {0x01, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0});  // read-write error recovery: AWRE
    add(0x04, {0x04, 0x16, c3(16), c3(8), c3(0), 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x15, 0x18, 0,
               0});  // rigid disk geometry: cylinders, heads; 5400 rpm
    add(0x05, {0x05, 0x1e, 0x13, 0x88, 16, 63, 0x02, 0x00, c3(8), c3(0), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
               0, 0, 0, 0, 0, 0x15, 0x18, 0, 0});  // flexible disk: 5000 kbit/s, heads, sectors, 512 B, cylinders
    add(0x08, {0x08, 0x12, 0x04, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x80, 0x14, 0, 0, 0, 0, 0,
               0});  // caching: write cache on (WCE), read cache on
    ok = page == 0x3f || !out.empty();
    return out;
}

bool UsbStorage::scsi() {
    const uint8_t* c = cdb_.data();
    auto need = [&](size_t n) { return cdb_.size() >= n; };
    uint64_t blocks_total = disk_.size() / kBlock;
    // After a reset the first command but these is told so (SAM-5 5.14).
    if (unit_attention_ && c[0] != 0x12 && c[0] != 0x03 && c[0] != 0xa0) {
        unit_attention_ = false;
        return fail(kUnitAttention, 0x29);  // POWER ON, RESET, OR BUS DEVICE RESET OCCURRED
    }
    switch (c[0]) {
    case 0x00:  // TEST UNIT READY
    case 0x1b:  // START STOP UNIT
    case 0x1e:  // PREVENT ALLOW MEDIUM REMOVAL
        return true;
    case 0x03: {  // REQUEST SENSE: fixed format
        data_.assign(18, 0);
        data_[0] = 0x70;
        data_[2] = sense_[0];
        data_[7] = 10;
        data_[12] = sense_[1];
        data_[13] = sense_[2];
        if (need(5)) data_.resize(std::min<size_t>(18, c[4]));
        sense_ = {};
        return true;
    }
    case 0x12: {  // INQUIRY
        if (c[1] & 1) {  // vital product data: the list of pages, and none other
            if (c[2] != 0) return fail(kIllegalRequest, kAscInvalidField);
            data_ = {0, 0, 0, 1, 0};
        } else {
            if (c[2] != 0) return fail(kIllegalRequest, kAscInvalidField);
            data_.assign(36, ' ');
            data_[0] = 0;     // direct access block device
            data_[1] = removable_ ? 0x80 : 0;  // RMB
            data_[2] = 5;     // SPC-3
            data_[3] = 0x12;  // HiSup, response format 2
            data_[4] = 36 - 5;
            data_[5] = data_[6] = 0;
            data_[7] = 0x10;  // Sync
            std::memcpy(&data_[8], "QEMU", 4);
            std::memcpy(&data_[16], "QEMU HARDDISK", 13);
            std::memcpy(&data_[32], "2.5+", 4);
        }
        uint16_t alloc = static_cast<uint16_t>(c[3] << 8 | c[4]);
        if (data_.size() > alloc) data_.resize(alloc);
        return true;
    }
    case 0x25: {  // READ CAPACITY (10)
        data_.assign(8, 0);
        put_be32(&data_[0], static_cast<uint32_t>(std::min<uint64_t>(blocks_total - 1, 0xffffffff)));
        put_be32(&data_[4], kBlock);
        return true;
    }
    case 0x9e: {  // SERVICE ACTION IN (16)
        if ((c[1] & 0x1f) != 0x10 || !need(14)) return fail(kIllegalRequest, kAscInvalidField);
        data_.assign(32, 0);
        put_be64(&data_[0], blocks_total - 1);
        put_be32(&data_[8], kBlock);
        uint32_t alloc = be32(c + 10);
        if (data_.size() > alloc) data_.resize(alloc);
        return true;
    }
    case 0x1a:    // MODE SENSE (6)
    case 0x5a: {  // MODE SENSE (10)
        bool ten = c[0] == 0x5a;
        if (ten && !need(10)) return fail(kIllegalRequest, kAscInvalidField);
        bool dbd = c[1] & 8;
        uint8_t pc = c[2] >> 6, page = c[2] & 0x3f;
        if (pc == 3) return fail(kIllegalRequest, 0x39);  // SAVING PARAMETERS NOT SUPPORTED
        bool ok = false;
        std::vector<uint8_t> pages = mode_pages(page, pc == 1, ok);
        if (!ok) return fail(kIllegalRequest, kAscInvalidField);
        std::vector<uint8_t> bd;
        if (!dbd) {
            bd.assign(8, 0);
            put_be32(&bd[0], static_cast<uint32_t>(std::min<uint64_t>(blocks_total, 0xffffff)));
            put_be32(&bd[4], kBlock);
            bd[0] = 0;  // density code
        }
        uint8_t wp = disk_.read_only() ? 0x80 : 0;
        if (ten) {
            data_ = {0, 0, 0, wp, 0, 0, 0, static_cast<uint8_t>(bd.size())};
        } else {
            data_ = {0, 0, wp, static_cast<uint8_t>(bd.size())};
        }
        data_.insert(data_.end(), bd.begin(), bd.end());
        data_.insert(data_.end(), pages.begin(), pages.end());
        if (ten) {
            data_[0] = static_cast<uint8_t>((data_.size() - 2) >> 8);
            data_[1] = static_cast<uint8_t>(data_.size() - 2);
        } else {
            data_[0] = static_cast<uint8_t>(data_.size() - 1);
        }
        size_t alloc = ten ? (c[7] << 8 | c[8]) : c[4];
        if (data_.size() > alloc) data_.resize(alloc);
        return true;
    }
    case 0xa0: {  // REPORT LUNS: LUN 0
        data_.assign(16, 0);
        data_[3] = 8;
        return true;
    }
    case 0x35:  // SYNCHRONIZE CACHE (10)
    case 0x91:  // SYNCHRONIZE CACHE (16)
        if (!disk_.flush()) return fail(kMediumError, kAscWriteError);
        return true;
    case 0x2f:  // VERIFY (10): the blocks are there
        return check_lba(be32(c + 2), static_cast<uint16_t>(c[7] << 8 | c[8]));
    case 0x08: case 0x28: case 0x88:    // READ (6), (10), (16)
    case 0x0a: case 0x2a: case 0x8a: {  // WRITE (6), (10), (16)
        uint64_t lba, n;
        if (c[0] == 0x08 || c[0] == 0x0a) {
            lba = (c[1] & 0x1f) << 16 | c[2] << 8 | c[3];
            n = c[4] ? c[4] : 256;
        } else if (c[0] == 0x28 || c[0] == 0x2a) {
            if (!need(10)) return fail(kIllegalRequest, kAscInvalidField);
            lba = be32(c + 2);
            n = static_cast<uint16_t>(c[7] << 8 | c[8]);
        } else {
            if (!need(16)) return fail(kIllegalRequest, kAscInvalidField);
            lba = be64(c + 2);
            n = be32(c + 10);
        }
        if (!check_lba(lba, n)) return false;
        if (n * kBlock > kMaxTransfer) return fail(kIllegalRequest, kAscInvalidField);
        // (the CBW's length bounds what moves; a longer command is a phase error)
        if (n * kBlock > expected_) return fail(kIllegalRequest, kAscInvalidField);
        bool write = c[0] == 0x0a || c[0] == 0x2a || c[0] == 0x8a;
        if (write) {
            if (disk_.read_only()) return fail(kDataProtect, kAscWriteProtected);
            if (n == 0) return true;
            data_.assign(n * kBlock, 0);
            phase_ = Phase::DataOut;
            return true;
        }
        data_.resize(n * kBlock);
        if (n && !disk_.read(lba * kBlock, data_.data(), data_.size())) return fail(kMediumError, kAscReadError);
        return true;
    }
    default:
        return fail(kIllegalRequest, kAscInvalidOpcode);
    }
}

bool UsbStorage::finish_write() {
    const uint8_t* c = cdb_.data();
    uint64_t lba = c[0] == 0x0a ? ((c[1] & 0x1f) << 16 | c[2] << 8 | c[3]) : c[0] == 0x2a ? be32(c + 2) : be64(c + 2);
    if (!disk_.write(lba * kBlock, data_.data(), data_.size())) return fail(kMediumError, kAscWriteError);
    return true;
}

}  // namespace armvm
