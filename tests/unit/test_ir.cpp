// The IR (cpu-arm64/ir/): what its passes make of typical sequences, and
// runs of random data-processing instructions (immediate; logical and
// add/subtract, shifted and extended register, with and without NZCV; 1-,
// 2- and 3-source) and of the AdvSIMD forms the IR has, evaluated as IR,
// before and after the passes, against the interpreter running the same
// words (which runs the same semantics templates on the CPU state).
#include <catch2/catch.hpp>

#include <random>

#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/ir/ir.hpp"
#include "cpu-arm64/ir/sem.hpp"
#include "cpu-arm64/translate/executors.hpp"
#include "fake_bus.hpp"

using namespace armvm;

namespace {

// The IR of `words` (as at offsets 0, 4, ... of a block); false if one of
// them is not expressed. A condition read the run cannot give from the
// host flags starts another run (as the JIT's ir_take does).
bool build(std::vector<ir::Run>& runs, const std::vector<uint32_t>& words) {
    runs.assign(1, {});
    for (size_t k = 0; k < words.size(); ++k) {
        for (int again = 0;; ++again) {
            ir::Run& run = runs.back();
            size_t mark = run.code.size();
            ir::Builder b(run);
            b.start(static_cast<uint32_t>(k), static_cast<int64_t>(4 * k));
            if (a64::sem::run(b, words[k]) == a64::sem::Outcome::Done && b.ok) break;
            if (!b.fresh || again) return false;
            run.code.resize(mark);
            runs.emplace_back();
        }
    }
    return true;
}

bool build(ir::Run& run, const std::vector<uint32_t>& words) {
    std::vector<ir::Run> runs;
    if (!build(runs, words) || runs.size() != 1) return false;
    run = runs[0];
    return true;
}

// The interpreter's executor for a word of those groups.
void interpret(Cpu& c, uint32_t w) {
    using a64::Op;
    switch (a64::decode(w)) {
    case Op::ADR: a64::exec_ADR(c, w); break;
    case Op::ADRP: a64::exec_ADRP(c, w); break;
    case Op::ADD_SUB_imm: a64::exec_ADD_SUB_imm(c, w); break;
    case Op::LOGICAL_imm: a64::exec_LOGICAL_imm(c, w); break;
    case Op::MOVE_wide: a64::exec_MOVE_wide(c, w); break;
    case Op::BITFIELD: a64::exec_BITFIELD(c, w); break;
    case Op::EXTR: a64::exec_EXTR(c, w); break;
    case Op::LOGICAL_reg: a64::exec_LOGICAL_reg(c, w); break;
    case Op::ADD_SUB_shift: a64::exec_ADD_SUB_shift(c, w); break;
    case Op::ADD_SUB_ext: a64::exec_ADD_SUB_ext(c, w); break;
    case Op::DP_3src: a64::exec_DP_3src(c, w); break;
    case Op::DP_1src: a64::exec_DP_1src(c, w); break;
    case Op::DP_2src: a64::exec_DP_2src(c, w); break;
    case Op::ADC_SBC: a64::exec_ADC_SBC(c, w); break;
    case Op::CSEL: a64::exec_CSEL(c, w); break;
    case Op::CCMP_reg: a64::exec_CCMP_reg(c, w); break;
    case Op::CCMP_imm: a64::exec_CCMP_imm(c, w); break;
    default: FAIL("not a word of the IR's groups"); break;
    }
}

size_t count(const ir::Run& r, ir::Op op) {
    size_t n = 0;
    for (const auto& i : r.code) n += i.op == op;
    return n;
}

}  // namespace

TEST_CASE("IR: a constant built by MOVZ and MOVKs is one constant written once") {
    ir::Run run;
    REQUIRE(build(run, {0xd2a24680,    // movz x0, #0x1234, lsl #16
                        0xf2800ac0,    // movk x0, #0x56
                        0xf2c00020,    // movk x0, #1, lsl #32
                        0xf2e00040}));  // movk x0, #2, lsl #48
    ir::optimize(run);
    INFO(run.dump());
    CHECK(count(run, ir::Op::Set) == 1);
    CHECK(count(run, ir::Op::Get) == 0);
    CHECK(count(run, ir::Op::Const) == 1);
    uint64_t x[33] = {};
    uint32_t nzcv = 0;
    ir::evaluate(run, x, nzcv, 0);
    CHECK(x[0] == 0x0002000112340056ull);
}

