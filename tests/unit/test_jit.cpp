// The compiled path (cpu-arm64/jit/) against the interpreter: the same
// programs, run with every block compiled the first time it runs and with
// the interpreter alone, end in the same state; and what only compiled,
// chained code could get wrong — a self-modifying loop, a full code space,
// the budget, a kick, an IRQ unmasked inside a chain. (Every guest program
// and the differential test also run in both modes: test_guest,
// test_cpu_diff.)
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <thread>

#include "cpu-arm64/cpu.hpp"
#include "fake_bus.hpp"

using namespace armvm;

namespace {

struct Machine {
    FakeBus bus{256 * 1024};
    Cpu cpu{bus};
    explicit Machine(bool jit, size_t arena = 0) {
        cpu.set_ram_window(0, bus.ram.data(), bus.ram.size());
        cpu.set_jit(jit, 1, arena);
        cpu.stop_on_exception = true;
    }
};

// Loads and stores (register index, sign-extending), MADD, a call and a
// return, EOR with a rotated operand, CSINC, UBFX, a fused compare and
// branch: 200 times round.
const std::initializer_list<uint32_t> kLoop = {
    0xd2800000,  // mov x0, #0
    0xd2800001,  // mov x1, #0
    0xd2900002,  // mov x2, #0x8000
    0xf8617843,  // loop: ldr x3, [x2, x1, lsl #3]
    0x8b010063,  // add x3, x3, x1
    0x9b010060,  // madd x0, x3, x1, x0
    0xf8217843,  // str x3, [x2, x1, lsl #3]
    0x38e16846,  // ldrsb w6, [x2, x1]
    0x8b06018c,  // add x12, x12, x6
    0x94000005,  // bl func
    0x91000421,  // add x1, x1, #1
    0xf103203f,  // cmp x1, #200
    0x54fffee1,  // b.ne loop
    0xd4200000,  // brk #0
    0xcac01c84,  // func: eor x4, x4, x0, ror #7
    0x9a8404a5,  // csinc x5, x5, x4, eq
    0xd3432c8d,  // ubfx x13, x4, #3, #9
    0x8b0501ad,  // add x13, x13, x5
    0xd65f03c0,  // ret
};

// Both machines ran the same program to its BRK: the same state.
void check_same(const Machine& jit, const Machine& interp) {
    for (unsigned r = 0; r < 31; ++r) {
        INFO("x" << r);
        CHECK(jit.cpu.s.x[r] == interp.cpu.s.x[r]);
    }
    CHECK(jit.cpu.s.nzcv == interp.cpu.s.nzcv);
    CHECK(jit.cpu.s.pc == interp.cpu.s.pc);
    CHECK(jit.cpu.insn_count == interp.cpu.insn_count);
    CHECK(jit.cpu.branch_count == interp.cpu.branch_count);
    CHECK(jit.bus.ram == interp.bus.ram);
    CHECK(jit.cpu.jit_entries() > 0);  // the compiled code did run
    CHECK(interp.cpu.jit_entries() == 0);
}

// `body` with X1 and X2 every pair of the 8 values at 0x8000 (X20-X22:
// the loops'), after `setup`, then BRK.
std::vector<uint32_t> over_edge_pairs(std::initializer_list<uint32_t> body, std::initializer_list<uint32_t> setup = {}) {
    auto b_ne = [](int32_t words) { return 0x54000001u | (static_cast<uint32_t>(words) & 0x7ffff) << 5; };
    auto n = static_cast<int32_t>(body.size());
    std::vector<uint32_t> p(setup);
    p.insert(p.end(), {
                          0xd2900014,  // mov x20, #0x8000
                          0xd2800015,  // mov x21, #0x0
                          0xd2800016,  // outer: mov x22, #0x0
                          0xf8757a81,  // inner: ldr x1, [x20, x21, lsl #3]
                          0xf8767a82,  // ldr x2, [x20, x22, lsl #3]
                      });
    p.insert(p.end(), body);
    p.insert(p.end(), {
                          0x910006d6,  // add x22, x22, #0x1
                          0xf10022df,  // cmp x22, #0x8
                          b_ne(-(n + 4)),  // b.ne inner
                          0x910006b5,  // add x21, x21, #0x1
                          0xf10022bf,  // cmp x21, #0x8
                          b_ne(-(n + 8)),  // b.ne outer
                          0xd4200000,  // brk #0x0
                      });
    return p;
}

// Runs `program` (at 0x1000, to its BRK) on both machines with the
// operands at the carry and overflow edges at 0x8000 (8 of them:
// over_edge_pairs loops over every pair).
void run_on_edge_values(Machine& interp, Machine& jit, const std::vector<uint32_t>& program) {
    const uint64_t values[8] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffff, 0x8000000000000000,
                                0xffffffffffffffff};
    for (Machine* m : {&interp, &jit}) {
        m->bus.put(0x1000, program);
        for (unsigned i = 0; i < 8; ++i) m->bus.put64(0x8000 + 8 * i, values[i]);
        m->cpu.s.pc = 0x1000;
        REQUIRE(m->cpu.run(1u << 20) == Cpu::Stop::Exception);
        CHECK(m->cpu.last_ec == Ec::Brk64);
    }
    check_same(jit, interp);
}

