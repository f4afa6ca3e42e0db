// Floating point corner cases one by one: rounding modes, NaN propagation,
// default NaN, flush-to-zero, tininess before rounding, saturation of
// conversions, the estimates and round-to-odd, each with the value and
// the FPSR flags the ARM ARM pseudocode gives (J1, FPRound, FPProcessNaN,
// FPUnpack, FPRecipEstimate). The differential test (tests/cpu/diffgen.py)
// covers the encodings broadly; these name the rules.
#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <utility>

#include "cpu-arm64/cpu.hpp"
#include "cpu-arm64/sysregs/id_regs.hpp"
#include "fake_bus.hpp"

using namespace armvm;

namespace {

constexpr uint32_t IOC = 1, DZC = 2, OFC = 4, UFC = 8, IXC = 16, IDC = 128;
constexpr uint32_t RN = 0u << 22, RP = 1u << 22, RM = 2u << 22, RZ = 3u << 22, FZ = 1u << 24, DN = 1u << 25,
                   AHP = 1u << 26;

struct Out {
    uint64_t v0;  // low 64 bits of V0 (the result register)
    uint64_t x0;
    uint32_t fpsr, nzcv;
};

// Runs one instruction with V1.. = `in` (low 64 bits each) and FPCR = fpcr
// on `model` (the default: cortex-a57's ID registers).
Out run1(uint32_t insn, std::initializer_list<uint64_t> in, uint32_t fpcr = 0, const char* model = nullptr) {
    FakeBus bus;
    bus.put(0x1000, {insn, 0xd4200000});  // ...; brk #0
    Cpu cpu(bus);
    if (model) cpu.ids = id_regs_for(model, true);
    cpu.s.cpacr_el1 = 3u << 20;  // FP enabled
    cpu.s.fpcr = fpcr;
    unsigned r = 1;
    for (uint64_t v : in) cpu.s.v[r++][0] = v;
    cpu.s.v[0][0] = 0xdeadbeefdeadbeefull;
    cpu.s.pc = 0x1000;
    cpu.stop_on_exception = true;
    REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
    if (cpu.last_ec != Ec::Brk64) return {~0ull, ~0ull, ~0u, ~0u};  // (an exception before the BRK: UNDEFINED)
    return {cpu.s.v[0][0], cpu.s.x[0], cpu.s.fpsr, cpu.s.nzcv};
}
Out run_max(uint32_t insn, std::initializer_list<uint64_t> in, uint32_t fpcr = 0) { return run1(insn, in, fpcr, "max"); }

// Encodings (aarch64-linux-gnu-as): result in s0/d0/w0, operands s1, s2, s3.
constexpr uint32_t FADD_S = 0x1e222820, FDIV_S = 0x1e221820, FMUL_S = 0x1e220820,
                   FMADD_S = 0x1f020c20, FNMUL_S = 0x1e228820, FMAX_S = 0x1e224820, FMIN_S = 0x1e225820,
                   FMAXNM_S = 0x1e226820, FCVTZS_WS = 0x1e380020, FCVTZU_WS = 0x1e390020, FRINTX_S = 0x1e274020,
                   FRINTN_S = 0x1e244020, FCMP_S = 0x1e222020, FCMPE_S = 0x1e222030, FRECPE_S = 0x5ea1d820,
                   FRSQRTE_S = 0x7ea1d820, FCVT_HS = 0x1e23c020, FCVTXN_SD = 0x7e616820, FSQRT_S = 0x1e21c020,
                   FCVT_SD = 0x1e624020;

constexpr uint64_t ONE = 0x3f800000, TWO = 0x40000000, MAXF = 0x7f7fffff, INF = 0x7f800000, NINF = 0xff800000,
                   QNAN1 = 0x7fc00001, SNAN1 = 0x7f800001, DEFNAN = 0x7fc00000, POS_ZERO = 0, NEG_ZERO = 0x80000000,
                   MIN_NORMAL = 0x00800000, DENORM1 = 0x00000001;

}  // namespace

TEST_CASE("fp: the four rounding modes", "[cpu][fp]") {
    const uint64_t ulp_half = 0x33800000;  // 2^-24: half an ulp of 1.0
    CHECK(run1(FADD_S, {ONE, ulp_half}, RN).v0 == ONE);  // a tie: to even
    CHECK(run1(FADD_S, {ONE, ulp_half}, RP).v0 == 0x3f800001);
    CHECK(run1(FADD_S, {ONE, ulp_half}, RM).v0 == ONE);
    CHECK(run1(FADD_S, {ONE, ulp_half}, RZ).v0 == ONE);
    CHECK(run1(FADD_S, {ONE | 0x80000000, ulp_half | 0x80000000}, RM).v0 == 0xbf800001);
    CHECK(run1(FADD_S, {ONE, ulp_half}, RN).fpsr == IXC);
    CHECK(run1(FRINTN_S, {0x40200000}).v0 == TWO);  // 2.5 -> 2.0: ties to even
}