TEST_CASE("IR: ADRP then ADD of the same register: the page is not written, the sum is") {
    ir::Run run;
    REQUIRE(build(run, {0x90000010,     // adrp x16, #0
                        0x91004210}));  // add x16, x16, #0x10
    ir::optimize(run);
    INFO(run.dump());
    CHECK(count(run, ir::Op::Set) == 1);
    CHECK(count(run, ir::Op::Get) == 0);
    uint64_t x[33] = {};
    uint32_t nzcv = 0;
    ir::evaluate(run, x, nzcv, 0x400ff8);
    CHECK(x[16] == 0x400010);
}

TEST_CASE("IR: identities leave no operation; 32-bit ones still zero-extend") {
    ir::Run run;
    REQUIRE(build(run, {0x91000021,     // add x1, x1, #0 (mov x1, x1)
                        0xd340fc42,     // lsr x2, x2, #0
                        0x11000063}));  // add w3, w3, #0
    ir::optimize(run);
    INFO(run.dump());
    CHECK(count(run, ir::Op::Add) == 1);  // only the 32-bit one
    CHECK(count(run, ir::Op::Lshr) == 0);
    uint64_t x[33] = {};
    x[1] = 0x1111222233334444, x[2] = 0x5555666677778888, x[3] = 0xffffffff80000001;
    uint32_t nzcv = 0;
    ir::evaluate(run, x, nzcv, 0);
    CHECK(x[1] == 0x1111222233334444);
    CHECK(x[2] == 0x5555666677778888);
    CHECK(x[3] == 0x80000001);
}

TEST_CASE("IR: NZCV that a later instruction of the run sets again is not computed; the last is, into XZR too") {
    ir::Run run;
    REQUIRE(build(run, {0xeb01001f,     // cmp x0, x1 (subs xzr, x0, x1)
                        0xab030042,     // adds x2, x2, x3
                        0x7100047f}));  // cmp w3, #1
    ir::optimize(run);
    INFO(run.dump());
    CHECK(count(run, ir::Op::SubS) == 1);  // the last compare's, kept though its result goes nowhere
    CHECK(count(run, ir::Op::AddS) == 0);  // the ADDS: a plain add
    CHECK(count(run, ir::Op::Add) == 1);
    uint64_t x[33] = {};
    x[2] = 5, x[3] = 0;
    uint32_t nzcv = 0;
    ir::evaluate(run, x, nzcv, 0);
    CHECK(x[2] == 5);
    CHECK(nzcv == 0x80000000);  // 0 - 1: N, borrow (C clear)
}

TEST_CASE("IR: a condition read right after the compare is in its run; after another instruction, first in a new one") {
    ir::Run run;
    REQUIRE(build(run, {0xeb01001f,     // cmp x0, x1
                        0x9a840062}));  // csel x2, x3, x4, eq
    ir::optimize(run);
    INFO(run.dump());
    CHECK(count(run, ir::Op::SubS) == 1);
    CHECK(count(run, ir::Op::Cond) == 1);
    CHECK(count(run, ir::Op::Select) == 1);
    uint64_t x[33] = {};
    x[0] = x[1] = 7, x[3] = 33, x[4] = 44;
    uint32_t nzcv = 0;
    ir::evaluate(run, x, nzcv, 0);
    CHECK(x[2] == 33);
    CHECK(nzcv == 0x60000000);  // Z, C
    std::vector<ir::Run> runs;
    REQUIRE(build(runs, {0xeb01001f,     // cmp x0, x1
                         0x91000529,     // add x9, x9, #1
                         0x9a840062}));  // csel x2, x3, x4, eq
    CHECK(runs.size() == 2);
    CHECK(count(runs[1], ir::Op::Cond) == 1);
    CHECK(runs[1].code[0].op == ir::Op::Cond);
}