// Runs `program` (at 0x1000) on both machines, after `setup` on each, to
// the first exception, which must be `ec`.
void run_both(Machine& interp, Machine& jit, const std::vector<uint32_t>& program, Ec ec,
              const std::function<void(Machine&)>& setup = {}) {
    for (Machine* m : {&interp, &jit}) {
        if (setup) setup(*m);
        m->bus.put(0x1000, program);
        m->cpu.s.pc = 0x1000;
        REQUIRE(m->cpu.run(1u << 20) == Cpu::Stop::Exception);
        CHECK(m->cpu.last_ec == ec);
    }
}

}  // namespace

TEST_CASE("jit: a loop compiled ends where the interpreter ends", "[cpu][jit]") {
    Machine interp(false), jit(true);
    if (!jit.cpu.jit_enabled()) {
        WARN("no JIT backend for this host");
        return;
    }
    for (Machine* m : {&interp, &jit}) {
        m->bus.put(0x1000, kLoop);
        for (unsigned i = 0; i < 256; ++i) m->bus.put64(0x8000 + 8 * i, 0x9e3779b97f4a7c15ull * (i + 1));
        m->cpu.s.pc = 0x1000;
        REQUIRE(m->cpu.run(1u << 20) == Cpu::Stop::Exception);
        CHECK(m->cpu.last_ec == Ec::Brk64);
    }
    check_same(jit, interp);
    CHECK(jit.cpu.s.x[1] == 200);
}

TEST_CASE("jit: flags set in one block are read right in the next", "[cpu][jit]") {
    // Compiled code keeps NZCV lazily (the operation's result and operand):
    // every kind (ADDS/SUBS/ANDS, 64 and 32 bits, immediate and register)
    // read after a block boundary by MRS, ADC/SBCS, CSINC, CSET and B.cond
    // (conditions HI, LS, VS: not one x86 condition after an addition),
    // over pairs of operands at the carry and overflow edges.
    Machine interp(false), jit(true);
    if (!jit.cpu.jit_enabled()) {
        WARN("no JIT backend for this host");
        return;
    }
    run_on_edge_values(interp, jit, over_edge_pairs({
        0xab020023,  // adds x3, x1, x2
        0x14000001,  // b 1c <inner+0x10>
        0xd53b4204,  // mrs x4, nzcv
        0xcaca1c8a,  // eor x10, x4, x10, ror #7
        0x6b020023,  // subs w3, w1, w2
        0x14000001,  // b 2c <inner+0x20>
        0x9a020025,  // adc x5, x1, x2
        0xcacb14ab,  // eor x11, x5, x11, ror #5
        0xea020023,  // ands x3, x1, x2
        0x14000001,  // b 3c <inner+0x30>
        0x9a828426,  // csinc x6, x1, x2, hi
        0xcacc0ccc,  // eor x12, x6, x12, ror #3
        0x2b02003f,  // cmn w1, w2
        0x14000001,  // b 4c <inner+0x40>
        0x54000046,  // b.vs 54 <inner+0x48>
        0x910005ad,  // add x13, x13, #0x1
        0xeb020023,  // subs x3, x1, x2
        0x14000001,  // b 5c <inner+0x50>
        0x54000048,  // b.hi 64 <inner+0x58>
        0x910005ce,  // add x14, x14, #0x1
        0x2b020023,  // adds w3, w1, w2
        0x14000001,  // b 6c <inner+0x60>
        0x54000049,  // b.ls 74 <inner+0x68>
        0x910005ef,  // add x15, x15, #0x1
        0x6a02003f,  // tst w1, w2
        0x14000001,  // b 7c <inner+0x70>
        0x9a9f57e7,  // cset x7, mi
        0x8b1004f0,  // add x16, x7, x16, lsl #1
        0xf13ffc23,  // subs x3, x1, #0xfff
        0x14000001,  // b 8c <inner+0x80>
        0xfa020028,  // sbcs x8, x1, x2
        0x14000001,  // b 94 <inner+0x88>
        0xd53b4204,  // mrs x4, nzcv
        0xcad12c91,  // eor x17, x4, x17, ror #11
        0x8b080231,  // add x17, x17, x8
    }));
    for (unsigned r : {13u, 14u, 15u}) {  // the branches went both ways
        INFO("x" << r);
        CHECK(interp.cpu.s.x[r] > 0);
        CHECK(interp.cpu.s.x[r] < 64);
    }
}

