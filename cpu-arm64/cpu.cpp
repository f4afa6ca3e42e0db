#include "cpu-arm64/cpu.hpp"

#include "cpu-arm64/jit/jit.hpp"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "base/log.hpp"
#include "base/report.hpp"
#include "cpu-arm64/disas/disas.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <thread>
#include <utility>

namespace armvm {

namespace {

bool ends_block(a64::Op op) {
    using a64::Op;
    switch (op) {
    case Op::B_cond: case Op::SVC: case Op::HVC: case Op::SMC: case Op::BRK: case Op::HLT:
    case Op::HINT: case Op::ISB: case Op::MSR_imm: case Op::SYS: case Op::MSR_reg: case Op::MRS:
    case Op::BR: case Op::BLR: case Op::RET: case Op::ERET: case Op::B: case Op::BL: case Op::BRANCH_PAC:
    case Op::CBZ_CBNZ: case Op::TBZ_TBNZ: case Op::Unallocated:
        return true;
    default:
        return false;
    }
}

// The instructions PMU event BR_RETIRED counts (ARM ARM D12.11: every
// branch, taken or not, including exception returns).
bool is_branch(a64::Op op) {
    using a64::Op;
    switch (op) {
    case Op::B_cond: case Op::BR: case Op::BLR: case Op::RET: case Op::ERET: case Op::B: case Op::BL:
    case Op::BRANCH_PAC: case Op::CBZ_CBNZ: case Op::TBZ_TBNZ:
        return true;
    default:
        return false;
    }
}

}  // namespace

Cpu::Cpu(Bus& bus) : bus_(bus), map_gen_(bus.map_generation()), own_cluster_(std::make_unique<CpuCluster>()) {
    own_cluster_->add(this);
    cluster_ = own_cluster_.get();
    jit_ras_clear();
    mode_changed();
    if (jit::enabled_by_default()) set_jit(true);
}

void Cpu::set_jit(bool on, uint32_t hot, size_t arena) {
    flush_blocks();  // (no block keeps code of a backend that goes)
    dead_maps_.clear();
    events_ = 0;
    jit_ = on ? jit::make_backend(*this, arena) : nullptr;
    if (jit_ && !jit_vcache_) jit_vcache_ = std::make_unique<JitVEntry[]>(kJitVCache);
    jit_hot_ = hot ? hot : jit::hot_threshold(kJitHot);
    jit_full_ = false;
}

uint64_t Cpu::jit_resets() const { return jit_ ? jit_->resets() : 0; }

Cpu::~Cpu() {
    if (std::getenv("ARMVM_STATS")) {  // for benchmarks: the memory decoded code takes
        size_t entries = 0;
        blocks_.for_each([&](uint64_t, const Block& blk) { entries += blk.insns.capacity(); });
        report_info("stats: " + std::to_string(blocks_.size()) + " blocks decoded (" + std::to_string(entries) +
                    " entries of " + std::to_string(sizeof(DecodedInsn)) + " bytes)");
    }
}

void Cpu::set_ram_window(uint64_t base, uint8_t* host, uint64_t size) {
    ram_base_ = base;
    ram_host_ = host;
    ram_size_ = size;
    own_cluster_->set_ram(size);
    tlb_.flush_all();
    links_stale();
}

void Cpu::join(CpuCluster& cluster) {
    cluster.add(this);
    cluster_ = &cluster;
}

void Cpu::flush_blocks() {
    links_stale();
    dead_maps_.push_back(std::move(blocks_));
    blocks_.clear();
    page_blocks_.clear();
    std::fill(std::begin(jmp_cache_), std::end(jmp_cache_), JmpEntry{});
    tlb_.flush_all();
    events_ |= kEvFlush;
}

mmu::Regime Cpu::regime() const {
    static constexpr unsigned pa_range[] = {32, 36, 40, 42, 44, 48, 52};
    unsigned pr = static_cast<unsigned>(ids.id_aa64mmfr0 & 0xf);
    return {s.sctlr_el1, s.tcr_el1,  s.ttbr0_el1, s.ttbr1_el1, s.mair_el1, pr < 7 ? pa_range[pr] : 48u,
            ((ids.id_aa64mmfr0 >> 20) & 0xf) != 0, ((ids.id_aa64mmfr2 >> 28) & 0xf) != 0,
            ((ids.id_aa64mmfr2 >> 16) & 0xf) != 0, has_lpa2()};
}

void Cpu::mode_changed() {
    ++link_gen_;  // executable pages and the ASID may differ now
    if (s.el == 0) {
        need_r_ = mmu::kR0;
        need_w_ = mmu::kW0;
        need_x_ = mmu::kX0;
    } else {
        need_r_ = s.pan ? mmu::kR1Pan : mmu::kR1;
        need_w_ = s.pan ? mmu::kW1Pan : mmu::kW1;
        need_x_ = mmu::kX1;
    }
    uint16_t asid = mmu::current_asid(regime());
    uint64_t align = (s.sctlr_el1 & 2) ? ~0ull : 0;
    // (the JIT's fast table holds the current ASID's pages, unchecked
    // alignment: either changing makes it out of date)
    if (align != align_mask_) tlb_.fast_flush();
    if (asid != asid_) {
        asid_ = asid;
        tlb_.set_fast_asid(asid);
        select_vbank();
    }
    align_mask_ = align;
    tlb_.set_fast_mode(s.el == 0 ? 0 : s.pan ? 2 : 1);
    jit_vkey_ = s.el != 0;  // (the EL is part of the VA cache's tag)
    jit_user_key_mask_ = s.el == 1 && s.uao ? ~uint64_t{0} : ~uint64_t{3};
}

void Cpu::jit_fill(Cpu* c) { c->jit_fill_as(c->need_r_, c->need_w_, c->tlb_.fast_mode()); }

void Cpu::jit_fill_user(Cpu* c) {
    if (c->unprivileged_as_el0() || c->s.el == 0)
        c->jit_fill_as(mmu::kR0, mmu::kW0, 0);
    else
        jit_fill(c);  // (PSTATE.UAO: as any access at EL1)
}

void Cpu::jit_fill_as(uint8_t need_r, uint8_t need_w, unsigned mode) {
    uint64_t va = jit_fill_va_;
    const mmu::TlbEntry& e = tlb_.slot(va);
    if (e.tag != (va & kPageMask) || !(e.global || e.asid == asid_) || !e.host || align_mask_) return;
    bool r = e.perm & need_r, w = (e.perm & need_w) && !e.rom;
    if (r || w) tlb_.fast_fill(va, r, w, e.host, cluster_->mark_of(e.ram_page), mode);
}

// ---- code pages and the blocks decoded from them

void Cpu::mark_code_page(uint64_t pa_page) {
    uint64_t off = pa_page - ram_base_;
    if (ram_host_ && off < ram_size_) cluster_->mark(static_cast<uint32_t>(off >> 12));
}

void CpuCluster::ram_written(uint64_t ram_base, uint64_t off, uint64_t len) {
    if (!code_ || !len) return;
    uint64_t last = std::min<uint64_t>((off + len - 1) >> 12, pages_ - 1);
    for (uint64_t page = off >> 12; page <= last; ++page) {
        if (!is_code(static_cast<uint32_t>(page)) || !unmark(static_cast<uint32_t>(page))) continue;
        for (Cpu* c : cpus_) c->post({RemoteOp::CodePage, 0, ram_base + (page << 12)});
    }
}

void CpuCluster::flush_tlbs() {
    for (Cpu* c : cpus_) c->post({RemoteOp::TlbAll, 0, 0});
}

void CpuCluster::drop_all_code() {
    clear();
    for (Cpu* c : cpus_) c->post({RemoteOp::CodeAll, 0, 0});
}

void Cpu::invalidate_code_page(uint64_t pa_page) {
    auto it = page_blocks_.find(pa_page);
    if (it == page_blocks_.end()) return;
    for (uint64_t pa : it->second) {
        if (auto dead = blocks_.extract(pa)) dead_blocks_.push_back(std::move(dead));
        JmpEntry& j = jmp_cache_[(pa >> 2) & (kJmpCache - 1)];
        if (j.pa == pa) j = JmpEntry{};
    }
    page_blocks_.erase(it);
    links_stale();
    events_ |= kEvFlush;  // the running block may be gone: leave it
}

void Cpu::invalidate_all_code() {
    std::vector<uint64_t> pages;
    for (auto& [page, list] : page_blocks_) pages.push_back(page);
    for (uint64_t p : pages) invalidate_code_page(p);
}

void Cpu::ic_iallu() { cluster_->drop_all_code(); }

void Cpu::ic_ivau(uint64_t va) {
    mmu::Regime r = regime();
    mmu::Translation t;
    mmu::Fault f;
    if (!mmu::walk(r, bus_, mmu::strip_tag(r, va), t, f)) return;
    uint64_t pa = t.pa_page & ~0xfffull;
    if (ram_host_ && pa >= ram_base_ && pa - ram_base_ < ram_size_)
        cluster_->ram_written(ram_base_, pa - ram_base_, 1);
    else
        invalidate_code_page(pa);
}

bool exec_fetch_abort(Cpu& c, const DecodedInsn& d) {
    // Synchronous external abort on instruction fetch (IFSC 0b010000).
    c.raise(c.s.el == 0 ? Ec::InsnAbortLower : Ec::InsnAbortSame, 0x10, false, c.pc_of(d), true);
    return true;
}

const Block* Cpu::fetch_block() {
    uint64_t pc = s.pc;
    if (pc & 3) {
        raise(Ec::PcAlign, 0, false, pc, true);
        return nullptr;
    }
    uint64_t pa;
    bool guarded;
    mmu::TlbEntry& e = tlb_.slot(pc);
    if (e.tag == (pc & kPageMask) && (e.perm & need_x_) && (e.global || e.asid == asid_)) {
        pa = e.pa | (pc & 0xfff);
        guarded = e.guarded;
    } else {
        mmu::TlbEntry* f = lookup(pc, Access::Exec, need_x_);
        if (!f) return nullptr;
        pa = f->pa | (pc & 0xfff);
        guarded = f->guarded;
    }
    // A direct-mapped cache in front of the block map (the map's nodes do
    // not move, so the pointers stay valid until their block is dropped,
    // which clears the entry too).
    // (keyed by PA, bit 0 set for a guarded page's: a page mapped both
    // ways has blocks of each kind)
    uint64_t key = pa | (guarded ? 1 : 0);
    JmpEntry& j = jmp_cache_[(pa >> 2) & (kJmpCache - 1)];
    if (j.pa == key) return j.block;
    const Block* found = blocks_.find(key);
    const Block& b = found ? *found : decode_block(pa, guarded);
    j.pa = key;
    j.block = &b;
    return &b;
}

void Cpu::forget_jit_page(uint64_t va) {
    if (!jit_vcache_) return;
    uint64_t page = va & kPageMask;
    unsigned bit = vpage_bit(page);
    if (!((jit_vpages_[bit >> 6] >> (bit & 63)) & 1)) return;
    static_assert(kJitVCache >= 1024, "one page's instructions have an entry each, in one run");
    JitVEntry* e = &jit_vcache_[(page >> 2) & (kJitVCache - 1)];
    for (unsigned i = 0; i < 1024; ++i)
        if ((e[i].tag & kPageMask) == page) e[i] = JitVEntry{};
}

bool Cpu::jit_relink(Cpu* c, Block::Link* link, uint64_t va) {
    mmu::TlbEntry& e = c->tlb_.slot(va);
    if ((va & 3) || e.tag != (va & kPageMask) || !(e.perm & c->need_x_) || !(e.global || e.asid == c->asid_))
        return false;
    uint64_t pa = e.pa | (va & 0xfff), key = pa | (e.guarded ? 1 : 0);  // (as fetch_block's)
    JmpEntry& j = c->jmp_cache_[(pa >> 2) & (kJmpCache - 1)];
    const Block* b;
    if (j.pa == key) {
        b = j.block;
    } else {
        b = c->blocks_.find(key);
        if (!b) return false;
        j = {key, b};
    }
    if (!b->jit) return false;
    *link = {va, b, c->link_gen_};
    c->jit_vcache_[(va >> 2) & (kJitVCache - 1)] = {va | c->jit_vkey_, c->jit_vgen_, b, 0};
    unsigned bit = vpage_bit(va);
    c->jit_vpages_[bit >> 6] |= 1ull << (bit & 63);
    return true;
}

// ARMVM_PERFMAP=1: each compiled block's host code named in
// /tmp/perf-PID.map, the file Linux's perf reads for JIT code, as
// "arm64:GUEST-PC" (a developer's profile of guest code; QEMU 8.1's
// -perfmap). Blocks whose code is later reused keep their old line.
static void perf_map_block(const void* code, uint32_t size, uint64_t guest_pc) {
    static std::FILE* map = [] {
        const char* e = std::getenv("ARMVM_PERFMAP");
        if (!e || !*e || !std::strcmp(e, "0")) return static_cast<std::FILE*>(nullptr);
        char name[64];
        std::snprintf(name, sizeof name, "/tmp/perf-%d.map", static_cast<int>(::getpid()));
        return std::fopen(name, "w");
    }();
    if (!map) return;
    static std::mutex m;
    std::lock_guard<std::mutex> g(m);
    std::fprintf(map, "%llx %x arm64:%llx\n", static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(code)), size,
                 static_cast<unsigned long long>(guest_pc));
    std::fflush(map);
}