TEST_CASE("IR: branches end a run; taken or not as the interpreter decides") {
    // (word, X0, taken?) at VA 0x1000 + 4 (after a SUBS X0, X0, #1)
    struct Case {
        uint32_t word;
        uint64_t x0;
        bool taken;
    } cases[] = {
        {0xb4000100, 1, true},    // cbz x0, +0x20 (X0 becomes 0)
        {0xb5000100, 1, false},   // cbnz x0, +0x20
        {0x34000100, 0x100000001, true},  // cbz w0, +0x20 (W0 becomes 0)
        {0x37080100, 3, true},    // tbnz w0, #1, +0x20 (2)
        {0xb6f80100, 1, true},    // tbz x0, #63, +0x20
        {0x54000100, 1, true},    // b.eq +0x20 (the SUBS gave 0)
        {0x5400010b, 1, false},   // b.lt +0x20
        {0x14000008, 5, true},    // b +0x20
    };
    for (const Case& t : cases) {
        INFO(std::hex << t.word);
        ir::Run run;
        REQUIRE(build(run, {0xf1000400, t.word}));  // subs x0, x0, #1
        CHECK((run.code.back().op == ir::Op::Branch));
        ir::optimize(run);
        uint64_t x[33] = {};
        x[0] = t.x0;
        uint32_t nzcv = 0;
        uint64_t to = 0;
        ir::evaluate(run, x, nzcv, 0x1000, &to);
        CHECK(to == (t.taken ? 0x1024u : 0u));
    }
    ir::Run run;  // BL: X30 written, then the call
    REQUIRE(build(run, {0x94000004}));  // bl +0x10
    ir::optimize(run);
    CHECK((run.code.back().op == ir::Op::Call));
    uint64_t x[33] = {};
    uint32_t nzcv = 0;
    uint64_t to = 0;
    ir::evaluate(run, x, nzcv, 0x2000, &to);
    CHECK(x[30] == 0x2004);
    CHECK(to == 0x2010);
}

TEST_CASE("IR: an access ends its run; a pair's one check covers both halves; a write before it stays") {
    ir::Run run;
    REQUIRE(build(run, {0x91000421,     // add x1, x1, #1
                        0xa9810801}));  // stp x1, x2, [x0, #16]!
    ir::optimize(run);
    INFO(run.dump());
    const ir::Inst* store = nullptr;
    for (const auto& i : run.code)
        if (i.op == ir::Op::Store) store = &i;
    REQUIRE(store);
    CHECK(store->aux == 16);  // (both halves checked at once)
    CHECK(count(run, ir::Op::Store2) == 1);
    uint64_t x[33] = {};
    x[0] = 8, x[1] = 0x1111, x[2] = 0x2222;
    uint32_t nzcv = 0;
    std::vector<uint8_t> mem(64);
    ir::evaluate(run, x, nzcv, 0, nullptr, &mem);
    CHECK(x[0] == 24);
    CHECK(mem[24] == 0x12);  // X1 + 1
    CHECK(mem[32] == 0x22);
    // (ADD X1 then LDR X1: the ADD's write is kept, for a fault to show)
    REQUIRE(build(run, {0x91000421,     // add x1, x1, #1
                        0xf9400001}));  // ldr x1, [x0]
    ir::optimize(run);
    INFO(run.dump());
    CHECK(count(run, ir::Op::Set) == 2);
}