TEST_CASE("jit: UDIV, SDIV, MUL, MNEG and UMULL at the edges: by zero, INT_MIN by -1", "[cpu][jit]") {
    // Compiled inline (x86's DIV and IDIV trap on both edges, ARM's give 0
    // and INT_MIN); every pair of the edge values, 64 and 32 bits, folded
    // into X10-X16, against the architecture's results computed here.
    Machine interp(false), jit(true);
    if (!jit.cpu.jit_enabled()) {
        WARN("no JIT backend for this host");
        return;
    }
    run_on_edge_values(interp, jit, over_edge_pairs({
        0x9ac20823,  // udiv x3, x1, x2
        0xcaca1c6a,  // eor x10, x3, x10, ror #7
        0x9ac20c24,  // sdiv x4, x1, x2
        0xcacb1c8b,  // eor x11, x4, x11, ror #7
        0x1ac20825,  // udiv w5, w1, w2
        0xcacc1cac,  // eor x12, x5, x12, ror #7
        0x1ac20c26,  // sdiv w6, w1, w2
        0xcacd1ccd,  // eor x13, x6, x13, ror #7
        0x9b027c27,  // mul x7, x1, x2
        0xcace1cee,  // eor x14, x7, x14, ror #7
        0x1b02fc28,  // mneg w8, w1, w2
        0x9ba27c29,  // umull x9, w1, w2
        0xcacf1d0f,  // eor x15, x8, x15, ror #7
        0xcad01d30,  // eor x16, x9, x16, ror #7
    }));
    const uint64_t values[8] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffff, 0x8000000000000000,
                                0xffffffffffffffff};
    uint64_t acc[7] = {};
    auto fold = [](uint64_t& x, uint64_t v) { x = v ^ ((x >> 7) | (x << 57)); };
    for (uint64_t a : values)
        for (uint64_t b : values) {
            auto sa = static_cast<int64_t>(a), sb = static_cast<int64_t>(b);
            auto a32 = static_cast<uint32_t>(a), b32 = static_cast<uint32_t>(b);
            auto sa32 = static_cast<int32_t>(a32), sb32 = static_cast<int32_t>(b32);
            fold(acc[0], b ? a / b : 0);
            fold(acc[1], !b ? 0 : sb == -1 ? 0 - a : static_cast<uint64_t>(sa / sb));
            fold(acc[2], b32 ? a32 / b32 : 0);
            fold(acc[3], !b32 ? 0 : sb32 == -1 ? static_cast<uint32_t>(0u - a32) : static_cast<uint32_t>(sa32 / sb32));
            fold(acc[4], a * b);
            fold(acc[5], static_cast<uint32_t>(0u - a32 * b32));
            fold(acc[6], uint64_t{a32} * b32);
        }
    for (unsigned r = 0; r < 7; ++r) {
        INFO("x" << 10 + r);
        CHECK(interp.cpu.s.x[10 + r] == acc[r]);
    }
}

TEST_CASE("jit: NZCV stays lazy across handlers that do not use it and is stored for those that do", "[cpu][jit]") {
    // Compiled code calls the interpreter's handlers with NZCV perhaps
    // still lazy: right for those that neither read nor write it (MSR
    // TPIDR_EL0, FABS), wrong unless stored first for FCMP (writes),
    // FCSEL (reads) and FCCMP (both), each after a flag-setting
    // instruction, over operands at the carry and overflow edges.
    Machine interp(false), jit(true);
    if (!jit.cpu.jit_enabled()) {
        WARN("no JIT backend for this host");
        return;
    }
    run_on_edge_values(interp, jit, over_edge_pairs(
        {
            0xeb020023,  // subs x3, x1, x2
            0xd51bd043,  // msr tpidr_el0, x3
            0x54000048,  // b.hi 30 <inner+0x18>
            0x910005ad,  // add x13, x13, #0x1
            0x2b020023,  // adds w3, w1, w2
            0x9e670020,  // fmov d0, x1
            0x9e670041,  // fmov d1, x2
            0x1e612000,  // fcmp d0, d1
            0xd53b4204,  // mrs x4, nzcv
            0xcaca1c8a,  // eor x10, x4, x10, ror #7
            0xab020023,  // adds x3, x1, x2
            0x1e616c02,  // fcsel d2, d0, d1, vs
            0x9e660045,  // fmov x5, d2
            0xcacb14ab,  // eor x11, x5, x11, ror #5
            0x6b020023,  // subs w3, w1, w2
            0x1e60c003,  // fabs d3, d0
            0x9a9f27e7,  // cset x7, cc
            0x8b1004f0,  // add x16, x7, x16, lsl #1
            0xea020023,  // ands x3, x1, x2
            0x1e614404,  // fccmp d0, d1, #0x4, mi
            0x14000001,  // b 74 <inner+0x5c>
            0xd53b4204,  // mrs x4, nzcv
            0xcad12c91,  // eor x17, x4, x17, ror #11
        },
        {
            0xd2a00600,  // mov x0, #0x300000
            0xd5181040,  // msr cpacr_el1, x0
            0xd5033fdf,  // isb
        }));
    CHECK(interp.cpu.s.x[13] > 0);  // (B.HI went both ways)
    CHECK(interp.cpu.s.x[13] < 64);
}