TEST_CASE("fp: overflow goes to infinity or the largest normal by the rounding mode", "[cpu][fp]") {
    Out r = run1(FMUL_S, {MAXF, TWO}, RN);
    CHECK(r.v0 == INF);
    CHECK(r.fpsr == (OFC | IXC));
    CHECK(run1(FMUL_S, {MAXF, TWO}, RZ).v0 == MAXF);
    CHECK(run1(FMUL_S, {MAXF, TWO}, RM).v0 == MAXF);
    CHECK(run1(FMUL_S, {MAXF | 0x80000000, TWO}, RM).v0 == NINF);
}

TEST_CASE("fp: invalid operations give the positive default NaN", "[cpu][fp]") {
    Out r = run1(FDIV_S, {POS_ZERO, POS_ZERO});
    CHECK(r.v0 == DEFNAN);  // (x86 would give the negative "indefinite" 0xffc00000)
    CHECK(r.fpsr == IOC);
    CHECK(run1(FSQRT_S, {0xbf800000}).v0 == DEFNAN);
    r = run1(FMADD_S, {INF, POS_ZERO, 0x7fc12345});  // inf * 0 + qNaN: invalid even with a quiet NaN addend
    CHECK(r.v0 == DEFNAN);
    CHECK(r.fpsr == IOC);
    r = run1(FDIV_S, {ONE, POS_ZERO});
    CHECK(r.v0 == INF);
    CHECK(r.fpsr == DZC);
}

TEST_CASE("fp: NaN propagation: a signalling NaN first, then operand order", "[cpu][fp]") {
    Out r = run1(FADD_S, {QNAN1, SNAN1});
    CHECK(r.v0 == 0x7fc00001);  // the signalling NaN of operand 2, quietened
    CHECK(r.fpsr == IOC);
    r = run1(FADD_S, {0x7fc00002, 0xffc00003});
    CHECK(r.v0 == 0x7fc00002);  // two quiet NaNs: the first operand's
    CHECK(r.fpsr == 0);
    CHECK(run1(FADD_S, {0x7fc00002, ONE}, DN).v0 == DEFNAN);  // FPCR.DN
    CHECK(run1(FNMUL_S, {0x7fc00002, ONE}).v0 == 0xffc00002);  // FNMUL negates the NaN too
    r = run1(FCVT_SD, {0x7ff0000000000001ull});  // a double sNaN to single: quiet, top fraction bits kept
    CHECK(r.v0 == 0x7fc00000);
    CHECK(r.fpsr == IOC);
}

TEST_CASE("fp: FMAX/FMIN zeros and FMAXNM's quiet NaN", "[cpu][fp]") {
    CHECK(run1(FMAX_S, {NEG_ZERO, POS_ZERO}).v0 == POS_ZERO);
    CHECK(run1(FMIN_S, {POS_ZERO, NEG_ZERO}).v0 == NEG_ZERO);
    CHECK(run1(FMAXNM_S, {0x7fc00000, ONE}).v0 == ONE);  // a quiet NaN loses to a number
    Out r = run1(FMAXNM_S, {SNAN1, ONE});                // a signalling one does not
    CHECK(r.v0 == 0x7fc00001);
    CHECK(r.fpsr == IOC);
    CHECK(run1(FMAX_S, {0x7fc00000, ONE}).v0 == 0x7fc00000);
}

TEST_CASE("fp: flush-to-zero of inputs (IDC) and outputs (UFC, no IXC)", "[cpu][fp]") {
    Out r = run1(FADD_S, {DENORM1, POS_ZERO}, FZ);
    CHECK(r.v0 == POS_ZERO);
    CHECK(r.fpsr == IDC);
    r = run1(FADD_S, {DENORM1, POS_ZERO});  // without FZ the denormal is a value
    CHECK(r.v0 == DENORM1);
    CHECK(r.fpsr == 0);
    const uint64_t p100 = 0x0d800000, p30 = 0x30800000;  // 2^-100, 2^-30: the product 2^-130 is a denormal
    r = run1(FMUL_S, {p100, p30}, FZ);
    CHECK(r.v0 == POS_ZERO);
    CHECK(r.fpsr == UFC);
    r = run1(FMUL_S, {p100, p30});
    CHECK(r.v0 == 0x00080000);  // exact: no underflow is signalled for an exact tiny result
    CHECK(r.fpsr == 0);
}

