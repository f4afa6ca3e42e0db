#include "cpu-arm64/cpu.hpp"

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
}

const Block& Cpu::block_at(uint64_t pc) {
    auto it = blocks_.find(pc);
    if (it != blocks_.end()) return it->second;
    Block b;
    b.pc = pc;
    uint64_t a = pc;
    for (size_t i = 0; i < kMaxBlockInsns; ++i, a += 4) {
        uint64_t raw;
        if (!bus_.read(a, 4, raw)) {
            if (i == 0) b.insns.push_back({nullptr, 0});  // fetch abort at the block start
            break;
        }
        uint32_t insn = static_cast<uint32_t>(raw);
        a64::Op op = a64::decode(insn);
        b.insns.push_back({handler_for(op), insn});
        code_pages_.insert(a & kPageMask);
        if (ends_block(op) || ((a + 4) & ~kPageMask) == 0) break;  // never cross a page
    }
    return blocks_.emplace(pc, std::move(b)).first->second;
}

void Cpu::raise(Ec ec, uint32_t iss, bool preferred_next, uint64_t far, bool far_valid) {
    pending_ = true;
    pending_next_ = preferred_next;
    pend_ec_ = ec;
    pend_iss_ = iss;
    pend_far_ = far;
    pend_far_valid_ = far_valid;
}

bool Cpu::load(uint64_t va, unsigned size, uint64_t& value) {
    if (bus_.read(va, size, value)) return true;
    // Synchronous external abort (DFSC 0b010000), ISS.WnR = 0.
    raise(s.el == 0 ? Ec::DataAbortLower : Ec::DataAbortSame, 0x10, false, va, true);
    return false;
}

bool Cpu::store(uint64_t va, unsigned size, uint64_t value) {
    if (code_pages_.count(va & kPageMask)) flush_blocks();  // self-modifying code
    if (bus_.write(va, size, value)) return true;
    raise(s.el == 0 ? Ec::DataAbortLower : Ec::DataAbortSame, 0x10 | (1u << 6), false, va, true);
    return false;
}

bool Cpu::exclusive_store(uint64_t va, unsigned size, uint64_t expected, uint64_t value, uint64_t expected_hi,
                          uint64_t value_hi) {
    if (code_pages_.count(va & kPageMask)) flush_blocks();
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
    pending_ = false;
}

Cpu::Stop Cpu::run(uint64_t budget) {
    uint64_t done = 0;
    while (done < budget) {
        if (exit_request && exit_request->load(std::memory_order_relaxed)) return Stop::Budget;
        const Block& b = block_at(s.pc);
        for (const auto& d : b.insns) {
            if (done >= budget) return Stop::Budget;
            if (!d.handler) {
                // Instruction fetch abort (synchronous external abort).
                raise(s.el == 0 ? Ec::InsnAbortLower : Ec::InsnAbortSame, 0x10, false, s.pc, true);
            } else {
                branched_ = false;
                d.handler(*this, d.insn);
            }
            if (pending_) {
                last_ec = pend_ec_;
                last_iss = pend_iss_;
                if (stop_on_exception) {
                    pending_ = false;
                    if (pending_next_) s.pc += 4;
                    return Stop::Exception;
                }
                take_exception();
                ++done;
                ++insn_count;
                break;
            }
            ++done;
            ++insn_count;
            if (branched_) {
                s.pc = next_pc_;
                break;
            }
            s.pc += 4;
            if (wfi_) {
                wfi_ = false;
                return Stop::Wfi;
            }
            if (blocks_.empty()) break;  // the block was flushed under us
        }
    }
    return Stop::Budget;
}

}  // namespace armvm