TEST_CASE("jit: CSEL, CSINC, CSINV, CSNEG, CCMP and B.cond take the host flags the compare set", "[cpu][jit]") {
    // A conditional select or compare right after a flag-setting
    // instruction takes the condition from the host flags (with XZR
    // operands, which must not be zeroed with a flag-changing XOR); with
    // instructions between, the host flags are set again inline from the
    // lazy operands (every kind); conditions no x86 one says (HI after an
    // addition) fall back to NZCV. Operands at the carry and overflow
    // edges, compared with the interpreter.
    Machine interp(false), jit(true);
    if (!jit.cpu.jit_enabled()) {
        WARN("no JIT backend for this host");
        return;
    }
    run_on_edge_values(interp, jit, over_edge_pairs({
        0xeb02003f,  // cmp x1, x2
        0x9a828023,  // csel x3, x1, x2, hi
        0x6b02003f,  // cmp w1, w2
        0x9a9fa7e4,  // cset x4, lt
        0xab020025,  // adds x5, x1, x2
        0xda9f6026,  // csinv x6, x1, xzr, vs
        0x2b020027,  // adds w7, w1, w2
        0x1a818448,  // csinc w8, w2, w1, hi
        0xeb020027,  // subs x7, x1, x2
        0xda81a448,  // csneg x8, x2, x1, ge
        0xeb02003f,  // cmp x1, x2
        0xfa431824,  // ccmp x1, #0x3, #0x4, ne
        0x9a9f17e9,  // cset x9, eq
        0xea02003f,  // tst x1, x2
        0xba410042,  // ccmn x2, x1, #0x2, eq
        0x9a82402a,  // csel x10, x1, x2, mi
        0xeb02002c,  // subs x12, x1, x2
        0x8b020c2d,  // add x13, x1, x2, lsl #3
        0x9a8d802e,  // csel x14, x1, x13, hi
        0x2b02002c,  // adds w12, w1, w2
        0x910005ad,  // add x13, x13, #0x1
        0x9a8d35af,  // cinc x15, x13, cs
        0xea02002c,  // ands x12, x1, x2
        0x910005ad,  // add x13, x13, #0x1
        0xfa451848,  // ccmp x2, #0x5, #0x8, ne
        0x910005ad,  // add x13, x13, #0x1
        0xda81b1b0,  // csinv x16, x13, x1, lt
        0xeb02003f,  // cmp x1, x2
        0x910005ad,  // add x13, x13, #0x1
        0x5400004a,  // b.ge 90 <inner+0x84>
        0x91000631,  // add x17, x17, #0x1
        0x6a02002c,  // ands w12, w1, w2
        0x910005ad,  // add x13, x13, #0x1
        0x9a824032,  // csel x18, x1, x2, mi
        0x6b02002c,  // subs w12, w1, w2
        0x910005ad,  // add x13, x13, #0x1
        0x9a82b033,  // csel x19, x1, x2, lt
        0xcacb1e4b,  // eor x11, x18, x11, ror #7
        0xcacb1e6b,  // eor x11, x19, x11, ror #7
        0xcacb1dcb,  // eor x11, x14, x11, ror #7
        0xcacb1deb,  // eor x11, x15, x11, ror #7
        0xcacb1e0b,  // eor x11, x16, x11, ror #7
        0xcacb1c6b,  // eor x11, x3, x11, ror #7
        0xcacb1c8b,  // eor x11, x4, x11, ror #7
        0xcacb1ccb,  // eor x11, x6, x11, ror #7
        0xcacb1d0b,  // eor x11, x8, x11, ror #7
        0xcacb1d2b,  // eor x11, x9, x11, ror #7
        0xcacb1d4b,  // eor x11, x10, x11, ror #7
    }));
}

TEST_CASE("jit: a loop in one block keeps its registers in host registers round it", "[cpu][jit]") {
    // The loop's block branches back to its own start from two places:
    // compiled code goes round without leaving it, with the registers its
    // cache held at the first branch (X9, X1) preloaded at the start; at
    // the second the body has written eight registers, more than the six
    // cached, so the cache must be brought back to the preloaded one
    // (Emitter::loop_back): X9 reloaded, or the count goes wrong.
    Machine interp(false), jit(true);
    if (!jit.cpu.jit_enabled()) {
        WARN("no JIT backend for this host");
        return;
    }
    run_on_edge_values(interp, jit, {  // (the values at 0x8000: not read)
        0xd2800028,  // mov x8, #0x1
        0xd2800c89,  // mov x9, #0x64
        0xf1000529,  // loop: subs x9, x9, #0x1
        0x54000140,  // b.eq done
        0x8b090021,  // add x1, x1, x9
        0x3707ffa9,  // tbnz w9, #0, loop
        0xcac10c42,  // eor x2, x2, x1, ror #3
        0x8b020063,  // add x3, x3, x2
        0xcac31484,  // eor x4, x4, x3, ror #5
        0x8b0400a5,  // add x5, x5, x4
        0xcac51cc6,  // eor x6, x6, x5, ror #7
        0x8b0600e7,  // add x7, x7, x6
        0x17fffff6,  // b loop
        0xd4200000,  // done: brk #0x0
    });
    CHECK(interp.cpu.s.x[9] == 0);
    CHECK(interp.cpu.s.x[1] == 99 * 100 / 2);
}