TEST_CASE("fp: tininess is detected before rounding", "[cpu][fp]") {
    // (1 - 2^-24) * 2^-126 rounds up to the smallest normal, but was tiny:
    // Arm signals underflow (x86 detects tininess after rounding and would not).
    Out r = run1(FMUL_S, {0x3f7fffff, MIN_NORMAL});
    CHECK(r.v0 == MIN_NORMAL);
    CHECK(r.fpsr == (UFC | IXC));
    r = run1(FMUL_S, {0x3f7fffff, MIN_NORMAL}, FZ);  // and with FZ it is flushed
    CHECK(r.v0 == POS_ZERO);
    CHECK(r.fpsr == UFC);
}

TEST_CASE("fp: conversions to integers saturate; NaN gives 0", "[cpu][fp]") {
    Out r = run1(FCVTZS_WS, {0x501502f9});  // 1e10
    CHECK(r.x0 == 0x7fffffff);
    CHECK(r.fpsr == IOC);
    r = run1(FCVTZS_WS, {0x7fc00000});
    CHECK(r.x0 == 0);
    CHECK(r.fpsr == IOC);
    r = run1(FCVTZU_WS, {0xbf000000});  // -0.5 rounds to 0: in range, inexact
    CHECK(r.x0 == 0);
    CHECK(r.fpsr == IXC);
    r = run1(FCVTZU_WS, {0xbf800000});  // -1.0: out of range
    CHECK(r.x0 == 0);
    CHECK(r.fpsr == IOC);
    r = run1(FRINTX_S, {0x3fc00000});  // FRINTX 1.5 -> 2.0, inexact
    CHECK(r.v0 == TWO);
    CHECK(r.fpsr == IXC);
}

TEST_CASE("fp: compares: quiet NaNs signal only for FCMPE", "[cpu][fp]") {
    Out r = run1(FCMP_S, {0x7fc00000, ONE});
    CHECK(r.nzcv == 0x30000000);  // unordered: C and V
    CHECK(r.fpsr == 0);
    r = run1(FCMPE_S, {0x7fc00000, ONE});
    CHECK(r.nzcv == 0x30000000);
    CHECK(r.fpsr == IOC);
    CHECK(run1(FCMP_S, {NEG_ZERO, POS_ZERO}).nzcv == 0x60000000);  // -0 == +0
}

TEST_CASE("fp: half precision: AHP has no infinity or NaN", "[cpu][fp]") {
    CHECK(run1(FCVT_HS, {INF}).v0 == 0x7c00);
    Out r = run1(FCVT_HS, {INF}, AHP);
    CHECK(r.v0 == 0x7fff);  // the largest alternative-format value
    CHECK(r.fpsr == IOC);
    r = run1(FCVT_HS, {0x477fe000});  // 65504: the largest IEEE half
    CHECK(r.v0 == 0x7bff);
    r = run1(FCVT_HS, {0x47800000});  // 65536: overflows IEEE half
    CHECK(r.v0 == 0x7c00);
    CHECK(r.fpsr == (OFC | IXC));
}

TEST_CASE("fp: half-precision arithmetic (FEAT_FP16) rounds once, and FZ16 flushes without IDC", "[cpu][fp]") {
    constexpr uint32_t FADD_H = 0x1ee22820, FMUL_H = 0x1ee20820, FSUB_H = 0x1ee23820, FMADD_H = 0x1fc20c20,
                       FCVTZS_WH = 0x1ef80020, FZ16 = 1u << 19;
    constexpr uint64_t H_ONE = 0x3c00, H_ONE_ULP = 0x3c01, H_MIN_NORMAL = 0x0400, H_HALF = 0x3800, H_DENORM1 = 0x0001;
    // 1+2^-10 - (1+2^-10)(2^-11-2^-21) = 1 + 2^-11 + 2^-31: just above the
    // tie between 1 and 1+2^-10. Rounded to float first (toward zero, or
    // to nearest) it would be the tie itself, and then 1.0.
    Out r = run_max(FMADD_H, {H_ONE_ULP, 0x8ffe, H_ONE_ULP});
    CHECK(r.v0 == H_ONE_ULP);
    CHECK(r.fpsr == IXC);
    CHECK(run_max(FADD_H, {H_ONE, H_ONE}).v0 == 0x4000);
    CHECK(run_max(FSUB_H, {H_ONE, H_ONE}, RM).v0 == 0x8000);  // an exact zero's sign by the rounding mode
    CHECK(run_max(FSUB_H, {H_ONE, H_ONE}, RN).v0 == 0);
    CHECK(run_max(FMUL_H, {0x7bff, 0x4000}).v0 == 0x7c00);       // overflow: infinity,
    CHECK(run_max(FMUL_H, {0x7bff, 0x4000}).fpsr == (OFC | IXC));
    CHECK(run_max(FMUL_H, {0x7bff, 0x4000}, RZ).v0 == 0x7bff);  // or the largest finite toward zero
    // Inputs: FZ16 flushes a denormal to zero and raises nothing (FZ: IDC).
    CHECK(run_max(FADD_H, {H_DENORM1, 0}).v0 == H_DENORM1);
    CHECK(run_max(FADD_H, {H_DENORM1, 0}, FZ16).v0 == 0);
    CHECK(run_max(FADD_H, {H_DENORM1, 0}, FZ16).fpsr == 0);
    CHECK(run_max(FADD_H, {H_DENORM1, 0}, FZ).v0 == H_DENORM1);  // (FZ is for single and double)
    // Outputs: a result tiny before rounding is flushed (UFC, no IXC).
    CHECK(run_max(FMUL_H, {H_MIN_NORMAL, H_HALF}).v0 == 0x0200);  // exact: no underflow
    CHECK(run_max(FMUL_H, {H_MIN_NORMAL, H_HALF}).fpsr == 0);
    CHECK(run_max(FMUL_H, {H_MIN_NORMAL, H_HALF}, FZ16).v0 == 0);
    CHECK(run_max(FMUL_H, {H_MIN_NORMAL, H_HALF}, FZ16).fpsr == UFC);
    CHECK(run_max(FMUL_H, {H_MIN_NORMAL, 0x3801}).fpsr == (UFC | IXC));  // tiny and inexact
    CHECK(run_max(FCVTZS_WH, {0xfbff}).x0 == 0xffff0020);  // -65504
    // Without FEAT_FP16 (cortex-a57) the half forms are UNDEFINED.
    CHECK(run1(FADD_H, {H_ONE, H_ONE}).fpsr == ~0u);
    CHECK(run1(FMADD_H, {H_ONE, H_ONE, H_ONE}).fpsr == ~0u);
}