// -d out_asm: a block's host code once compiled, in QEMU's frame (armvm's
// code is not split per guest instruction: one prologue line).
void Cpu::log_out_asm(const Block& b) const {
    char head[96];
    std::snprintf(head, sizeof head, "OUT: [size=%u]\n  -- guest addr 0x%016llx + tb prologue\n", b.jit_size,
                  static_cast<unsigned long long>(s.pc));
    qlog::write(head + disas_host(b.jit_head, b.jit_size) + "\n");
}

namespace {
bool is_paci_sp(uint32_t insn) { return insn == 0xd503233f || insn == 0xd503237f; }  // PACIASP, PACIBSP
}  // namespace

// The BTYPEs (bit n: BTYPE n) an instruction at the start of a guarded
// page's block accepts (ARM ARM D8.4, BTypeCompatible): BTI c (1, 2),
// BTI j (1, 3), BTI jc (all), plain BTI (none); PACIASP/PACIBSP (1, 2;
// 3 only with SCTLR_EL1.BTx clear: bti_check asks); BRK and HLT (all:
// their exceptions come first).
uint8_t Cpu::bti_accepts(uint32_t insn) {
    if ((insn & 0xffffff3f) == 0xd503241f) {
        static constexpr uint8_t by_target[4] = {0x1, 0x7, 0xb, 0xf};
        return by_target[(insn >> 6) & 3];
    }
    if (is_paci_sp(insn)) return 0x7;
    if ((insn & 0xffe0001f) == 0xd4200000 || (insn & 0xffe0001f) == 0xd4400000) return 0xf;
    return 0x1;
}

bool Cpu::bti_check(const Block& b) {
    unsigned bt = s.btype;
    bool bt_bit = (s.sctlr_el1 >> (s.el == 0 ? 35 : 36)) & 1;  // SCTLR_EL1.BT0 / BT1
    if (((b.bti_ok >> bt) & 1) || (bt == 3 && !bt_bit && is_paci_sp(b.insns[0].insn))) {
        s.btype = 0;
        return true;
    }
    raise(Ec::BranchTarget, bt);  // (SPSR keeps the BTYPE)
    return false;
}

