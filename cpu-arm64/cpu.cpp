#include "cpu-arm64/cpu.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <utility>

namespace armvm {

namespace {
constexpr uint64_t kPageMask = ~uint64_t{0xfff};

bool ends_block(a64::Op op) {
    using a64::Op;
    switch (op) {
    case Op::B_cond: case Op::SVC: case Op::HVC: case Op::SMC: case Op::BRK: case Op::HLT:
    case Op::HINT: case Op::ISB: case Op::MSR_imm: case Op::SYS: case Op::MSR_reg: case Op::MRS:
    case Op::BR: case Op::BLR: case Op::RET: case Op::ERET: case Op::B: case Op::BL:
    case Op::CBZ_CBNZ: case Op::TBZ_TBNZ: case Op::Unallocated:
        return true;
    default:
        return false;
    }
}
}  // namespace

void Cpu::flush_blocks() {
    blocks_.clear();
    code_pages_.clear();
    std::fill(std::begin(code_filter_), std::end(code_filter_), 0);
    std::fill(std::begin(jmp_cache_), std::end(jmp_cache_), JmpEntry{});
    ++flush_gen_;
    events_ |= kEvFlush;
}

void exec_fetch_abort(Cpu& c, uint32_t) {
    // Synchronous external abort on instruction fetch (IFSC 0b010000).
    c.raise(c.s.el == 0 ? Ec::InsnAbortLower : Ec::InsnAbortSame, 0x10, false, c.s.pc, true);
}

const Block& Cpu::block_at(uint64_t pc) {
    // A direct-mapped cache in front of the block map (the map's nodes do
    // not move, so the pointers stay valid until a flush clears both).
    JmpEntry& e = jmp_cache_[(pc >> 2) & (kJmpCache - 1)];
    if (e.pc == pc) return *e.block;
    auto it = blocks_.find(pc);
    const Block& b = it != blocks_.end() ? it->second : decode_block(pc);
    e.pc = pc;
    e.block = &b;
    return b;
}

const Block& Cpu::decode_block(uint64_t pc) {
    Block b;
    b.pc = pc;
    uint64_t a = pc;
    for (size_t i = 0; i < kMaxBlockInsns; ++i, a += 4) {
        uint64_t raw;
        if (!bus_.read(a, 4, raw)) {
            if (i == 0) b.insns.push_back({&exec_fetch_abort, 0});  // fetch abort at the block start
            break;
        }
        uint32_t insn = static_cast<uint32_t>(raw);
        a64::Op op = a64::decode(insn);
        b.insns.push_back({handler_for(op), insn});
        if (code_pages_.insert(a & kPageMask).second) {
            uint64_t h = ((a & kPageMask) >> 12) & (kFilterBits - 1);
            code_filter_[h >> 6] |= 1ull << (h & 63);
        }
        if (ends_block(op) || ((a + 4) & ~kPageMask) == 0) break;  // never cross a page
    }
    return blocks_.emplace(pc, std::move(b)).first->second;
}

void Cpu::raise(Ec ec, uint32_t iss, bool preferred_next, uint64_t far, bool far_valid) {
    events_ |= kEvException;
    pending_next_ = preferred_next;
    pend_ec_ = ec;
    pend_iss_ = iss;
    pend_far_ = far;
    pend_far_valid_ = far_valid;
}

bool Cpu::load_slow(uint64_t va, unsigned size, uint64_t& value) {
    if (bus_.read(va, size, value)) return true;
    // Synchronous external abort (DFSC 0b010000), ISS.WnR = 0.
    raise(s.el == 0 ? Ec::DataAbortLower : Ec::DataAbortSame, 0x10, false, va, true);
    return false;
}

bool Cpu::store_slow(uint64_t va, unsigned size, uint64_t value) {
    if (bus_.write(va, size, value)) return true;
    raise(s.el == 0 ? Ec::DataAbortLower : Ec::DataAbortSame, 0x10 | (1u << 6), false, va, true);
    return false;
}

bool Cpu::exclusive_store(uint64_t va, unsigned size, uint64_t expected, uint64_t value, uint64_t expected_hi,
                          uint64_t value_hi) {
    note_store(va);
    bool swapped = false;
    if (bus_.cmpxchg(va, size, expected, value, swapped, expected_hi, value_hi)) return swapped;
    raise(s.el == 0 ? Ec::DataAbortLower : Ec::DataAbortSame, 0x10 | (1u << 6), false, va, true);
    return false;
}

// Exception entry to EL1 (ARM ARM D1.10.2, AArch64.TakeException).
void Cpu::take_exception() {
    uint64_t offset = s.el == 0 ? 0x400 : (s.spsel ? 0x200 : 0x000);
    uint64_t spsr = s.nzcv | s.daif | (s.el << 2) | (s.spsel ? 1 : 0);
    s.elr_el1 = pending_next_ ? s.pc + 4 : s.pc;
    s.spsr_el1 = spsr;
    s.esr_el1 = (static_cast<uint64_t>(pend_ec_) << 26) | (1u << 25) /*IL*/ | (pend_iss_ & 0x1ffffff);
    if (pend_far_valid_) s.far_el1 = pend_far_;
    s.el = 1;
    s.spsel = true;
    s.daif = 0x3c0;
    s.pc = s.vbar_el1 + offset;
}

// IRQ exception entry (ARM ARM D1.10.2): ELR is the next instruction to
// run, the vector is +0x80 from the synchronous one.
void Cpu::take_irq() {
    uint64_t offset = (s.el == 0 ? 0x400 : (s.spsel ? 0x200 : 0x000)) + 0x80;
    s.spsr_el1 = s.nzcv | s.daif | (s.el << 2) | (s.spsel ? 1 : 0);
    s.elr_el1 = s.pc;
    s.el = 1;
    s.spsel = true;
    s.daif = 0x3c0;
    s.pc = s.vbar_el1 + offset;
}

uint64_t Cpu::counter_now() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
    return ns / 16;  // 62.5 MHz
}