TEST_CASE("IR: random runs, before and after the passes, as the interpreter runs them") {
    std::mt19937_64 rng(12345);
    auto r = [&](unsigned n) { return static_cast<uint32_t>(rng() % n); };
    auto reg = [&] { return r(8) == 0 ? 31u : r(6); };  // few registers: values flow between them
    auto field = [&](unsigned n) { return r(4) == 0 ? (r(2) ? n - 1 : 0u) : r(n); };  // (edges often)
    FakeBus bus{64 * 1024};
    Cpu cpu{bus};
    cpu.set_ram_window(0, bus.ram.data(), bus.ram.size());
    cpu.stop_on_exception = true;
    unsigned built = 0, split = 0;
    for (int t = 0; t < 4000; ++t) {
        std::vector<uint32_t> words;
        size_t len = 1 + r(8);
        while (words.size() < len) {
            uint32_t sf = r(2), w = 0;
            switch (r(16)) {
            case 0: w = 0x11000000 | sf << 31 | r(2) << 30 | r(2) << 22 | r(4096) << 10 | reg() << 5 | reg(); break;
            case 1: w = 0x12000000 | sf << 31 | r(3) << 29 | (sf ? r(2) : 0) << 22 | r(64) << 16 | r(64) << 10 |
                        reg() << 5 | reg(); break;
            case 2: w = 0x12800000 | sf << 31 | (r(3) == 0 ? 0u : r(2) + 2) << 29 | r(sf ? 4 : 2) << 21 |
                        r(65536) << 5 | reg(); break;
            case 3: w = 0x13000000 | sf << 31 | r(3) << 29 | sf << 22 | field(sf ? 64 : 32) << 16 |
                        field(sf ? 64 : 32) << 10 | reg() << 5 | reg(); break;
            case 4: w = 0x13800000 | sf << 31 | sf << 22 | reg() << 16 | field(sf ? 64 : 32) << 10 | reg() << 5 | reg();
                break;
            case 5: w = 0x10000000 | r(2) << 31 | r(4) << 29 | r(1 << 19) << 5 | reg(); break;
            case 6: w = 0x0a000000 | sf << 31 | r(3) << 29 | r(4) << 22 | r(2) << 21 | reg() << 16 |
                        field(sf ? 64 : 32) << 10 | reg() << 5 | reg(); break;  // logical (shifted register)
            case 7: w = 0x0b000000 | sf << 31 | r(2) << 30 | r(3) << 22 | reg() << 16 | field(sf ? 64 : 32) << 10 |
                        reg() << 5 | reg(); break;  // add/sub (shifted register)
            case 8: w = 0x0b200000 | sf << 31 | r(2) << 30 | reg() << 16 | r(8) << 13 | r(5) << 10 | reg() << 5 |
                        reg(); break;  // add/sub (extended register)
            case 9: w = 0x1b000000 | sf << 31 | (sf ? r(8) : 0u) << 21 | reg() << 16 | r(2) << 15 | reg() << 10 |
                        reg() << 5 | reg(); break;  // 3-source (MADD ... UMULH)
            case 10: w = 0x5ac00000 | sf << 31 | r(6) << 10 | reg() << 5 | reg(); break;  // RBIT ... CLS
            case 11: w = 0x1ac00000 | sf << 31 | reg() << 16 | (r(2) ? 2 + r(2) : 8 + r(4)) << 10 | reg() << 5 | reg();
                break;  // UDIV, SDIV, LSLV ... RORV
            case 12: w = 0x1a000000 | sf << 31 | r(4) << 29 | reg() << 16 | reg() << 5 | reg(); break;  // ADC ... SBCS
            case 13: w = 0x1a800000 | sf << 31 | r(2) << 30 | reg() << 16 | r(16) << 12 | r(2) << 10 | reg() << 5 |
                         reg(); break;  // CSEL, CSINC, CSINV, CSNEG
            case 14: w = 0x3a400000 | sf << 31 | r(2) << 30 | reg() << 16 | r(16) << 12 | r(2) << 11 | reg() << 5 |
                         r(16); break;  // CCMN, CCMP (register, immediate)
            default: w = 0xd2800000 | r(65536) << 5 | reg(); break;  // movz
            }
            words.push_back(w);
        }
        std::vector<ir::Run> runs;
        if (!build(runs, words)) continue;  // (a reserved encoding: UNDEFINED, not IR)
        ++built;
        split += runs.size() > 1;
        uint64_t init[33];
        // (edge values often: zero divisors, MIN / -1, W registers' halves)
        static const uint64_t edges[] = {0, 1, 2, ~uint64_t{0}, uint64_t{1} << 63, 0xffffffff, 0x80000000,
                                         0xffffffff80000000};
        for (uint64_t& v : init) v = r(3) == 0 ? edges[r(8)] : rng();
        const uint32_t nzcv0 = r(16) << 28;
        const uint64_t va = 0x10000 + 4 * r(1024);
        // the interpreter: each word as its executor runs it
        for (unsigned i = 0; i < 31; ++i) cpu.s.x[i] = init[i];
        cpu.s.sp_el1 = init[32];
        cpu.s.el = 1, cpu.s.spsel = true;
        cpu.s.nzcv = nzcv0;
        for (size_t k = 0; k < words.size(); ++k) {
            cpu.s.pc = va + 4 * k;
            interpret(cpu, words[k]);
        }
        // the runs in turn, as built and as optimised
        uint64_t plain[33], opt[33];
        std::copy(std::begin(init), std::end(init), plain);
        std::copy(std::begin(init), std::end(init), opt);
        uint32_t plain_nzcv = nzcv0, opt_nzcv = nzcv0;
        std::string dumps;
        for (const ir::Run& run : runs) {
            ir::evaluate(run, plain, plain_nzcv, va);
            ir::Run o = run;
            ir::optimize(o);
            ir::evaluate(o, opt, opt_nzcv, va);
            dumps += run.dump() + "optimised:\n" + o.dump() + "--\n";
        }
        INFO("run " << t << " first word " << std::hex << words[0] << "\n" << dumps);
        for (unsigned i = 0; i < 31; ++i) {
            INFO("x" << i);
            REQUIRE(plain[i] == cpu.s.x[i]);
            REQUIRE(opt[i] == cpu.s.x[i]);
        }
        REQUIRE(plain[32] == cpu.s.sp_el1);
        REQUIRE(opt[32] == cpu.s.sp_el1);
        REQUIRE(plain_nzcv == cpu.s.nzcv);
        REQUIRE(opt_nzcv == cpu.s.nzcv);
    }
    CHECK(built > 3000);
    CHECK(split > 100);  // (condition reads that started another run)
}