TEST_CASE("jit: the SP in the register cache follows PSTATE.SP across blocks", "[cpu][jit]") {
    // Compiled code keeps the SP in a host register like X0-X30 and writes
    // it back to the stack pointer Cpu::jit_sp_ names: SP_EL1, then after
    // MSR SPSel (a block end the chain stub follows, to blocks compiled in
    // the round before) SP_EL0, then SP_EL1 again, three times round.
    // Pushes and pops in two loops; the last load reads what the first
    // loop stored below SP_EL1.
    Machine interp(false), jit(true);
    if (!jit.cpu.jit_enabled()) {
        WARN("no JIT backend for this host");
        return;
    }
    run_on_edge_values(interp, jit, {  // (the values at 0x8000: not read)
        0xd2920000,  // mov x0, #0x9000
        0x9100001f,  // mov sp, x0
        0xd2940001,  // mov x1, #0xa000
        0xd5184101,  // msr sp_el0, x1
        0xd280006a,  // mov x10, #3
        0xd2800642,  // outer: mov x2, #50
        0xa9bf03e2,  // loop: stp x2, x0, [sp, #-16]!
        0xa8c113e3,  // ldp x3, x4, [sp], #16
        0x8b0300a5,  // add x5, x5, x3
        0xd10083ff,  // sub sp, sp, #0x20
        0xf90007e5,  // str x5, [sp, #8]
        0x910083ff,  // add sp, sp, #0x20
        0xf1000442,  // subs x2, x2, #0x1
        0x54ffff21,  // b.ne loop
        0xd50040bf,  // msr spsel, #0x0
        0x910003e6,  // mov x6, sp
        0xd2800282,  // mov x2, #20
        0xa9bf1be2,  // loop2: stp x2, x6, [sp, #-16]!
        0xf84107e3,  // ldr x3, [sp], #16
        0x8b030108,  // add x8, x8, x3
        0xf1000442,  // subs x2, x2, #0x1
        0x54ffff81,  // b.ne loop2
        0xa9bf1be6,  // stp x6, x6, [sp, #-16]!
        0xd50041bf,  // msr spsel, #0x1
        0x910003e7,  // mov x7, sp
        0xf85e83e9,  // ldur x9, [sp, #-24]
        0xf100054a,  // subs x10, x10, #0x1
        0x54fffd41,  // b.ne outer
        0xd4200000,  // brk #0x0
    });
    for (Machine* m : {&interp, &jit}) {
        CHECK(m->cpu.s.x[7] == 0x9000);
        CHECK(m->cpu.s.sp_el1 == 0x9000);
        CHECK(m->cpu.s.sp_el0 == 0xa000 - 3 * 16);
        CHECK(m->cpu.s.x[6] == 0xa000 - 2 * 16);
        CHECK(m->cpu.s.x[9] == 3 * 50 * 51 / 2);
        CHECK(m->cpu.s.x[8] == 3 * 20 * 21 / 2);
    }
}

TEST_CASE("jit: a register read inside an access's fast path does not move the cache its slow path writes back",
          "[cpu][jit]") {
    // Six registers written (the cache full, all dirty), then an access of
    // a SIMD&FP register whose base and index were written in the block
    // before (in memory only): reading them must not evict X1/X2 between
    // the access's slow-path bookkeeping and its jump (a first access:
    // the fast table misses), or the slow path writes X20's value into X1.
    Machine interp(false), jit(true);
    if (!jit.cpu.jit_enabled()) {
        WARN("no JIT backend for this host");
        return;
    }
    for (Machine* m : {&interp, &jit}) m->cpu.s.cpacr_el1 = 3u << 20;  // (FPEN: SIMD&FP at EL1)
    run_on_edge_values(interp, jit, {
        0xd2900014,  // mov x20, #0x8000
        0xd2800215,  // mov x21, #0x10
        0x14000001,  // b 1f
        0xd2800021,  // 1: mov x1, #1
        0xd2800042,  // mov x2, #2
        0xd2800063,  // mov x3, #3
        0xd2800084,  // mov x4, #4
        0xd28000a5,  // mov x5, #5
        0xd28000c6,  // mov x6, #6
        0x3cf56a80,  // ldr q0, [x20, x21]
        0x3cb57a80,  // str q0, [x20, x21, lsl #4]
        0x8b020027,  // add x7, x1, x2
        0x8b0300e7,  // add x7, x7, x3
        0xd4200000,  // brk #0
    });
    CHECK(jit.cpu.s.x[7] == 6);
    uint64_t stored = 0;
    std::memcpy(&stored, &jit.bus.ram[0x8100], 8);
    CHECK(stored == 0x7fffffff);  // (the third edge value, at 0x8010)
}