uint32_t Cpu::timer_output() const {
    uint64_t now = counter_now();
    auto out = [&](uint64_t ctl, uint64_t cval) { return (ctl & 1) && !(ctl & 2) && now >= cval; };
    return (out(s.cntp_ctl, s.cntp_cval) ? 1u : 0u) | (out(s.cntv_ctl, s.cntv_cval) ? 2u : 0u);
}

uint64_t Cpu::timer_deadline_ns() const {
    uint64_t best = UINT64_MAX;
    for (auto [ctl, cval] : {std::pair{s.cntp_ctl, s.cntp_cval}, std::pair{s.cntv_ctl, s.cntv_cval}})
        if ((ctl & 1) && !(ctl & 2) && cval < UINT64_MAX / 16) best = std::min(best, cval * 16);
    return best;
}

Cpu::Stop Cpu::run(uint64_t budget) {
    uint64_t done = 0;
    while (done < budget) {
        if (exit_request && exit_request->load(std::memory_order_relaxed)) return Stop::Budget;
        if (irq_line.load(std::memory_order_relaxed) && !(s.daif & 0x80)) take_irq();
        const Block& b = block_at(s.pc);
        const DecodedInsn* first = b.insns.data();
        const DecodedInsn* end = first + b.insns.size();
        if (static_cast<uint64_t>(end - first) > budget - done) end = first + (budget - done);
        events_ = 0;
        const DecodedInsn* d = first;
        for (; d != end; ++d) {
            d->handler(*this, d->insn);
            if (events_) break;
            s.pc += 4;
        }
        // An instruction that raised a synchronous exception did not retire.
        uint64_t n = static_cast<uint64_t>(d - first) + (d != end && !(events_ & kEvException) ? 1 : 0);
        done += n;
        insn_count += n;
        if (!events_) continue;
        if (events_ & kEvException) {
            last_ec = pend_ec_;
            last_iss = pend_iss_;
            if (stop_on_exception) {
                if (pending_next_) s.pc += 4;
                return Stop::Exception;
            }
            take_exception();
            done += 1;  // the budget still moves on, or a fault loop never returns
            continue;
        }
        s.pc = (events_ & kEvBranch) ? next_pc_ : s.pc + 4;
        if (events_ & kEvWfi) return Stop::Wfi;
        if (events_ & kEvTimer) return Stop::Budget;
    }
    return Stop::Budget;
}

}  // namespace armvm