const Block& Cpu::decode_block(uint64_t pa, bool guarded) {
    Block b;
    b.pa = pa;
    b.guarded = guarded;
    uint64_t page = pa & kPageMask;
    mark_code_page(page);  // before reading: a racing store then invalidates
    uint64_t a = pa;
    a64::Op last = a64::Op::Unallocated;
    bool log = qlog::on(qlog::InAsm) && qlog::in_filter(s.pc);
    std::string text;  // -d in_asm: the block as QEMU logs a TB
    unsigned conds = 0;
    static const unsigned cond_limit = [] {
        const char* e = std::getenv("ARMVM_SB");
        return e ? static_cast<unsigned>(std::atoi(e)) : kMaxCondBranches;
    }();
    for (size_t i = 0; i < kMaxBlockInsns; ++i, a += 4) {
        uint64_t raw;
        if (!read_phys(a, 4, raw)) {
            if (i == 0) b.insns.push_back({&exec_fetch_abort, 0});  // fetch abort at the block start
            break;
        }
        uint32_t insn = static_cast<uint32_t>(raw);
        if (log) text += disas_line(s.pc + 4 * i, insn) + "\n";
        last = a64::decode(insn);
        b.insns.push_back(translate_insn(insn, last));
        b.insns.back().pcoff = static_cast<uint16_t>(4 * i);
        // (of the hints only those that wait end a block: YIELD, WFE, WFI,
        // as QEMU ends its TBs; NOP, BTI, PACIASP... run on)
        bool waits = last != a64::Op::HINT || (insn & 0xfe0) == 0x020 || (insn & 0xfe0) == 0x040 ||
                     (insn & 0xfe0) == 0x060;
        // (an MRS ends one only for the PMU's and the timer's registers,
        // CRn 9 and 14: their values count the block's instructions)
        unsigned crn = (insn >> 12) & 0xf;
        bool counts = last != a64::Op::MRS || crn == 9 || crn == 14;
        b.insns.back().br_before = b.branches;
        if (is_branch(last)) ++b.branches;
        if (((a + 4) & ~kPageMask) == 0) break;  // never cross a page
        // (a conditional branch not taken runs on, up to kMaxCondBranches;
        // not while -d in_asm shows the blocks: QEMU's end there)
        bool cond = last == a64::Op::B_cond || last == a64::Op::CBZ_CBNZ || last == a64::Op::TBZ_TBNZ;
        if (cond && !log && ++conds <= cond_limit) continue;
        if (ends_block(last) && waits && counts) break;
    }
    b.ends_in_branch = is_branch(last);
    b.plain_end = !ends_block(last) || last == a64::Op::B_cond || last == a64::Op::CBZ_CBNZ ||
                  last == a64::Op::TBZ_TBNZ || last == a64::Op::B || last == a64::Op::BL;
    if (last == a64::Op::B_cond && b.insns.size() >= 2 &&
        fuse_compare_branch(b.insns[b.insns.size() - 2], b.insns.back())) {
        b.insns.pop_back();  // retires with the compare
        b.fused = true;
    }
    b.n = static_cast<uint32_t>(b.insns.size());
    if (guarded && !b.insns.empty() && b.insns[0].handler != &exec_fetch_abort) b.bti_ok = bti_accepts(b.insns[0].insn);
    b.insns.shrink_to_fit();  // (decoded blocks are most of the heap: no room for growth)
    if (log && !text.empty()) qlog::write("----------------\nIN: " + qlog::symbol(s.pc) + "\n" + text + "\n");
    page_blocks_[page].push_back(pa | (guarded ? 1 : 0));
    return blocks_.insert(pa | (guarded ? 1 : 0), std::move(b));
}

bool Cpu::read_phys(uint64_t pa, unsigned size, uint64_t& value) {
    uint64_t off = pa - ram_base_;
    if (ram_host_ && off < ram_size_ && size <= ram_size_ - off) {
        value = read_host(ram_host_ + off, size);
        return true;
    }
    leave_guest();
    bool ok = bus_.read(pa, size, value, who());
    enter_guest();
    return ok;
}

// ---- exceptions

void Cpu::raise(Ec ec, uint32_t iss, bool preferred_next, uint64_t far, bool far_valid) {
    events_ |= kEvException;
    pending_next_ = preferred_next;
    pend_ec_ = ec;
    pend_iss_ = iss;
    pend_far_ = far;
    pend_far_valid_ = far_valid;
}