TEST_CASE("jit: a store into a compiled loop's code is seen at once", "[cpu][jit]") {
    for (bool on : {false, true}) {
        Machine m(on);
        m.bus.put(0x1000, {
            0xd2800001,  // mov x1, #0
            0xd2800008,  // mov x8, #0
            0x91000421,  // loop: add x1, x1, #1
            0xd2800027,  // mov x7, #1   (becomes mov x7, #2)
            0x8b070108,  // add x8, x8, x7
            0xf100c83f,  // cmp x1, #50
            0x54000061,  // b.ne skip
            0xb9400149,  // ldr w9, [x10]
            0xb9000169,  // str w9, [x11]
            0xf101903f,  // skip: cmp x1, #100
            0x54ffff01,  // b.ne loop
            0xd4200000,  // brk #0
            0xd2800047,  // mov x7, #2
        });
        m.cpu.s.x[10] = 0x1030;
        m.cpu.s.x[11] = 0x100c;
        m.cpu.s.pc = 0x1000;
        REQUIRE(m.cpu.run(1u << 20) == Cpu::Stop::Exception);
        INFO("jit " << on);
        CHECK(m.cpu.s.x[8] == 50 * 1 + 50 * 2);
    }
}

TEST_CASE("jit: a full code space starts again and the program goes on", "[cpu][jit]") {
    // 8000 blocks (add x0, x0, #1; b next) run 3 times round: far more
    // code than 256 KiB holds.
    constexpr unsigned kBlocks = 8000;
    Machine m(true, 256 * 1024);
    if (!m.cpu.jit_enabled()) {
        WARN("no JIT backend for this host");
        return;
    }
    uint64_t at = 0x1000;
    m.bus.put(at, {0xd2800061});  // mov x1, #3
    at += 4;
    uint64_t top = at;
    for (unsigned i = 0; i < kBlocks; ++i, at += 8) m.bus.put(at, {0x91000400, 0x14000001});  // add x0, x0, #1; b .+4
    uint32_t back = static_cast<uint32_t>(((top - (at + 4)) >> 2) & 0x7ffff);
    m.bus.put(at, {0xf1000421, 0x54000001 | (back << 5), 0xd4200000});  // subs x1, x1, #1; b.ne top; brk #0
    m.cpu.s.pc = 0x1000;
    REQUIRE(m.cpu.run(1u << 24) == Cpu::Stop::Exception);
    CHECK(m.cpu.last_ec == Ec::Brk64);
    CHECK(m.cpu.s.x[0] == 3 * kBlocks);
    CHECK(m.cpu.jit_resets() > 0);
    CHECK(m.cpu.jit_entries() > 0);
}

TEST_CASE("jit: a compiled self-loop keeps to the budget and answers a kick", "[cpu][jit]") {
    for (bool on : {false, true}) {
        INFO("jit " << on);
        Machine m(on);
        m.bus.put(0x1000, {0x14000000});  // b .
        m.cpu.s.pc = 0x1000;
        CHECK(m.cpu.run(1000) == Cpu::Stop::Budget);
        CHECK(m.cpu.insn_count >= 1000);
        CHECK(m.cpu.insn_count <= 1001);
        std::atomic<bool> kick{false};
        m.cpu.exit_request = &kick;
        std::thread t([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            kick = true;
        });
        auto t0 = std::chrono::steady_clock::now();
        CHECK(m.cpu.run(UINT64_MAX / 2) == Cpu::Stop::Budget);
        t.join();
        CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
        CHECK(m.cpu.s.pc == 0x1000);
    }
}

TEST_CASE("jit: a masked IRQ does not stop a chain, unmasking takes it", "[cpu][jit]") {
    for (bool on : {false, true}) {
        INFO("jit " << on);
        Machine m(on);
        m.bus.put(0x1000, {
            0x91000421,  // add x1, x1, #1
            0xf101903f,  // cmp x1, #100
            0x54ffffc1,  // b.ne .-8
            0xd50342ff,  // msr daifclr, #2
            0x14000000,  // b .
        });
        m.bus.put(0x2280, {0xd4200060});  // the IRQ vector (EL1, SP_EL1): brk #3
        m.cpu.s.vbar_el1 = 0x2000;
        m.cpu.s.pc = 0x1000;
        m.cpu.irq_line = true;
        REQUIRE(m.cpu.run(1u << 20) == Cpu::Stop::Exception);
        CHECK(m.cpu.last_ec == Ec::Brk64);
        CHECK(m.cpu.s.x[1] == 100);
        CHECK(m.cpu.s.elr_el1 == 0x1010);
    }
}