TEST_CASE("fp: the estimates are the ARM ARM's tables", "[cpu][fp]") {
    CHECK(run1(FRECPE_S, {ONE}).v0 == 0x3f7f8000);   // 1/1 ~ 0.998
    CHECK(run1(FRECPE_S, {TWO}).v0 == 0x3eff8000);
    CHECK(run1(FRSQRTE_S, {ONE}).v0 == 0x3f7f8000);  // 1/sqrt(1)
    CHECK(run1(FRSQRTE_S, {0x40800000}).v0 == 0x3eff8000);  // 1/sqrt(4) ~ 0.5
    Out r = run1(FRECPE_S, {POS_ZERO});
    CHECK(r.v0 == INF);
    CHECK(r.fpsr == DZC);
    r = run1(FRSQRTE_S, {0xbf800000});  // negative: invalid
    CHECK(r.v0 == DEFNAN);
    CHECK(r.fpsr == IOC);
    r = run1(FRECPE_S, {DENORM1}, RN);  // 1/2^-149: beyond the range
    CHECK(r.v0 == INF);
    CHECK(r.fpsr == (OFC | IXC));
    CHECK(run1(FRECPE_S, {DENORM1}, RZ).v0 == MAXF);
    r = run1(FRECPE_S, {0x7e800000}, FZ);  // 1/2^126 would be a denormal: flushed
    CHECK(r.v0 == POS_ZERO);
    CHECK(r.fpsr == UFC);
}

TEST_CASE("fp: FCVTXN rounds to odd", "[cpu][fp]") {
    Out r = run1(FCVTXN_SD, {0x3ff0000000400000ull});  // 1 + 2^-30: inexact in single
    CHECK(r.v0 == 0x3f800001);  // truncated, lowest bit set
    CHECK(r.fpsr == IXC);
    r = run1(FCVTXN_SD, {0x3ff0000000000000ull});  // exact
    CHECK(r.v0 == ONE);
    CHECK(r.fpsr == 0);
    r = run1(FCVTXN_SD, {0x47f0000000000000ull});  // 2^128: overflow goes to the largest normal
    CHECK(r.v0 == MAXF);
    CHECK(r.fpsr == (OFC | IXC));
}

TEST_CASE("crypto: UNDEFINED where ID_AA64ISAR0 does not advertise it", "[cpu][fp][crypto]") {
    // aese v0.16b, v1.16b; sha256h q0, q1, v2.4s; sha1h s0, s1; pmull v0.1q, v1.1d, v2.1d
    for (uint32_t insn : {0x4e284820u, 0x5e024020u, 0x5e280820u, 0x0ee2e020u}) {
        INFO(std::hex << insn);
        for (bool advertised : {true, false}) {
            FakeBus bus;
            bus.put(0x1000, {insn, 0xd4200000});
            Cpu cpu(bus);
            cpu.ids = id_regs_for("cortex-a72", true);
            if (!advertised) cpu.ids.id_aa64isar0 &= ~0xfff0ull;  // AES, SHA1, SHA2 fields
            cpu.s.cpacr_el1 = 3u << 20;
            cpu.s.pc = 0x1000;
            cpu.stop_on_exception = true;
            REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
            CHECK(cpu.last_ec == (advertised ? Ec::Brk64 : Ec::Unknown));
        }
    }
}