void Cpu::trap_sysreg(uint32_t insn) {
    // ISS for EC 0x18 (ARM ARM D17.2.37): Op0, Op2, Op1, CRn, Rt, CRm,
    // direction (1: read).
    uint32_t op0 = (insn >> 19) & 3, op1 = (insn >> 16) & 7, crn = (insn >> 12) & 0xf, crm = (insn >> 8) & 0xf,
             op2 = (insn >> 5) & 7, rt = insn & 0x1f, read = (insn >> 21) & 1;
    raise(Ec::SysReg, (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | read);
}

void Cpu::raise_mmu_fault(uint64_t va, Access acc, mmu::Fault f, bool cm) {
    uint32_t fsc = mmu::fault_status(f);
    if (acc == Access::Exec) {
        raise(s.el == 0 ? Ec::InsnAbortLower : Ec::InsnAbortSame, fsc, false, va, true);
        return;
    }
    uint32_t iss = fsc | (acc == Access::Write ? 1u << 6 : 0) | (cm ? 1u << 8 : 0);
    raise(s.el == 0 ? Ec::DataAbortLower : Ec::DataAbortSame, iss, false, va, true);
}

// Exception entry to EL1 (ARM ARM D1.10.2, AArch64.TakeException).
void Cpu::enter_el1(uint64_t vector_offset, uint64_t elr) {
    ++pmu_exc_taken;
    if (s.pmcr & 1) pmu_sync();  // counts so far (this exception too) belong to the old EL
    uint64_t offset = (s.el == 0 ? 0x400 : (s.spsel ? 0x200 : 0x000)) + vector_offset;
    s.spsr_el1 = pstate_after_entry() | (s.ss ? 1u << 21 : 0);
    s.ss = false;
    s.ssbs = has_ssbs() && ((s.sctlr_el1 >> 44) & 1);  // SCTLR_EL1.DSSBS (DIT is kept)
    s.uao = false;
    s.btype = 0;
    s.elr_el1 = elr;
    s.el = 1;
    s.spsel = true;
    s.daif = 0x3c0;
    if (has_pan() && !((s.sctlr_el1 >> 23) & 1)) s.pan = true;  // SCTLR_EL1.SPAN == 0
    s.pc = s.vbar_el1 + offset;
    mode_changed();
}

namespace {
std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

// QEMU's exception numbers and names for -d int, by exception class.
std::pair<int, const char*> qemu_exception(uint32_t ec) {
    switch (ec) {
    case 0x15: return {2, "SVC"};
    case 0x16: return {11, "Hypervisor Call"};
    case 0x17: return {13, "Secure Monitor Call"};
    case 0x20: case 0x21: case 0x22: return {3, "Prefetch Abort"};
    case 0x24: case 0x25: case 0x26: return {4, "Data Abort"};
    case 0x3c: return {7, "Breakpoint"};
    default: return {1, "Undefined Instruction"};
    }
}
}  // namespace

// PSTATE as SPSR would show it now (EL1h after an exception entry).
uint64_t Cpu::pstate_after_entry() const {
    return s.nzcv | (s.dit ? 1u << 24 : 0) | (s.uao ? 1u << 23 : 0) | (s.pan ? 1u << 22 : 0) | (s.ssbs ? 1u << 12 : 0) |
           (static_cast<uint32_t>(s.btype) << 10) | s.daif | (s.el << 2) | (s.spsel ? 1 : 0);
}

void Cpu::take_exception() {
    if (pending_next_) s.ss = false;  // (the instruction completed: a step of it is done)
    s.esr_el1 = (static_cast<uint64_t>(pend_ec_) << 26) | (1u << 25) /*IL*/ | (pend_iss_ & 0x1ffffff);
    if (pend_far_valid_) s.far_el1 = pend_far_;
    unsigned from = s.el;
    enter_el1(0, pending_next_ ? s.pc + 4 : s.pc);
    if (qlog::on(qlog::Int)) {
        auto [n, name] = qemu_exception(static_cast<uint32_t>(s.esr_el1 >> 26));
        std::string m = fmt("Taking exception %d [%s] on CPU %d\n...from EL%u to EL1\n...with ESR 0x%x/0x%llx\n", n,
                            name, index, from, static_cast<unsigned>(s.esr_el1 >> 26),
                            static_cast<unsigned long long>(s.esr_el1));
        if (n == 3 || n == 4)  // (aborts: the faulting address)
            m += fmt("...with FAR 0x%llx\n", static_cast<unsigned long long>(s.far_el1));
        m += fmt("...with ELR 0x%llx\n...to EL1 PC 0x%llx PSTATE 0x%llx\n", static_cast<unsigned long long>(s.elr_el1),
                 static_cast<unsigned long long>(s.pc), static_cast<unsigned long long>(pstate_after_entry()));
        qlog::write(m);
    }
}

// IRQ: ELR is the next instruction to run, the vector is +0x80.
void Cpu::take_irq() {
    unsigned from = s.el;
    enter_el1(0x80, s.pc);
    if (qlog::on(qlog::Int))
        qlog::printf("Taking exception 5 [IRQ] on CPU %d\n...from EL%u to EL1\n...with ELR 0x%llx\n"
                     "...to EL1 PC 0x%llx PSTATE 0x%llx\n",
                     index, from, static_cast<unsigned long long>(s.elr_el1), static_cast<unsigned long long>(s.pc),
                     static_cast<unsigned long long>(pstate_after_entry()));
}

// ---- memory accesses through the MMU

mmu::TlbEntry* Cpu::lookup(uint64_t va, Access acc, uint8_t need, bool cm) {
    uint64_t sva = acc == Access::Exec ? va : mmu::strip_tag(s.sctlr_el1, s.tcr_el1, va);
    mmu::TlbEntry& e = tlb_.slot(sva);
    if (e.tag == (sva & kPageMask) && (e.global || e.asid == asid_) && (e.perm & need)) return &e;
    // A miss, or a permission the cached entry lacks: walk again (the
    // tables may have been upgraded without a TLBI, as QEMU re-walks too).
    mmu::Regime r = regime();
    // FEAT_E0PD: TCR_EL1.E0PD0/E0PD1 make every EL0 access to their half a
    // level 0 translation fault, mapped or not (no walk to time).
    bool e0pd = has_e0pd() && (r.sctlr & 1) && ((r.tcr >> (((sva >> 55) & 1) ? 56 : 55)) & 1);
    if (e0pd && (need & (mmu::kR0 | mmu::kW0 | mmu::kX0))) {
        raise_mmu_fault(va, acc, {mmu::FaultType::Translation, 0}, cm);
        return nullptr;
    }
    mmu::Translation t;
    mmu::Fault f;
    for (;;) {
        if (!mmu::walk(r, bus_, sva, t, f)) {
            raise_mmu_fault(va, acc, f, cm);
            return nullptr;
        }
        Hafdbs u = update_descriptor(t, need);
        if (u == Hafdbs::Retry) continue;
        if (u == Hafdbs::Done) break;
        // a permission fault with AF clear (nothing cached), or the tables off RAM (as an abort)
        raise_mmu_fault(va, acc, {u == Hafdbs::Denied ? mmu::FaultType::Permission : mmu::FaultType::WalkAbort, t.level},
                        cm);
        return nullptr;
    }
    if (e0pd) t.perm &= static_cast<uint8_t>(~(mmu::kR0 | mmu::kW0 | mmu::kX0));
    e.tag = sva & kPageMask;
    e.pa = t.pa_page;
    e.perm = t.perm;
    e.global = t.global;
    e.asid = t.asid;
    e.level = t.level;
    e.attr = t.attr;
    e.sh = t.sh;
    e.guarded = t.guarded && has_bti();
    uint64_t off = t.pa_page - ram_base_;
    e.rom = false;
    if (ram_host_ && off < ram_size_) {
        e.host = ram_host_ + off;
        e.ram_page = static_cast<uint32_t>(off >> 12);
    } else if (const uint8_t* rom = bus_.rom_page(t.pa_page)) {
        // A ROM device's page: read at RAM speed, written through the bus
        // (a store misses the entry, which has no W, and walks again).
        e.host = const_cast<uint8_t*>(rom);
        e.ram_page = 0;
        e.rom = true;
        e.perm &= static_cast<uint8_t>(~(mmu::kW0 | mmu::kW1 | mmu::kW1Pan));
    } else {
        e.host = nullptr;
        e.ram_page = 0;
    }
    tlb_.note_span(sva, t.size);
    if (any_watch() && page_watched(sva))  // every data access takes the slow path
        e.perm &= mmu::kX0 | mmu::kX1;
    if (!(t.perm & need)) {
        raise_mmu_fault(va, acc, {mmu::FaultType::Permission, t.level}, cm);
        return nullptr;
    }
    return &e;
}

// FEAT_HAFDBS: an access the page allows sets its AF, a write to a DBM
// page its dirty state (AP[2] cleared), in the descriptor, with a
// compare-and-swap (another CPU may have changed it: Retry, walk again).
// Done: nothing (more) to write; t.perm includes what the write allowed.
Cpu::Hafdbs Cpu::update_descriptor(mmu::Translation& t, uint8_t need) {
    bool dirty = !(t.perm & need) && (t.perm_dirty & need);
    if (!t.set_af && !dirty) return Hafdbs::Done;
    if (!(t.perm & need) && !dirty) return Hafdbs::Denied;
    uint64_t desc = t.desc | (1ull << 10);
    if (dirty) desc &= ~(1ull << 7);
    bool swapped = false;
    if (!bus_.cmpxchg(t.desc_pa, 8, t.desc, desc, swapped, 0, 0, MemAttrs{})) return Hafdbs::Abort;
    if (!swapped) return Hafdbs::Retry;
    if (dirty) t.perm = t.perm_dirty;
    t.set_af = false;
    return Hafdbs::Done;
}

bool Cpu::translate(uint64_t va, Access acc, uint64_t& pa, bool cm) {
    return translate_for(va, acc, acc == Access::Read ? need_r_ : acc == Access::Write ? need_w_ : need_x_, pa, cm);
}

bool Cpu::translate_for(uint64_t va, Access acc, uint8_t need, uint64_t& pa, bool cm) {
    mmu::TlbEntry* e = lookup(va, acc, need, cm);
    if (!e) return false;
    pa = e->pa | (va & 0xfff);
    if (acc == Access::Write) {
        // A write to a page holding decoded code drops the blocks of every
        // CPU decoded from it.
        bool ram = e->host && !e->rom;
        if (ram ? cluster_->unmark(e->ram_page) : page_blocks_.count(e->pa) != 0) {
            uint64_t page = e->pa;
            invalidate_code_page(page);
            if (ram)
                for (Cpu* c : cluster_->cpus())
                    if (c != this) c->post({RemoteOp::CodePage, 0, page});
        }
    }
    return true;
}

bool Cpu::check_aligned(uint64_t va, unsigned size, bool write) {
    if (!(va & (size - 1))) return true;
    raise(s.el == 0 ? Ec::DataAbortLower : Ec::DataAbortSame, 0x21 | (write ? 1u << 6 : 0), false, va, true);
    return false;
}

bool Cpu::access_slow(uint64_t va, unsigned size, uint64_t& value, Access acc, uint8_t need) {
    bool write = acc == Access::Write;
    if (va & (size - 1) & align_mask_) return check_aligned(va, size, write);
    if ((va & 0xfff) + size > 0x1000) {
        // Crossing a page: both pages are checked before any byte moves.
        uint64_t second = (va | 0xfff) + 1;
        if (!lookup(va, acc, need) || !lookup(second, acc, need)) return false;
        uint64_t v = 0;
        for (unsigned i = 0; i < size; ++i) {
            uint64_t b = write ? (value >> (8 * i)) & 0xff : 0;
            if (!access_slow(va + i, 1, b, acc, need)) return false;
            v |= b << (8 * i);
        }
        if (!write) value = v;
        return true;
    }
    uint64_t pa;
    const mmu::TlbEntry& hit = tlb_.slot(va);  // (a read of a device page the TLB holds: no walk to ask for)
    if (!write && hit.tag == (va & kPageMask) && (hit.perm & need) && (hit.global || hit.asid == asid_))
        pa = hit.pa | (va & 0xfff);
    else if (!translate_for(va, acc, need, pa, false))
        return false;
    if (any_watch() && watch_hit(va, size, write)) return false;
    bool ok;
    uint64_t off = pa - ram_base_;
    if (ram_host_ && off < ram_size_ && size <= ram_size_ - off) {
        if (write)
            write_host(ram_host_ + off, size, value);
        else
            value = read_host(ram_host_ + off, size);
        return true;
    }
    // A device read that need not wait for the machine lock stays in guest
    // code (other CPUs' broadcasts wait for it as for any instruction);
    // a register polled in a loop that the device lets CPUs read without
    // the lock (PolledReg) is read so from its second read on.
    jit_fill_va_ = kNoFill;  // (compiled code has nothing to cache for a device page)
    const std::atomic<uint64_t>* gen = write ? nullptr : map_gen_;
    bool known = false;  // (the bus has answered whether this register may be polled)
    if (gen && pa == polled_.pa && size == polled_.size && polled_.gen == gen->load(std::memory_order_acquire)) {
        if (polled_.reg) {
            value = polled_.reg->read();
            return true;
        }
        known = true;
    }
    const PolledReg* polled = nullptr;
    bool ask = gen && pa == last_dev_read_ && !known;
    if (gen) last_dev_read_ = pa;
    uint64_t gen_before = ask ? gen->load(std::memory_order_acquire) : 0;  // (a map changed meanwhile: a miss)
    if (int r = write ? -1 : bus_.try_read(pa, size, value, who(), ask ? &polled : nullptr); r >= 0) {
        ok = r;
        if (ask && ok) polled_ = {pa, size, gen_before, polled};  // (nullptr: not to be asked again)
    } else {
        leave_guest();
        ok = write ? bus_.write(pa, size, value, who()) : bus_.read(pa, size, value, who());
        enter_guest();  // (and a device write that changed the map under the TLB, a ROM device leaving
                        // ROM mode, has flushed it: enter_guest() handles the mailbox)
    }
    if (!ok && qlog::allow(qlog::GuestErrors))  // (QEMU's words for an access nothing answers)
        qlog::printf("Invalid %s at addr 0x%llX, size %u, region '(null)', reason: rejected\n",
                     write ? "write" : "read", static_cast<unsigned long long>(pa), size);
    if (!ok)  // synchronous external abort (DFSC 0b010000)
        raise(s.el == 0 ? Ec::DataAbortLower : Ec::DataAbortSame, 0x10 | (write ? 1u << 6 : 0), false, va, true);
    return ok;
}

bool Cpu::load_slow(uint64_t va, unsigned size, uint64_t& value) {
    return access_slow(va, size, value, Access::Read, need_r_);
}

bool Cpu::store_slow(uint64_t va, unsigned size, uint64_t value) {
    return access_slow(va, size, value, Access::Write, need_w_);
}

bool Cpu::load_unpriv_slow(uint64_t va, unsigned size, uint64_t& value) {
    return access_slow(va, size, value, Access::Read, mmu::kR0);
}

bool Cpu::store_unpriv_slow(uint64_t va, unsigned size, uint64_t value) {
    return access_slow(va, size, value, Access::Write, mmu::kW0);
}

bool Cpu::exclusive_store(uint64_t va, unsigned size, uint64_t expected, uint64_t value, uint64_t expected_hi,
                          uint64_t value_hi) {
    uint64_t pa;
    if (!translate(va, Access::Write, pa)) return false;
    if (any_watch() && watch_hit(va, size, true)) return false;
    bool swapped = false;
    uint64_t off = pa - ram_base_;
    bool ram = ram_host_ && off < ram_size_;
    if (!ram) leave_guest();
    bool ok = bus_.cmpxchg(pa, size, expected, value, swapped, expected_hi, value_hi, who());
    if (!ram) enter_guest();
    if (ok) {
        if (swapped) signal_waiters();  // as the monitors of CPUs waiting in WFE would
        return swapped;
    }
    raise(s.el == 0 ? Ec::DataAbortLower : Ec::DataAbortSame, 0x10 | (1u << 6), false, va, true);
    return false;
}

void Cpu::address_translate(uint64_t va, Access acc, unsigned el, bool pan) {
    mmu::Regime r = regime();
    bool write = acc == Access::Write;
    uint8_t need = el == 0 ? (write ? mmu::kW0 : mmu::kR0)
                           : pan ? (write ? mmu::kW1Pan : mmu::kR1Pan) : (write ? mmu::kW1 : mmu::kR1);
    mmu::Translation t;
    mmu::Fault f;
    uint64_t par = 1ull << 11;  // RES1
    bool ok = false;
    for (;;) {  // (AT updates the descriptor as an access would, as QEMU's does)
        if (!mmu::walk(r, bus_, mmu::strip_tag(r, va), t, f)) break;
        Hafdbs u = update_descriptor(t, need);
        if (u == Hafdbs::Retry) continue;
        ok = u == Hafdbs::Done && (t.perm & need);
        if (u == Hafdbs::Abort) f = {mmu::FaultType::WalkAbort, t.level};
        break;
    }
    if (ok) {
        // MMU off: data accesses are Device-nGnRnE.
        uint8_t attr = (r.sctlr & 1) ? t.attr : 0;
        bool device_or_nc = (attr & 0xf0) == 0 || attr == 0x44 || attr == 0x40;
        par |= t.pa_page & 0x000ffffffffff000ull;  // (PA[51:12])
        par |= 1u << 9;  // NS: the CPU runs in Non-secure state
        par |= static_cast<uint64_t>(attr) << 56;
        par |= static_cast<uint64_t>(device_or_nc ? 2 : t.sh) << 7;
    } else {
        if (f.type == mmu::FaultType::None) f = {mmu::FaultType::Permission, t.level};
        par |= 1 | (mmu::fault_status(f) << 1);
    }
    s.par_el1 = par;
}

// ---- TLB maintenance and requests between CPUs

void Cpu::apply(const RemoteOp& op) {
    switch (op.kind) {
    case RemoteOp::TlbAll: links_stale(); tlb_.flush_all(); break;
    case RemoteOp::TlbVa:
    case RemoteOp::TlbVaAnyAsid:
        // One page's translation (Linux makes these all the time: COW,
        // unmaps): the VA cache forgets that page only, the links
        // (checked against the VA cache again) all.
        if (tlb_.flush_va(op.addr, op.asid, op.kind == RemoteOp::TlbVaAnyAsid)) {
            ++link_gen_;
            forget_jit_page(op.addr);
        } else {
            links_stale();
        }
        break;
    case RemoteOp::TlbAsid: links_stale(); tlb_.flush_asid(op.asid); break;
    case RemoteOp::CodePage: links_stale(); invalidate_code_page(op.addr); break;
    case RemoteOp::CodeAll: links_stale(); invalidate_all_code(); break;
    }
}

void Cpu::post(const RemoteOp& op) {
    std::lock_guard<std::mutex> g(mailbox_m_);
    // TLB requests beyond 64 (a CPU idle in WFI while another unmaps a
    // range page by page) become one flush of the whole TLB; code
    // invalidations are always kept (each RAM page posts once per
    // decode, and the code of other pages is still good).
    bool code = op.kind == RemoteOp::CodePage || op.kind == RemoteOp::CodeAll;
    if (code || mailbox_.size() < 64)
        mailbox_.push_back(op);
    else
        mailbox_overflow_ = true;
    mailbox_posted_.fetch_add(1);
    mailbox_pending_.store(true);
}

void Cpu::process_mailbox() {
    std::vector<RemoteOp> ops;
    bool overflow;
    uint64_t seq;
    {
        std::lock_guard<std::mutex> g(mailbox_m_);
        ops.swap(mailbox_);
        overflow = std::exchange(mailbox_overflow_, false);
        seq = mailbox_posted_.load();
        mailbox_pending_.store(false);
    }
    if (overflow) {  // (too many TLB requests to keep: all translations go)
        tlb_.flush_all();
        links_stale();
    }
    for (const auto& op : ops)
        if (!overflow || op.kind == RemoteOp::CodePage || op.kind == RemoteOp::CodeAll) apply(op);
    mailbox_done_.store(seq);
}

void Cpu::tlb_maintenance(const RemoteOp& op, bool broadcast) {
    apply(op);
    if (!broadcast) return;
    std::vector<std::pair<Cpu*, uint64_t>> waits;
    for (Cpu* c : cluster_->cpus()) {
        if (c == this) continue;
        c->post(op);
        waits.push_back({c, c->mailbox_posted_.load()});
    }
    // Done when each peer has processed it, or is outside guest code (it
    // processes its mailbox before it runs again).
    for (auto [c, seq] : waits) {
        while (c->mailbox_done_.load() < seq && c->in_guest_.load()) {
            if (mailbox_pending_.load()) process_mailbox();  // two CPUs broadcasting at once
            std::this_thread::yield();
        }
    }
}

// ---- the generic timer

namespace {
uint64_t host_mono_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

uint64_t CpuCluster::Clock::counter() const {
    uint64_t stopped = stopped_at_ns.load(std::memory_order_relaxed);
    uint64_t ns = (stopped ? stopped : host_mono_ns()) - offset_ns.load(std::memory_order_relaxed);
    return ns / 16;  // 62.5 MHz
}

uint64_t CpuCluster::Clock::to_host_ns(uint64_t count) const {
    if (count >= UINT64_MAX / 16) return UINT64_MAX;
    uint64_t ns = count * 16, off = offset_ns.load(std::memory_order_relaxed);
    return ns > UINT64_MAX - off ? UINT64_MAX : ns + off;
}

void CpuCluster::Clock::stop() {
    uint64_t zero = 0;
    stopped_at_ns.compare_exchange_strong(zero, host_mono_ns());
}

void CpuCluster::Clock::start() {
    uint64_t at = stopped_at_ns.load();
    if (!at) return;
    offset_ns.fetch_add(host_mono_ns() - at);
    stopped_at_ns.store(0);
}

uint64_t Cpu::counter_now() const { return cluster_->clock.counter(); }
uint64_t Cpu::counter_to_host_ns(uint64_t count) const { return cluster_->clock.to_host_ns(count); }

// ---- WFE and events

void Cpu::wfe() {
    if (event_.exchange(false)) return;
    // Sleep until an event or the next event-stream tick: CNTKCTL_EL1.EVNTEN
    // (bit 2) makes an event each time bit EVNTI (bits [7:4]) of the
    // virtual count turns 0 -> 1 (EVNTDIR, bit 3, clear) or 1 -> 0.
    wfe_deadline_ns_ = UINT64_MAX;
    if (s.cntkctl_el1 & 4) {
        unsigned bit = (s.cntkctl_el1 >> 4) & 0xf;
        uint64_t period = 2ull << bit, now = counter_now();
        uint64_t phase = (s.cntkctl_el1 & 8) ? 0 : period / 2;  // where the chosen edge falls
        uint64_t next = now - (now % period) + phase;
        if (next <= now) next += period;
        wfe_deadline_ns_ = counter_to_host_ns(next);
    }
    if (!in_wfe_) {
        in_wfe_ = true;
        cluster_->wfe_waiters.fetch_add(1);
    }
    events_ |= kEvWfi;
}

void Cpu::sev() {
    for (Cpu* c : cluster_->cpus()) {
        c->event_.store(true);
        if (c != this && c->wake_hook) c->wake_hook();
    }
}

void Cpu::signal_waiters() {
    // The CPUs asleep in WFE and those with an armed monitor (about to WFE
    // after an LDAXR, the usual spin-wait): otherwise the event would come
    // too early for the one and not at all for the other.
    bool sleepers = cluster_->wfe_waiters.load(std::memory_order_relaxed) != 0;
    for (Cpu* c : cluster_->cpus()) {
        if (c == this) continue;
        if (sleepers || c->monitor_armed_.load(std::memory_order_relaxed)) {
            c->event_.store(true);
            if (sleepers && c->wake_hook) c->wake_hook();
        }
    }
}

// ---- the interpreter loop

Cpu::Stop Cpu::run(uint64_t budget) {
    struct InGuest {
        Cpu& c;
        explicit InGuest(Cpu& cpu) : c(cpu) { c.enter_guest(); }
        ~InGuest() { c.leave_guest(); }
    } in_guest(*this);
    if (in_wfe_) {  // back from WFE
        in_wfe_ = false;
        wfe_deadline_ns_ = UINT64_MAX;
        cluster_->wfe_waiters.fetch_sub(1);
    }
    uint64_t done = 0;
    Block::Link* link = nullptr;  // where to remember the block that comes next
    while (done < budget) {
        if (debug_ && debug_->stop.kind != DebugStop::Kind::None) return Stop::Debug;
        if (exit_request && exit_request->load(std::memory_order_relaxed)) return Stop::Budget;
        if (mailbox_pending_.load(std::memory_order_relaxed)) {
            process_mailbox();
            link = nullptr;
        }
        if (irq_line.load(std::memory_order_relaxed) && !(s.daif & 0x80) && !(debug_ && debug_->step)) {
            take_irq();
            link = nullptr;
        }
        if (insn_count >= pmu_insn_deadline_) {
            // A PMU counter of instructions or branches may overflow now
            // (or one did: an exception taken).
            pmu_sync();
            pmu_arm_deadline();
            if (pmu_irq_level() != pmu_level_out_) return Stop::Budget;  // the vCPU loop raises the PPI
        }
        if (!dead_blocks_.empty() || !dead_maps_.empty()) {
            dead_blocks_.clear();
            dead_maps_.clear();
            jit_ras_clear();  // (its links may be in those blocks)
        }
        uint32_t logging = qlog::g_mask.load(std::memory_order_relaxed);
        // (-d nochain switched on or off, by HMP's log too: the code
        // compiled the other way goes)
        if (jit_ && ((logging & qlog::Nochain) != 0) != jit_nochain_) {
            jit_nochain_ = !jit_nochain_;
            jit_full_ = true;
        }
        if (jit_full_) {  // no compiled code runs now: start the code space again
            flush_blocks();
            dead_maps_.clear();
            jit_ras_clear();
            jit_->reset();
            jit_full_ = false;
            link = nullptr;
        }
        events_ = 0;
        const Block* b;
        if (link && link->gen == link_gen_ && link->va == s.pc) {
            b = link->block;  // chained: no TLB or block-map lookup
        } else {
            b = fetch_block();
            if (b && link) *link = {s.pc, b, link_gen_};
        }
        link = nullptr;
        // (a debugger's breakpoints or -d exec/cpu: no compiled code runs)
        // (or the PMU counting events only the interpreter counts)
        bool slow = debug_ || pmu_detail_ || (logging & (qlog::Exec | qlog::Cpu));
        if (slow) {
            if (debug_ && !debug_enter(b)) return Stop::Debug;
            if (b && (qlog::on(qlog::Exec) || qlog::on(qlog::Cpu))) log_exec(b);
        }
        if (b && s.btype && !bti_check(*b)) b = nullptr;  // (a BR/BLR's target: the exception below)
        if (b) {
            uint64_t room = budget - done;
            // (no further than a PMU counter's possible overflow: its
            // interrupt comes at the exact count)
            if (pmu_insn_deadline_ != UINT64_MAX)
                room = std::min(room, pmu_insn_deadline_ > insn_count ? pmu_insn_deadline_ - insn_count : 1);
            if (jit_ && !slow && !b->jit && ++b->hits >= jit_hot_) {
                if (!jit_->compile(*b)) jit_full_ = true;
                else if (b->jit && qlog::on(qlog::OutAsm) && qlog::in_filter(s.pc)) log_out_asm(*b);
                if (b->jit) perf_map_block(b->jit_head, b->jit_size, s.pc);
            }
            const DecodedInsn *first, *end, *d;
            if (b->jit && b->n <= room && !slow) {
                // Compiled: it runs this block and those chained after it
                // within the budget and up to the PMU's next deadline.
                uint64_t limit = room;
                if (pmu_insn_deadline_ != UINT64_MAX)
                    limit = std::min(limit, pmu_insn_deadline_ > insn_count ? pmu_insn_deadline_ - insn_count : 0);
                if (b->n > limit) limit = b->n;
                ++jit_entries_;
                jit::Result r = jit_->enter(*b, s.pc, static_cast<int64_t>(limit));
                done += limit - static_cast<uint64_t>(r.remaining);  // the blocks before (counted in insn_count)
                if (r.index == jit::kUnstarted) {  // stopped at a block's head: s.pc is the next
                    s.pc = block_va_;
                    cur_block_len_ = 0;
                    link = std::exchange(jit_link_, nullptr);
                    continue;
                }
                b = jit_block_;
                first = b->insns.data();
                end = first + b->n;
                d = first + r.index;
            } else {
                ++interp_blocks_;
                if (!b->jit) ++interp_cold_;
                else if (b->n > room) ++interp_room_;
                first = b->insns.data();
                cur_block_len_ = b->n;
                cur_block_br_ = b->insns.back().br_before;
                end = first + (b->n <= room ? b->n : room);
                block_va_ = s.pc;
                d = first;
                if (pmu_detail_) d = run_counting(d, end, first, b->fused);
                else while (d != end && !d->handler(*this, *d)) ++d;
            }
            uint64_t len = b->n;
            s.pc = block_va_ + 4 * static_cast<uint64_t>(d - first);  // the stopping (or next) instruction
            // An instruction that raised a synchronous exception did not retire.
            bool faulted = events_ & (kEvException | kEvDebug);
            uint64_t n = static_cast<uint64_t>(d - first) + (d != end && !faulted ? 1 : 0);
            if (guest_stepping_) {  // the stepped instruction retired: the step is pending now
                guest_stepping_ = false;
                if (!faulted) {
                    uint32_t w = first->insn;
                    s.ss = false;
                    step_isv_ = true;
                    step_ex_ = ((w >> 24) & 0x3f) == 0x08 && !((w >> 23) & 1) && ((w >> 22) & 1);  // a load-exclusive
                }
            }
            bool all = n == len;
            if (all && b->fused) ++n;  // the B.cond fused into the last entry
            cur_block_len_ = 0;
            done += n;
            insn_count += n;
            // Branches retired (BR_RETIRED): those before d, all of them
            // when the block ran to its end, and d when it branched (below).
            branch_count += d - first < static_cast<ptrdiff_t>(len) ? d->br_before : b->branches;
            if (!events_) {
                if (all) link = &b->links[0];
                continue;
            }
            if (events_ == kEvBranch) {  // the common case: a taken branch
                ++branch_count;
                // (a fused compare-and-branch also "branches" when the
                // condition fails: to the instruction after the B.cond)
                link = &b->links[next_pc_ == s.pc + (b->fused ? 8 : 4) ? 0 : 1];
                s.pc = next_pc_;
                continue;
            }
        }
        if (events_ & kEvDebug) return Stop::Debug;  // (s.pc: the instruction, not retired)
        if (events_ & kEvException) {
            last_ec = pend_ec_;
            last_iss = pend_iss_;
            last_far = pend_far_valid_ ? pend_far_ : 0;
            if (stop_on_exception) {
                if (pending_next_) s.pc += 4;
                return Stop::Exception;
            }
            take_exception();
            done += 1;  // the budget still moves on, or a fault loop never returns
            continue;
        }
        if (events_ & kEvBranch) ++branch_count;  // only branch instructions branch
        s.pc = (events_ & kEvBranch) ? next_pc_ : s.pc + 4;
        if (events_ & kEvWfi) return Stop::Wfi;
        if (events_ & kEvTimer) return Stop::Budget;
    }
    return Stop::Budget;
}

}  // namespace armvm

namespace armvm {

// ---- debugging from outside the guest (the gdbstub)

void Cpu::set_debug(std::vector<uint64_t> breakpoints, std::vector<Watchpoint> watchpoints, bool step) {
    bool watched_before = debug_ && !debug_->watches.empty();
    if (breakpoints.empty() && watchpoints.empty() && !step && !guest_armed_) {
        debug_.reset();
    } else {
        if (!debug_) debug_ = std::make_unique<DebugCtl>();
        std::sort(breakpoints.begin(), breakpoints.end());
        breakpoints.erase(std::unique(breakpoints.begin(), breakpoints.end()), breakpoints.end());
        debug_->bps = std::move(breakpoints);
        debug_->watches = std::move(watchpoints);
        debug_->step = step;
        debug_->stop = {};
    }
    // Watched pages leave (or come back to) the TLB's inline hits.
    if (watched_before || (debug_ && !debug_->watches.empty())) {
        tlb_.flush_all();
        links_stale();
        mode_changed();
    }
}

Cpu::DebugStop Cpu::take_debug_stop() {
    if (!debug_) return {};
    DebugStop r = debug_->stop;
    debug_->stop = {};
    return r;
}

void Cpu::post_debug_stop(const DebugStop& stop) {
    if (!debug_) debug_ = std::make_unique<DebugCtl>();
    debug_->stop = stop;
}

bool Cpu::debug_exceptions_enabled() const {
    if ((s.oslsr_el1 & 2) || (s.osdlr_el1 & 1)) return false;  // the OS lock, the double lock
    if (s.el == 0) return true;
    return ((s.mdscr_el1 >> 13) & 1) && !(s.daif & 0x200);  // KDE, PSTATE.D
}

void Cpu::guest_debug_changed() {
    bool locked = (s.oslsr_el1 & 2) || (s.osdlr_el1 & 1), mde = (s.mdscr_el1 >> 15) & 1;
    bool bp = false;
    unsigned nbp = ((ids.id_aa64dfr0 >> 12) & 0xf) + 1, nwp = ((ids.id_aa64dfr0 >> 20) & 0xf) + 1;
    for (unsigned i = 0; i < nbp; ++i) bp = bp || (s.dbgbcr[i] & 1);
    // The watchpoints (unlinked; LSC and PAC non-zero): the bytes BAS
    // selects of the doubleword (word, when DBGWVR[2] is set) at DBGWVR, or
    // with MASK the naturally aligned 2^MASK bytes around it.
    std::vector<DebugCtl::GuestWatch> watches;
    for (unsigned i = 0; i < nwp && mde && !locked; ++i) {
        uint64_t wcr = s.dbgwcr[i], wvr = s.dbgwvr[i] & ~3ull;
        unsigned lsc = (wcr >> 3) & 3, pac = (wcr >> 1) & 3, bas = (wcr >> 5) & 0xff, mask = (wcr >> 24) & 0x1f;
        if (!(wcr & 1) || !lsc || !pac || ((wcr >> 13) & 7)) continue;
        // (linked: only while its context breakpoint matches; CONTEXTIDR
        // and DBGBCR writes come back here)
        if (((wcr >> 20) & 1) && !linked_context_matches((wcr >> 16) & 0xf)) continue;
        DebugCtl::GuestWatch w{0, 0, (lsc & 1) != 0, (lsc & 2) != 0, pac};
        if (mask >= 3) {
            w.lo = wvr & ~((1ull << mask) - 1);
            w.hi = w.lo + (1ull << mask);
        } else {
            uint64_t base = wvr & ~7ull;
            if (wvr & 4) bas = (bas & 0xf) << 4;  // (a word-aligned address: BAS[3:0] for its four bytes)
            if (!bas) continue;
            unsigned first = static_cast<unsigned>(__builtin_ctz(bas)), last = 31 - static_cast<unsigned>(__builtin_clz(bas));
            w.lo = base + first;  // (a BAS with holes watches its span)
            w.hi = base + last + 1;
        }
        watches.push_back(w);
    }
    bool armed = !locked && ((s.mdscr_el1 & 1) || (mde && bp) || !watches.empty());
    bool watches_changed = debug_ ? debug_->guest_watches != watches : !watches.empty();
    if (armed == guest_armed_ && !watches_changed) return;
    guest_armed_ = armed;
    if (armed && !debug_) debug_ = std::make_unique<DebugCtl>();
    if (debug_) debug_->guest_watches = std::move(watches);
    if (!armed && debug_ && debug_->bps.empty() && debug_->watches.empty() && !debug_->step &&
        debug_->stop.kind == DebugStop::Kind::None)
        debug_.reset();
    if (watches_changed) {  // watched pages leave (or come back to) the TLB's inline hits
        tlb_.flush_all();
        links_stale();
        mode_changed();
    }
    events_ |= kEvFlush;  // (compiled code stops: the next block goes through debug_enter)
}

bool Cpu::guest_debug_enter(const Block*& b, bool& one) {
    if (!debug_exceptions_enabled()) return true;
    uint64_t pc = s.pc;
    if (s.mdscr_el1 & 1) {  // software step active (ARM ARM D2.12)
        if (!s.ss) {  // active-pending: the exception before anything runs
            uint32_t iss = 0x22 | (step_isv_ ? 1u << 24 : 0) | (step_isv_ && step_ex_ ? 1u << 6 : 0);
            step_isv_ = step_ex_ = false;
            raise(s.el == 0 ? Ec::SoftStepLower : Ec::SoftStepSame, iss);
            b = nullptr;
            return false;
        }
        one = true;  // active-not-pending: this instruction alone, then pending
        guest_stepping_ = true;
    }
    if (!((s.mdscr_el1 >> 15) & 1)) return true;  // MDE: breakpoints
    unsigned nbp = ((ids.id_aa64dfr0 >> 12) & 0xf) + 1;
    uint64_t end = b ? pc + 4 * (uint64_t{b->n} + (b->fused ? 1 : 0)) : pc + 4;
    unsigned nctx = ((ids.id_aa64dfr0 >> 28) & 0xf) + 1;
    for (unsigned i = 0; i < nbp; ++i) {
        uint64_t bcr = s.dbgbcr[i];
        // Enabled, for this EL (PMC 0b01 EL1, 0b10 EL0, 0b11 both; SSC and
        // HMC 0), of a type generating events by itself: an unlinked
        // (BT 0b0000) or linked (0b0001) address match with BAS non-zero
        // (0b1111 for A64), or on a context-aware one an unlinked
        // CONTEXTIDR match (0b0010). Linked context types (0b0011) only
        // qualify others; the VMID types need EL2.
        unsigned bt = (bcr >> 20) & 0xf;
        if (!(bcr & 1) || ((bcr >> 13) & 7) || bt > 2) continue;
        unsigned pmc = (bcr >> 1) & 3;
        if (!(pmc & (s.el == 0 ? 2 : 1))) continue;
        if (bt == 2) {
            if (i + nctx >= nbp && static_cast<uint32_t>(s.contextidr_el1) == static_cast<uint32_t>(s.dbgbvr[i])) {
                raise(s.el == 0 ? Ec::BreakpointLower : Ec::BreakpointSame, 0x22, false, 0, true);
                b = nullptr;
                return false;
            }
            continue;
        }
        if (!((bcr >> 5) & 0xf) || (bt == 1 && !linked_context_matches((bcr >> 16) & 0xf))) continue;
        uint64_t va = s.dbgbvr[i] & 0x1fffffffffffcull;  // VA[48:2]
        if (va == (pc & 0x1fffffffffffcull)) {
            // (FAR is UNKNOWN for a breakpoint: QEMU writes 0)
            raise(s.el == 0 ? Ec::BreakpointLower : Ec::BreakpointSame, 0x22, false, 0, true);
            b = nullptr;
            return false;
        }
        if (va > (pc & 0x1fffffffffffcull) && va < (end & 0x1fffffffffffcull)) one = true;  // later in this block
    }
    return true;
}

bool Cpu::linked_context_matches(unsigned lbn) const {
    unsigned nbp = ((ids.id_aa64dfr0 >> 12) & 0xf) + 1, nctx = ((ids.id_aa64dfr0 >> 28) & 0xf) + 1;
    // (a link to a breakpoint that is not context-aware is CONSTRAINED
    // UNPREDICTABLE: as if disabled, QEMU's choice too)
    if (lbn >= nbp || lbn + nctx < nbp) return false;
    uint64_t bcr = s.dbgbcr[lbn];
    return (bcr & 1) && ((bcr >> 20) & 0xf) == 3 &&
           static_cast<uint32_t>(s.contextidr_el1) == static_cast<uint32_t>(s.dbgbvr[lbn]);
}

bool Cpu::debug_enter(const Block*& b) {
    DebugCtl& d = *debug_;
    uint64_t pc = s.pc;
    if (b && std::binary_search(d.bps.begin(), d.bps.end(), pc)) {
        d.stop = {DebugStop::Kind::Breakpoint, pc};
        return false;
    }
    bool one = false;
    if (guest_armed_ && !guest_debug_enter(b, one)) return true;  // (the exception is taken next)
    if (d.step) d.stop = {DebugStop::Kind::Step, pc};  // reported after this instruction
    if (!b) return true;
    one = one || d.step || !d.watches.empty();
    if (!one) {  // a breakpoint inside the block: one instruction at a time up to it
        uint64_t end = pc + 4 * (uint64_t{b->n} + (b->fused ? 1 : 0));
        auto it = std::upper_bound(d.bps.begin(), d.bps.end(), pc);
        one = it != d.bps.end() && *it < end;
    }
    if (!one) return true;
    const DecodedInsn& first = b->insns[0];
    // (a compare fused with its B.cond is two instructions: run it alone)
    DecodedInsn i = b->n == 1 && b->fused ? translate_insn(first.insn, a64::decode(first.insn)) : first;
    i.pcoff = 0;
    d.one.pa = b->pa;
    d.one.insns.assign(1, i);
    d.one.n = 1;
    d.one.fused = false;
    d.one.ends_in_branch = is_branch(a64::decode(i.insn));
    d.one.branches = d.one.ends_in_branch ? 1 : 0;
    d.one.insns[0].br_before = 0;
    d.one.links[0] = d.one.links[1] = {};
    b = &d.one;
    return true;
}

bool Cpu::page_watched(uint64_t va) const {
    uint64_t page = va & kPageMask;
    for (const Watchpoint& w : debug_->watches)
        if (w.addr < page + 0x1000 && w.addr + w.len > page) return true;
    for (const auto& w : debug_->guest_watches)
        if (w.lo < page + 0x1000 && w.hi > page) return true;
    return false;
}

bool Cpu::watch_hit(uint64_t va, unsigned size, bool write) {
    for (const Watchpoint& w : debug_->watches) {
        if (!(w.kind & (write ? Watchpoint::Write : Watchpoint::Read))) continue;
        if (va < w.addr + w.len && va + size > w.addr) {
            debug_->stop = {DebugStop::Kind::Watch, w.addr, w.kind};
            events_ |= kEvDebug;
            return true;
        }
    }
    // The guest's (ARM ARM D2.10): MDE, debug exceptions enabled here, the
    // EL and the kind of access; the access is not made, ELR is the
    // instruction.
    if (debug_->guest_watches.empty() || !((s.mdscr_el1 >> 15) & 1) || !debug_exceptions_enabled()) return false;
    for (const auto& w : debug_->guest_watches) {
        if (!(write ? w.store : w.load) || !(w.pac & (s.el == 0 ? 2 : 1))) continue;
        if (va < w.hi && va + size > w.lo) {
            raise(s.el == 0 ? Ec::WatchpointLower : Ec::WatchpointSame, 0x22 | (write ? 1u << 6 : 0), false,
                  std::max(va, w.lo), true);
            return true;
        }
    }
    return false;
}

bool Cpu::debug_translate(uint64_t va, uint64_t& pa) {
    mmu::Regime r = regime();
    mmu::Translation t;
    mmu::Fault f;
    if (!mmu::walk(r, bus_, mmu::strip_tag(r, va), t, f)) return false;
    pa = t.pa_page | (va & 0xfff);
    return true;
}

void Cpu::set_pstate(uint32_t v) {
    s.nzcv = v & 0xf0000000;
    s.daif = v & 0x3c0;
    if (has_pan()) s.pan = (v >> 22) & 1;
    if (has_dit()) s.dit = (v >> 24) & 1;
    if (has_ssbs()) s.ssbs = (v >> 12) & 1;
    if (has_uao()) s.uao = (v >> 23) & 1;
    if (has_bti()) s.btype = (v >> 10) & 3;
    unsigned el = (v >> 2) & 3;
    if (el <= 1) s.el = el;  // (armvm's CPU has no EL2/EL3)
    s.spsel = v & 1;
    mode_changed();
}

}  // namespace armvm

namespace armvm {

std::string Cpu::dump_state(bool fpu) const {
    std::string out;
    char buf[96];
    std::snprintf(buf, sizeof buf, " PC=%016llx ", static_cast<unsigned long long>(s.pc));
    out += buf;
    for (int i = 0; i < 31; ++i) {
        std::snprintf(buf, sizeof buf, "X%02d=%016llx%s", i, static_cast<unsigned long long>(s.x[i]),
                      (i + 2) % 3 ? " " : "\n");
        out += buf;
    }
    std::snprintf(buf, sizeof buf, " SP=%016llx\n", static_cast<unsigned long long>(sp()));
    out += buf;
    uint32_t psr = pstate();
    std::snprintf(buf, sizeof buf, "PSTATE=%08x %c%c%c%c EL%u%c", psr, psr & kN ? 'N' : '-', psr & kZ ? 'Z' : '-',
                  psr & kC ? 'C' : '-', psr & kV ? 'V' : '-', s.el, s.spsel ? 'h' : 't');
    out += buf;
    if (!fpu) return out + "\n";
    unsigned fpen = (s.cpacr_el1 >> 20) & 3;
    if (!(fpen == 3 || (fpen == 1 && s.el == 1))) return out + "    FPU disabled\n";
    std::snprintf(buf, sizeof buf, "     FPCR=%08x FPSR=%08x\n", s.fpcr, s.fpsr);
    out += buf;
    for (int i = 0; i < 32; ++i) {
        std::snprintf(buf, sizeof buf, "Q%02d=%016llx:%016llx%s", i, static_cast<unsigned long long>(s.v[i][1]),
                      static_cast<unsigned long long>(s.v[i][0]), i & 1 ? "\n" : " ");
        out += buf;
    }
    return out;
}

}  // namespace armvm

namespace armvm {

// -d exec, -d cpu: the block about to run, as QEMU's log_cpu_exec prints a TB.
void Cpu::log_exec(const Block* b) {
    if (!qlog::in_filter(s.pc)) return;
    std::string m;
    if (qlog::on(qlog::Exec))
        m = fmt("Trace %d: %p [%08x/%016llx/%08x/%08x] %s\n", index, static_cast<const void*>(b), 0u,
                static_cast<unsigned long long>(s.pc), static_cast<unsigned>(s.el << 4 | (s.spsel ? 1 : 0)), 0u,
                qlog::symbol(s.pc).c_str());
    if (qlog::on(qlog::Cpu)) m += dump_state(qlog::on(qlog::Fpu));
    qlog::write(m);
}

}  // namespace armvm

namespace armvm {

bool Cpu::copy_virt(uint64_t va, uint8_t* p, size_t n, bool write) {
    while (n) {
        uint64_t pa;
        if (!debug_translate(va, pa)) return false;
        size_t chunk = std::min<size_t>(n, 0x1000 - (va & 0xfff));
        uint64_t off = pa - ram_base_;
        if (ram_host_ && off < ram_size_ && chunk <= ram_size_ - off) {
            if (write) {
                std::memcpy(ram_host_ + off, p, chunk);
                cluster_->ram_written(ram_base_, off, chunk);  // (code there is decoded again)
            } else {
                std::memcpy(p, ram_host_ + off, chunk);
            }
        } else {
            for (size_t i = 0; i < chunk; ++i) {
                uint64_t v = p[i];
                if (!(write ? bus_.write(pa + i, 1, v, who()) : bus_.read(pa + i, 1, v, who()))) return false;
                if (!write) p[i] = static_cast<uint8_t>(v);
            }
        }
        va += chunk;
        p += chunk;
        n -= chunk;
    }
    return true;
}

}  // namespace armvm