TEST_CASE("jit: a compare fused with its B.cond branches as the interpreter, every condition", "[cpu][jit]") {
    // For each pair of values: CMP, CMN and TST (64 and 32 bits, register
    // and immediate CMP) each followed by B.EQ ... B.LE; a not-taken branch
    // adds 1 to x5, which rotates left before each test (a signature of
    // every decision). Compiled code takes the condition from the host's
    // flags where one x86 condition says it.
    const uint32_t ops[] = {
        0xeb02003f,  // cmp x1, x2
        0x6b02003f,  // cmp w1, w2
        0xab02003f,  // cmn x1, x2
        0x2b02003f,  // cmn w1, w2
        0xea02003f,  // tst x1, x2
        0x6a02003f,  // tst w1, w2
        0xf100143f,  // cmp x1, #5
        0x3100143f,  // cmn w1, #5
    };
    std::vector<uint32_t> code = {0xa8c10941};  // loop: ldp x1, x2, [x10], #16
    for (uint32_t op : ops)
        for (uint32_t cond = 0; cond < 14; ++cond) {
            code.push_back(0x93c5fca5);          // ror x5, x5, #63
            code.push_back(op);
            code.push_back(0x54000040 | cond);   // b.<cond> .+8
            code.push_back(0x910004a5);          // add x5, x5, #1
        }
    code.push_back(0xd100056b);  // sub x11, x11, #1
    int32_t back = -static_cast<int32_t>(code.size());
    code.push_back(0xb5000000 | ((static_cast<uint32_t>(back) & 0x7ffff) << 5) | 11);  // cbnz x11, loop
    code.push_back(0xd4200000);  // brk #0
    const uint64_t vals[] = {0, 1, 5, 4, 6, ~0ull, 0x7fffffffffffffffull, 0x8000000000000000ull, 0x7fffffff,
                             0x80000000, 0xffffffff, 0xfffffffb, 0x100000000ull, 0xfffffffffffffffbull};
    std::vector<std::pair<uint64_t, uint64_t>> pairs;
    for (uint64_t a : vals)
        for (uint64_t b : vals) pairs.push_back({a, b});
    Machine interp(false), jit(true);
    if (!jit.cpu.jit_enabled()) {
        WARN("no JIT backend for this host");
        return;
    }
    for (Machine* m : {&interp, &jit}) {
        for (size_t i = 0; i < code.size(); ++i) m->bus.write(0x1000 + 4 * i, 4, code[i]);
        for (size_t i = 0; i < pairs.size(); ++i) {
            m->bus.put64(0x10000 + 16 * i, pairs[i].first);
            m->bus.put64(0x10000 + 16 * i + 8, pairs[i].second);
        }
        m->cpu.s.x[10] = 0x10000;
        m->cpu.s.x[11] = pairs.size();
        m->cpu.s.pc = 0x1000;
        REQUIRE(m->cpu.run(1u << 24) == Cpu::Stop::Exception);
        CHECK(m->cpu.last_ec == Ec::Brk64);
    }
    check_same(jit, interp);
}

TEST_CASE("jit: FADD, FSUB, FMUL, FDIV, FMLA, FMLS (vector, by element, scalar) give the interpreter's lanes and FPSR",
          "[cpu][jit]") {
    // Ordinary singles and doubles (the compiled fast path, once FPSR.IXC
    // is set: the first inexact result's handler sets it), one denormal
    // lane (the handler's: the fast path takes zero and normal lanes),
    // 64- and 128-bit forms and the scalar ones (FMADD, FMSUB too), 100
    // times round so the accumulators grow.
    Machine interp(false), jit(true);
    if (!jit.cpu.jit_enabled()) {
        WARN("no JIT backend for this host");
        return;
    }
    const std::vector<uint32_t> program = {
        0xd2900000,  // mov x0, #0x8000
        0xad400400,  // ldp q0, q1, [x0]
        0xad410c02,  // ldp q2, q3, [x0, #32]
        0x3dc01004,  // ldr q4, [x0, #64]
        0xd51b443f,  // msr fpsr, xzr
        0x6e21dc13,  // fmul v19.4s, v0.4s, v1.4s (inexact: IXC set, by the handler)
        0xd53b4424,  // mrs x4, fpsr
        0xd2800c82,  // mov x2, #100
        0x4e21d405,  // loop: fadd v5.4s, v0.4s, v1.4s
        0x4ea1d4a6,  // fsub v6.4s, v5.4s, v1.4s
        0x6e21dc07,  // fmul v7.4s, v0.4s, v1.4s
        0x6e21fce8,  // fdiv v8.4s, v7.4s, v1.4s
        0x4e21cc09,  // fmla v9.4s, v0.4s, v1.4s
        0x4ea1cc0a,  // fmls v10.4s, v0.4s, v1.4s
        0x4e63d44b,  // fadd v11.2d, v2.2d, v3.2d
        0x6e63dc4c,  // fmul v12.2d, v2.2d, v3.2d
        0x4fc3184d,  // fmla v13.2d, v2.2d, v3.d[1]
        0x4f81980e,  // fmul v14.4s, v0.4s, v1.s[2]
        0x0fa1500f,  // fmls v15.2s, v0.2s, v1.s[1]
        0x4e20d490,  // fadd v16.4s, v4.4s, v0.4s
        0x6e63fc51,  // fdiv v17.2d, v2.2d, v3.2d
        0x0ea4d412,  // fsub v18.2s, v0.2s, v4.2s
        0x1e212814,  // fadd s20, s0, s1
        0x1e630855,  // fmul d21, d2, d3
        0x1e211816,  // fdiv s22, s0, s1
        0x1f435c57,  // fmadd d23, d2, d3, d23
        0x1f01e018,  // fmsub s24, s0, s1, s24
        0x1e633859,  // fsub d25, d2, d3
        0x1e20289a,  // fadd s26, s4, s0
        0xf1000442,  // subs x2, x2, #1
        0x54fffd41,  // b.ne loop
        0xd53b4423,  // mrs x3, fpsr
        0xd4200000,  // brk #0
    };
    const float singles[12] = {1.5f, -2.25f, 3.1f, 1e10f, 0.3f, 7.0f, -1.1f, 3e-5f, 1e-40f, 1.0f, 2.0f, 3.0f};
    const double doubles[4] = {1.1, -3.3, 2.7, 1e-3};
    run_both(interp, jit, program, Ec::Brk64, [&](Machine& m) {
        m.cpu.s.cpacr_el1 = 3u << 20;  // (FPEN)
        std::memcpy(m.bus.ram.data() + 0x8000, singles, 32);
        std::memcpy(m.bus.ram.data() + 0x8020, doubles, sizeof doubles);
        std::memcpy(m.bus.ram.data() + 0x8040, singles + 8, 16);
    });
    check_same(jit, interp);
    for (unsigned r = 5; r <= 26; ++r) {
        INFO("v" << r);
        CHECK(jit.cpu.s.v[r][0] == interp.cpu.s.v[r][0]);
        CHECK(jit.cpu.s.v[r][1] == interp.cpu.s.v[r][1]);
    }
    CHECK(interp.cpu.s.x[3] == 0x10);  // FPSR: IXC (IDC only when FPCR.FZ flushes)
    CHECK(interp.cpu.s.x[4] == 0x10);
    float v9;
    std::memcpy(&v9, &interp.cpu.s.v[9][0], 4);
    CHECK(v9 == Approx(100 * 1.5f * 0.3f));  // (FMLA accumulated)
    double d23;
    std::memcpy(&d23, &interp.cpu.s.v[23][0], 8);
    CHECK(d23 == Approx(100 * 1.1 * 2.7));  // (FMADD accumulated)
    CHECK(interp.cpu.s.v[20][1] == 0);
    CHECK(interp.cpu.s.v[20][0] >> 32 == 0);  // (a scalar write zeroes the rest of V)
}