TEST_CASE("IR: random runs of the AdvSIMD forms it has, before and after the passes, as the interpreter runs them") {
    // Three-same's bitwise forms (BSL/BIT/BIF read their destination),
    // ADD/SUB, MUL/MLA/MLS, compares and pairwise forms, two-register misc's
    // compares with zero, ABS, NEG, NOT, the modified immediates,
    // SSHR/USHR/SHL/SHRN/[SU]SHLL, three-different's widening forms, the
    // copies (DUP, INS, SMOV, UMOV) and FMOV (general), every size, both
    // widths, over four registers so values flow through VGet/VSet
    // forwarding and dead writes.
    std::mt19937_64 rng(777);
    auto r = [&](unsigned n) { return static_cast<uint32_t>(rng() % n); };
    FakeBus bus{64 * 1024};
    Cpu cpu{bus};
    cpu.set_ram_window(0, bus.ram.data(), bus.ram.size());
    cpu.stop_on_exception = true;
    cpu.s.cpacr_el1 = 3u << 20;  // (FPEN)
    static const unsigned same[] = {0x03, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x17};
    static const unsigned diff[] = {0x0, 0x1, 0x2, 0x3, 0x8, 0xa, 0xc};
    static const unsigned misc[][2] = {{0, 8}, {1, 8}, {0, 9}, {1, 9}, {0, 0xa}, {0, 0xb}, {1, 0xb}, {1, 5}};
    unsigned vector_ops = 0;
    for (int t = 0; t < 3000; ++t) {
        std::vector<uint32_t> words;
        size_t len = 1 + r(8);
        while (words.size() < len) {
            uint32_t q = r(2), size = r(4);
            switch (r(7)) {
            case 0: {
                uint32_t opcode = same[r(10)], u = opcode == 0x13 || opcode == 0x17 ? 0 : r(2);  // (PMUL: not the IR's)
                uint32_t w = 0x0e200400 | q << 30 | u << 29 | size << 22 | r(4) << 16 | opcode << 11 | r(4) << 5 | r(4);
                ir::Run one;
                if (!build(one, {w})) continue;  // (a reserved combination)
                words.push_back(w);
                break;
            }
            case 6: {
                if (size == 3) continue;  // (reserved)
                words.push_back(0x0e200000 | q << 30 | r(2) << 29 | size << 22 | r(4) << 16 | diff[r(7)] << 12 |
                                r(4) << 5 | r(4));
                break;
            }
            case 1: {
                auto [u, op] = misc[r(8)];
                if (op == 5) size = 0;  // (NOT)
                else if (size == 3 && !q) continue;
                words.push_back(0x0e200800 | q << 30 | u << 29 | size << 22 | op << 12 | r(4) << 5 | r(4));
                break;
            }
            case 2: {
                uint32_t op = r(2), cmode = r(16);
                if (cmode == 15 && op && !q) continue;
                words.push_back(0x0f000400 | q << 30 | op << 29 | r(8) << 16 | cmode << 12 | r(32) << 5 | r(4));
                break;
            }
            case 3: {  // DUP, INS, SMOV, UMOV (general registers X0-X3)
                static const unsigned imm4s[] = {0, 1, 3, 5, 7};
                uint32_t op = r(4) == 0, w = 0x0e000400 | q << 30 | op << 29 | (1 + r(31)) << 16 |
                                             (op ? r(16) : imm4s[r(5)]) << 11 | r(4) << 5 | r(4);
                ir::Run one;
                if (!build(one, {w})) continue;  // (a reserved combination)
                words.push_back(w);
                break;
            }
            case 4: {  // SSHR, USHR, SHL, SHRN, SSHLL, USHLL by every amount
                static const unsigned ops[] = {0x00, 0x0a, 0x10, 0x14};
                uint32_t hsb = r(4), immh = 1u << hsb | r(1u << hsb), op = ops[r(4)];
                uint32_t w = 0x0f000400 | q << 30 | (op == 0x00 || op == 0x14 ? r(2) : 0) << 29 | immh << 19 |
                             r(8) << 16 | op << 11 | r(4) << 5 | r(4);
                ir::Run one;
                if (!build(one, {w})) continue;  // (a reserved combination)
                words.push_back(w);
                break;
            }
            default: {  // FMOV (general): W/S, X/D, X/V.D[1], either way
                static const uint32_t forms[] = {0x1e270000, 0x1e260000, 0x9e670000,
                                                 0x9e660000, 0x9eaf0000, 0x9eae0000};
                words.push_back(forms[r(6)] | r(4) << 5 | r(4));
                break;
            }
            }
        }
        ir::Run run;
        REQUIRE(build(run, words));
        ir::V128 init[32], plain[32], opt[32];
        for (auto& v : init) v = {r(4) ? rng() : r(2) * ~uint64_t{0}, r(4) ? rng() : r(2) * ~uint64_t{0}};
        for (unsigned i = 0; i < 32; ++i) {
            plain[i] = opt[i] = init[i];
            cpu.s.v[i][0] = init[i].lo, cpu.s.v[i][1] = init[i].hi;
        }
        uint64_t x[33] = {}, xo[33] = {};
        for (unsigned i = 0; i < 4; ++i) x[i] = xo[i] = cpu.s.x[i] = r(4) ? rng() : r(2) * ~uint64_t{0};
        for (uint32_t w : words) {
            switch (a64::decode(w)) {
            case a64::Op::SIMD_3SAME: a64::exec_SIMD_3SAME(cpu, w); break;
            case a64::Op::SIMD_2MISC: a64::exec_SIMD_2MISC(cpu, w); break;
            case a64::Op::SIMD_COPY: a64::exec_SIMD_COPY(cpu, w); break;
            case a64::Op::SIMD_SHIFT_IMM: a64::exec_SIMD_SHIFT_IMM(cpu, w); break;
            case a64::Op::SIMD_3DIFF: a64::exec_SIMD_3DIFF(cpu, w); break;
            case a64::Op::FP_INT_CONV: a64::exec_FP_INT_CONV(cpu, w); break;
            default: a64::exec_SIMD_MODIMM(cpu, w); break;
            }
        }
        uint32_t nzcv = 0;
        ir::evaluate(run, x, nzcv, 0, nullptr, nullptr, plain);
        ir::Run o = run;
        ir::optimize(o);
        for (const auto& i : o.code) vector_ops += ir::is_vec(i.op);
        ir::evaluate(o, xo, nzcv, 0, nullptr, nullptr, opt);
        for (unsigned i = 0; i < 4; ++i) {
            INFO("x" << i << "\n" << run.dump() << "optimised:\n" << o.dump());
            REQUIRE(x[i] == cpu.s.x[i]);
            REQUIRE(xo[i] == cpu.s.x[i]);
        }
        INFO("run " << t << "\n" << run.dump() << "optimised:\n" << o.dump());
        for (unsigned i = 0; i < 32; ++i) {
            INFO("v" << i);
            REQUIRE(plain[i].lo == cpu.s.v[i][0]);
            REQUIRE(plain[i].hi == cpu.s.v[i][1]);
            REQUIRE(opt[i].lo == cpu.s.v[i][0]);
            REQUIRE(opt[i].hi == cpu.s.v[i][1]);
        }
    }
    CHECK(vector_ops > 10000);
}

TEST_CASE("IR: a vector register the run writes twice is written once; a read of it is forwarded") {
    ir::Run run;
    REQUIRE(build(run, {0x4e228420,    // add v0.16b, v1.16b, v2.16b
                        0x6e201c23,    // eor v3.16b, v1.16b, v0.16b
                        0x4ea38c60}));  // cmtst v0.4s, v3.4s, v3.4s
    ir::optimize(run);
    INFO(run.dump());
    CHECK(count(run, ir::Op::VSet) == 2);  // (v3, and v0 once)
    CHECK(count(run, ir::Op::VGet) == 2);  // (v1, v2: v0 and v3 forwarded)
}