TEST_CASE("jit: MRS of the plain registers (the table's) as the interpreter; SP_EL0 in use is UNDEFINED",
          "[cpu][jit]") {
    // TPIDR_EL1, ELR, SPSR, FAR (EL1 only), SP_EL0 (with PSTATE.SP 1),
    // TPIDR_EL0, TPIDRRO_EL0, and NZCV after a SUBS (the lazy flags made
    // concrete) in a loop; then MRS SP_EL0 with SP_EL0 the SP: UNDEFINED,
    // at that instruction, on both.
    Machine interp(false), jit(true);
    if (!jit.cpu.jit_enabled()) {
        WARN("no JIT backend for this host");
        return;
    }
    const std::vector<uint32_t> program = {
        0xd50041bf,  // msr spsel, #1
        0xd2824680,  // mov x0, #0x1234
        0xd518d080,  // msr tpidr_el1, x0
        0x91000400,  // add x0, x0, #1
        0xd5184020,  // msr elr_el1, x0
        0x91000400,  // add x0, x0, #1
        0xd5184000,  // msr spsr_el1, x0
        0x91000400,  // add x0, x0, #1
        0xd5186000,  // msr far_el1, x0
        0x91000400,  // add x0, x0, #1
        0xd5184100,  // msr sp_el0, x0
        0x91000400,  // add x0, x0, #1
        0xd51bd040,  // msr tpidr_el0, x0
        0x91000400,  // add x0, x0, #1
        0xd51bd060,  // msr tpidrro_el0, x0
        0xd280200a,  // mov x10, #0x100
        0xd538d081,  // loop: mrs x1, tpidr_el1
        0xd5384022,  // mrs x2, elr_el1
        0xd5384003,  // mrs x3, spsr_el1
        0xd5386004,  // mrs x4, far_el1
        0xd5384105,  // mrs x5, sp_el0
        0xd53bd046,  // mrs x6, tpidr_el0
        0xd53bd067,  // mrs x7, tpidrro_el0
        0x8b01016b,  // add x11, x11, x1
        0xf100054a,  // subs x10, x10, #1
        0xd53b4208,  // mrs x8, nzcv
        0x8b08018c,  // add x12, x12, x8
        0x54fffea1,  // b.ne loop
        0xd50040bf,  // msr spsel, #0
        0xd5384109,  // mrs x9, sp_el0
        0xd4200000,  // brk #0
    };
    run_both(interp, jit, program, Ec::Unknown);
    CHECK(jit.cpu.s.pc == 0x1000 + 4 * 29);  // (the MRS of SP_EL0)
    check_same(jit, interp);
    for (unsigned r = 1; r <= 7; ++r) CHECK(jit.cpu.s.x[r] == 0x1234 + r - 1);
    CHECK(jit.cpu.s.x[8] == 0x60000000);  // (Z and C: the last SUBS reached 0)
    CHECK(jit.cpu.s.x[11] == 0x100 * 0x1234);
}
