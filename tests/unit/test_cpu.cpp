// The CPU core on a fake bus: a few instructions at a time, registers,
// flags, memory and exceptions checked (DESIGN.md "Boundaries"). Broad
// instruction coverage comes from the differential test against
// qemu-aarch64 (tests/cpu/diffgen.py); these pin down control flow,
// exceptions and the interpreter's block cache.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <vector>

#include "cpu-arm64/cpu.hpp"
#include "fake_bus.hpp"

using namespace armvm;
using a64::Op;

namespace {

// A CPU of `model` (pmu=on) that stops at its first exception, at 0x1000.
std::unique_ptr<Cpu> model_cpu(FakeBus& bus, const char* model) {
    auto cpu = std::make_unique<Cpu>(bus);
    cpu->ids = id_regs_for(model, true);
    cpu->stop_on_exception = true;
    cpu->s.pc = 0x1000;
    return cpu;
}

}  // namespace

TEST_CASE("decoder: no entry is shadowed by an earlier one", "[cpu][decoder]") {
    const auto& m = a64::kMatchers;
    for (size_t j = 0; j < m.size(); ++j) {
        for (size_t i = 0; i < j; ++i) {
            // Entry j is unreachable if every word it matches also matches i.
            bool shadowed = (m[i].mask & ~m[j].mask) == 0 && (m[j].value & m[i].mask) == m[i].value;
            INFO(m[i].name << " shadows " << m[j].name);
            CHECK_FALSE(shadowed);
        }
    }
}

TEST_CASE("decoder: representative encodings", "[cpu][decoder]") {
    CHECK(a64::decode(0xd2800021) == Op::MOVE_wide);      // mov x1, #1
    CHECK(a64::decode(0x913ffc02) == Op::ADD_SUB_imm);    // add x2, x0, #0xfff
    CHECK(a64::decode(0xf100001f) == Op::ADD_SUB_imm);    // cmp x0, #0
    CHECK(a64::decode(0x92089c05) == Op::LOGICAL_imm);    // and x5, x0, #0xff00ff00ff00ff00
    CHECK(a64::decode(0xab001003) == Op::ADD_SUB_shift);  // adds x3, x0, x0, lsl #4
    CHECK(a64::decode(0xd65f03c0) == Op::RET);
    CHECK(a64::decode(0x54000040) == Op::B_cond);
    CHECK(a64::decode(0xd4000841) == Op::SVC);
    CHECK(a64::decode(0xd503207f) == Op::HINT);           // wfi
    CHECK(a64::decode(0xd503233f) == Op::PAC_HINT_SP);    // paciasp
    CHECK(a64::decode(0xd503219f) == Op::PAC_HINT_1716);  // autia1716
    CHECK(a64::decode(0xd50320ff) == Op::XPACLRI);
    CHECK(a64::decode(0xd503213f) == Op::HINT);           // hint #9: unallocated, a NOP
    CHECK(a64::decode(0xdac10020) == Op::PAC_1src);       // pacia x0, x1
    CHECK(a64::decode(0x9ac43062) == Op::PACGA);
    CHECK(a64::decode(0xd65f0bff) == Op::BRANCH_PAC);     // retaa
    CHECK(a64::decode(0xd71f0801) == Op::BRANCH_PAC);     // braa x0, x1
    CHECK(a64::decode(0xf8200420) == Op::LDRA);           // ldraa x0, [x1]
    CHECK(a64::decode(0xd5384246) == Op::MRS);            // mrs x6, currentel
    CHECK(a64::decode(0xd518c007) == Op::MSR_reg);        // msr vbar_el1, x7
    CHECK(a64::decode(0xc85f7d49) == Op::LDST_excl);      // ldxr
    CHECK(a64::decode(0xa9ff3bed) == Op::LDST_pair);      // ldp pre-index
    CHECK(a64::decode(0xf800860f) == Op::LDST_imm9);      // str post-index
    CHECK(a64::decode(0x00000000) == Op::Unallocated);    // UDF #0
    CHECK(std::string(a64::op_name(Op::LDST_uimm)) == "LDST_uimm");
}

TEST_CASE("cpu: branches and calls", "[cpu]") {
    FakeBus bus;
    bus.put(0x1000, {0xb4000040,   // cbz x0, +8
                     0xd2800021,   // mov x1, #1 (skipped)
                     0xb7f80042,   // tbnz x2, #63, +8
                     0xd2800063,   // mov x3, #3 (skipped)
                     0x94000002,   // bl +8
                     0x14000002,   // b +8
                     0xd65f03c0,   // ret
                     0xf100001f,   // cmp x0, #0
                     0x54000040,   // b.eq +8
                     0xd2800084,   // mov x4, #4 (skipped)
                     0x10000005,   // adr x5, .
                     0xd4200000}); // brk #0
    Cpu cpu(bus);
    cpu.s.pc = 0x1000;
    cpu.s.x[0] = 0;
    cpu.s.x[2] = 1ull << 63;
    cpu.stop_on_exception = true;
    REQUIRE(cpu.run(100) == Cpu::Stop::Exception);
    CHECK(cpu.last_ec == Ec::Brk64);
    CHECK(cpu.s.pc == 0x102c);
    CHECK(cpu.s.x[1] == 0);
    CHECK(cpu.s.x[3] == 0);
    CHECK(cpu.s.x[4] == 0);
    CHECK(cpu.s.x[30] == 0x1014);
    CHECK(cpu.s.x[5] == 0x1028);
    CHECK((cpu.s.nzcv & (kZ | kC)) == (kZ | kC));
    CHECK(cpu.insn_count == 8);
}

TEST_CASE("cpu: SVC enters the EL1 vector and ERET returns", "[cpu]") {
    FakeBus bus;
    // EL0 code at 0x2000: svc #0x42; mov x1, #1; brk #0
    bus.put(0x2000, {0xd4000841, 0xd2800021, 0xd4200000});
    // Vector table at 0x800: lower EL AArch64 sync at +0x400: mrs x6, currentel; eret
    bus.put(0x800 + 0x400, {0xd5384246, 0xd69f03e0});
    Cpu cpu(bus);
    cpu.s.vbar_el1 = 0x800;
    cpu.s.el = 0;
    cpu.s.spsel = false;
    cpu.s.daif = 0;
    cpu.s.nzcv = kN | kV;
    cpu.s.pc = 0x2000;
    cpu.run(3);  // svc, mrs, eret
    CHECK(cpu.s.esr_el1 == ((0x15ull << 26) | (1u << 25) | 0x42));
    CHECK(cpu.s.elr_el1 == 0x2004);
    CHECK(cpu.s.spsr_el1 == (kN | kV | 0x0));  // EL0t, interrupts unmasked
    CHECK(cpu.s.x[6] == 1u << 2);              // CurrentEL read at EL1
    CHECK(cpu.s.el == 0);
    CHECK(cpu.s.pc == 0x2004);
    CHECK(cpu.s.nzcv == (kN | kV));
    cpu.stop_on_exception = true;
    CHECK(cpu.run(10) == Cpu::Stop::Exception);
    CHECK(cpu.s.x[1] == 1);
}

TEST_CASE("cpu: EL1-only registers and HVC are UNDEFINED at EL0", "[cpu]") {
    FakeBus bus;
    bus.put(0x3000, {0xd518c007});  // msr vbar_el1, x7
    bus.put(0x3100, {0xd4000002});  // hvc #0 (no EL2, no PSCI hook yet)
    Cpu cpu(bus);
    cpu.stop_on_exception = true;
    cpu.s.el = 0;
    cpu.s.pc = 0x3000;
    CHECK(cpu.run(1) == Cpu::Stop::Exception);
    CHECK(cpu.last_ec == Ec::Unknown);
    CHECK(cpu.s.pc == 0x3000);
    cpu.s.el = 1;
    cpu.s.x[7] = 0x4000;
    CHECK(cpu.run(1) == Cpu::Stop::Budget);
    CHECK(cpu.s.vbar_el1 == 0x4000);
    cpu.s.pc = 0x3100;
    CHECK(cpu.run(1) == Cpu::Stop::Exception);
    CHECK(cpu.last_ec == Ec::Unknown);
}

TEST_CASE("cpu: SP_EL0 is UNDEFINED while it is the stack pointer (SPSel 0), as QEMU", "[cpu]") {
    FakeBus bus;
    bus.put(0x3000, {0xd5384100});  // mrs x0, sp_el0
    Cpu cpu(bus);
    cpu.stop_on_exception = true;
    cpu.s.el = 1;
    cpu.s.spsel = true;
    cpu.s.sp_el0 = 0x1234;
    cpu.s.pc = 0x3000;
    CHECK(cpu.run(1) == Cpu::Stop::Budget);
    CHECK(cpu.s.x[0] == 0x1234);
    cpu.s.spsel = false;
    cpu.s.pc = 0x3000;
    CHECK(cpu.run(1) == Cpu::Stop::Exception);
    CHECK(cpu.last_ec == Ec::Unknown);
}

TEST_CASE("cpu: data abort outside RAM reports FAR and the syndrome", "[cpu]") {
    FakeBus bus;
    bus.put(0x1000, {0xf800860f});  // str x15, [x16], #8
    Cpu cpu(bus);
    cpu.s.vbar_el1 = 0x8000;
    cpu.s.x[16] = 0x100000;  // beyond the fake RAM
    cpu.s.pc = 0x1000;
    cpu.run(1);
    CHECK(cpu.s.esr_el1 >> 26 == 0x25);          // data abort, same EL
    CHECK((cpu.s.esr_el1 & 0x3f) == 0x10);        // synchronous external abort
    CHECK(((cpu.s.esr_el1 >> 6) & 1) == 1);       // WnR: a write
    CHECK(cpu.s.far_el1 == 0x100000);
    CHECK(cpu.s.x[16] == 0x100000);               // no writeback on a fault
    CHECK(cpu.s.pc == 0x8000 + 0x200);            // current EL with SP_EL1
    CHECK(cpu.s.elr_el1 == 0x1000);
}

TEST_CASE("cpu: exclusives pair up, a lone store-exclusive fails", "[cpu]") {
    FakeBus bus;
    bus.put(0x1000, {0xc85f7d49,    // ldxr x9, [x10]
                     0xc80b7d4c,    // stxr w11, x12, [x10]
                     0xc80b7d4c,    // stxr w11, x12, [x10] (monitor now closed)
                     0xd4200000});
    bus.write(0x4000, 8, 0x1111);
    Cpu cpu(bus);
    cpu.stop_on_exception = true;
    cpu.s.x[10] = 0x4000;
    cpu.s.x[12] = 0x2222;
    cpu.s.pc = 0x1000;
    cpu.run(2);
    CHECK(cpu.s.x[9] == 0x1111);
    CHECK(cpu.s.x[11] == 0);
    uint64_t v;
    bus.read(0x4000, 8, v);
    CHECK(v == 0x2222);
    cpu.s.x[12] = 0x3333;
    cpu.run(1);
    CHECK(cpu.s.x[11] == 1);
    bus.read(0x4000, 8, v);
    CHECK(v == 0x2222);
}

TEST_CASE("cpu: a store into decoded code invalidates the block", "[cpu]") {
    FakeBus bus;
    // 0x1000: str w1, [x2]; mov x0, #1 (to be overwritten by the store); brk
    bus.put(0x1000, {0xb9000041, 0xd2800020, 0xd4200000});
    Cpu cpu(bus);
    cpu.stop_on_exception = true;
    cpu.s.x[1] = 0xd2800040;  // mov x0, #2
    cpu.s.x[2] = 0x1004;
    cpu.s.pc = 0x1000;
    cpu.run(10);
    CHECK(cpu.s.x[0] == 2);
}

TEST_CASE("cpu: WFI stops the run loop, instruction fetch outside RAM aborts", "[cpu]") {
    FakeBus bus;
    bus.put(0x1000, {0xd503207f, 0xd2800020});  // wfi; mov x0, #1
    Cpu cpu(bus);
    cpu.s.pc = 0x1000;
    CHECK(cpu.run(10) == Cpu::Stop::Wfi);
    CHECK(cpu.s.pc == 0x1004);
    cpu.stop_on_exception = true;
    cpu.s.pc = 0x200000;
    CHECK(cpu.run(1) == Cpu::Stop::Exception);
    CHECK(cpu.last_ec == Ec::InsnAbortSame);
}

TEST_CASE("cpu: ID registers advertise what is implemented", "[cpu][idregs]") {
    FakeBus bus;
    bus.put(0x1000, {0xd5380000,    // mrs x0, midr_el1
                     0xd5380401,    // mrs x1, id_aa64pfr0_el1
                     0xd5380502,    // mrs x2, id_aa64dfr0_el1
                     0xd53b0023,    // mrs x3, ctr_el0
                     0xd53803e4,    // mrs x4, s3_0_c0_c3_7 (reserved ID space)
                     0xd5380605,    // mrs x5, id_aa64isar0_el1
                     0xd4200000});
    for (const char* model : {"cortex-a53", "cortex-a57", "cortex-a72", "neoverse-n1", "max"}) {
        for (bool pmu : {true, false}) {
            INFO(model << " pmu=" << pmu);
            Cpu cpu(bus);
            cpu.ids = id_regs_for(model, pmu);
            cpu.stop_on_exception = true;
            cpu.s.x[4] = 0x1234;
            cpu.s.pc = 0x1000;
            REQUIRE(cpu.run(100) == Cpu::Stop::Exception);
            CHECK(cpu.last_ec == Ec::Brk64);
            // Arm Limited (max: QEMU's MIDR, implementer 0)
            CHECK((cpu.s.x[0] >> 24) == (std::string(model) == "max" ? 0u : 0x41u));
            bool v81 = std::string(model) == "neoverse-n1" || std::string(model) == "max";
            // FP and AdvSIMD: Armv8.0's, with FEAT_FP16 (1, 1) on the Armv8.1+ models; RAS there too
            CHECK(((cpu.s.x[1] >> 16) & 0xff) == (v81 ? 0x11u : 0u));
            CHECK(((cpu.s.x[1] >> 28) & 0xf) == (std::string(model) == "max" ? 2u : v81 ? 1u : 0u));
            CHECK(((cpu.s.x[1] >> 8) & 0xff) == 0);          // no EL2, no EL3
            CHECK((cpu.s.x[1] & 0xff) == 0x11);              // EL0 and EL1: AArch64 only
            // PMUVer: PMUv3 (PMUv3p5 on max, as QEMU's), or none with pmu=off
            unsigned pmuver = std::string(model) == "max" ? 6u : 1u;
            CHECK(((cpu.s.x[2] >> 8) & 0xf) == (pmu ? pmuver : 0u));
            CHECK(cpu.s.x[4] == 0);                          // reserved ID registers read as zero
            // CRC32, AES+PMULL, SHA1, SHA256; LSE, RDM and DotProd on the
            // Armv8.1+ models; SHA512, SHA3, FlagM2, FHM and RNDR on max
            bool max = std::string(model) == "max";
            CHECK(cpu.s.x[5] == ((v81 ? (2ull << 20) | (1ull << 28) | (1ull << 44) : 0) |
                                 (max ? (2ull << 52) | (1ull << 60) | (1ull << 32) | (2ull << 56) | (1ull << 48) |
                                            (1ull << 36) | (1ull << 40) | 0x2000
                                      : 0x1000) |
                                 (1ull << 16) |
                                 0x120));
        }
    }
    CHECK(id_regs_for("cortex-a53", true).midr == 0x410fd034);
    CHECK(id_regs_for("cortex-a72", true).midr == 0x410fd083);
    CHECK(id_regs_for("neoverse-n1", true).midr == 0x414fd0c1);
    CHECK(id_regs_for("max", true).midr == 0x000f0510);  // (as qemu-system-aarch64 -cpu max)
}

TEST_CASE("cpu: one instruction of every integer group, registers, flags and memory", "[cpu]") {
    // Encodings from aarch64-linux-gnu-as; expected values worked out by
    // hand (x0 = 0xf0f0000012345678, x5 = 3, SP = 0x8000).
    FakeBus bus;
    bus.put(0x1000, {0x91004001,    // add x1, x0, #0x10
                     0x31000402,    // adds w2, w0, #1
                     0x8b000803,    // add x3, x0, x0, lsl #2
                     0xcb254404,    // sub x4, x0, w5, uxtw #1
                     0xba000006,    // adcs x6, x0, x0
                     0xfa451804,    // ccmp x0, #5, #4, ne
                     0x9a850407,    // csinc x7, x0, x5, eq
                     0x5ac00008,    // rbit w8, w0
                     0xdac01009,    // clz x9, x0
                     0xdac00c0a,    // rev x10, x0
                     0x9ac5080b,    // udiv x11, x0, x5
                     0x9ac5200c,    // lsl x12, x0, x5
                     0x9b05000d,    // madd x13, x0, x5, x0
                     0x9bc07c0e,    // umulh x14, x0, x0
                     0x92781c0f,    // and x15, x0, #0xff00
                     0xcac51010,    // eor x16, x0, x5, ror #4
                     0xf2b7ddf1,    // movk x17, #0xbeef, lsl #16
                     0xd3442c12,    // ubfx x18, x0, #4, #8
                     0x93482c13,    // sbfx x19, x0, #8, #4
                     0x93c54014,    // extr x20, x0, x5, #16
                     0x10000015,    // adr x21, .
                     0x58000056,    // ldr x22, .+8
                     0xa9bf17e0,    // stp x0, x5, [sp, #-16]!
                     0xa8c163f7,    // ldp x23, x24, [sp], #16
                     0xb81f83e0,    // stur w0, [sp, #-8]
                     0x389f83f9,    // ldursb x25, [sp, #-8]
                     0x785f93fa,    // ldurh w26, [sp, #-7]
                     0xd4200000});  // brk #0
    Cpu cpu(bus);
    cpu.stop_on_exception = true;
    cpu.s.x[0] = 0xf0f0000012345678;
    cpu.s.x[5] = 3;
    cpu.s.sp_el1 = 0x8000;
    cpu.s.pc = 0x1000;
    REQUIRE(cpu.run(100) == Cpu::Stop::Exception);
    CHECK(cpu.last_ec == Ec::Brk64);
    const uint64_t* x = cpu.s.x;
    CHECK(x[1] == 0xf0f0000012345688);
    CHECK(x[2] == 0x12345679);
    CHECK(x[3] == 0xb4b000005b05b058);
    CHECK(x[4] == 0xf0f0000012345672);
    CHECK(x[6] == 0xe1e000002468acf0);
    CHECK(cpu.s.nzcv == (kN | kC));  // from CCMP x0, #5 (NE held after ADCS)
    CHECK(x[7] == 4);
    CHECK(x[8] == 0x1e6a2c48);
    CHECK(x[9] == 0);
    CHECK(x[10] == 0x785634120000f0f0);
    CHECK(x[11] == 0x5050000006117228);
    CHECK(x[12] == 0x8780000091a2b3c0);
    CHECK(x[13] == 0xc3c0000048d159e0);
    CHECK(x[14] == 0xe2c2e10022444443);
    CHECK(x[15] == 0x5600);
    CHECK(x[16] == 0xc0f0000012345678);
    CHECK(x[17] == 0xbeef0000);
    CHECK(x[18] == 0x67);
    CHECK(x[19] == 6);
    CHECK(x[20] == 0x5678000000000000);
    CHECK(x[21] == 0x1050);
    CHECK(x[22] == 0xb81f83e0a8c163f7);  // the LDP and STUR words
    CHECK(x[23] == 0xf0f0000012345678);
    CHECK(x[24] == 3);
    CHECK(cpu.s.sp_el1 == 0x8000);
    CHECK(x[25] == 0x78);
    CHECK(x[26] == 0x3456);
    uint64_t mem;
    bus.read(0x8000 - 16, 8, mem);
    CHECK(mem == 0xf0f0000012345678);  // STP's first register, below SP
}

TEST_CASE("cpu: a burst of broadcast TLBIs to a CPU outside the guest keeps its code; a code write after it still counts",
          "[cpu]") {
    FakeBus bus;
    CpuCluster cluster;
    cluster.set_ram(bus.ram.size());
    Cpu a(bus), b(bus);
    for (Cpu* c : {&a, &b}) {
        c->set_ram_window(0, bus.ram.data(), bus.ram.size());
        c->join(cluster);
        c->stop_on_exception = true;
    }
    // a's code in three pages: 0x1000 and 0x2000 (left alone) and 0x3000
    // (rewritten by b)
    bus.put(0x1000, {0xd2800020, 0xd4200000});  // mov x0, #1; brk
    bus.put(0x2000, {0xd2800040, 0xd4200000});  // mov x0, #2; brk
    bus.put(0x3000, {0xd2800060, 0xd4200000});  // mov x0, #3; brk
    for (uint64_t pc : {0x1000, 0x2000, 0x3000}) {
        a.s.pc = pc;
        a.run(10);
    }
    REQUIRE(a.s.x[0] == 3);
    REQUIRE(a.block_decoded(0x2000));
    // b: 100 x TLBI VAE1IS, x1 (more than a mailbox keeps), then a store
    // into a's second page: mov x0, #4
    std::vector<uint32_t> prog(100, 0xd5088321);
    prog.push_back(0xb9000083);  // str w3, [x4]
    prog.push_back(0xd4200000);
    bus.put(0x5000, prog);
    b.s.x[1] = 0x1000 >> 12;
    b.s.x[3] = 0xd2800080;
    b.s.x[4] = 0x3000;
    b.s.pc = 0x5000;
    b.run(1000);
    REQUIRE(b.s.pc == 0x5000 + 4 * 101);
    a.s.pc = 0x1000;
    a.run(10);  // (takes its mailbox first)
    CHECK(a.s.x[0] == 1);
    CHECK(a.block_decoded(0x2000));  // (its TLB went, not its code)
    CHECK_FALSE(a.block_decoded(0x3000));
    a.s.pc = 0x3000;
    a.run(10);
    CHECK(a.s.x[0] == 4);
}

TEST_CASE("cpu: RNDR and RNDRRS give host random numbers with NZCV 0000 on max, UNDEFINED on cortex-a57",
          "[cpu][idregs]") {
    FakeBus bus;
    bus.put(0x1000, {0xd53b2400,    // mrs x0, rndr
                     0xd53b2421,    // mrs x1, rndrrs
                     0xd53b2403,    // mrs x3, rndr
                     0xd53b4202,    // mrs x2, nzcv
                     0xd4200000});  // brk #0
    for (const char* model : {"max", "cortex-a57"}) {
        INFO(model);
        Cpu cpu(bus);
        cpu.ids = id_regs_for(model, true);
        cpu.stop_on_exception = true;
        cpu.s.nzcv = 0xf0000000;
        cpu.s.pc = 0x1000;
        REQUIRE(cpu.run(100) == Cpu::Stop::Exception);
        if (std::string(model) == "max") {
            CHECK(cpu.last_ec == Ec::Brk64);
            CHECK(cpu.s.x[2] == 0);  // NZCV: a number was given
            CHECK(cpu.s.x[0] != cpu.s.x[3]);  // (equal once in 2^64)
            CHECK(cpu.s.x[0] != cpu.s.x[1]);
        } else {
            CHECK(cpu.last_ec == Ec::Unknown);
            CHECK(cpu.s.pc == 0x1000);
        }
    }
}

TEST_CASE("cpu: PSTATE.DIT and SSBS on max: SPSR keeps them, DIT stays, SSBS becomes SCTLR_EL1.DSSBS, ERET restores",
          "[cpu]") {
    FakeBus bus;
    // EL0 code at 0x2000: msr dit, #1; msr ssbs, #1; svc #0; mrs x2, dit; mrs x3, ssbs; brk #0
    bus.put(0x2000, {0xd503415f, 0xd503413f, 0xd4000001, 0xd53b42a2, 0xd53b42c3, 0xd4200000});
    // The lower-EL sync vector: mrs x0, dit; mrs x1, ssbs; eret
    bus.put(0x800 + 0x400, {0xd53b42a0, 0xd53b42c1, 0xd69f03e0});
    for (bool dssbs : {false, true}) {
        INFO("DSSBS " << dssbs);
        Cpu cpu(bus);
        cpu.ids = id_regs_for("max", true);
        cpu.s.vbar_el1 = 0x800;
        cpu.s.sctlr_el1 |= static_cast<uint64_t>(dssbs) << 44;
        cpu.s.el = 0;
        cpu.s.spsel = false;
        cpu.s.pc = 0x2000;
        cpu.stop_on_exception = false;
        cpu.run(3);  // msr, msr, svc
        CHECK(((cpu.s.spsr_el1 >> 24) & 1) == 1);
        CHECK(((cpu.s.spsr_el1 >> 12) & 1) == 1);
        cpu.run(3);  // mrs, mrs, eret
        CHECK(cpu.s.x[0] == 1u << 24);                         // DIT kept at entry
        CHECK(cpu.s.x[1] == (dssbs ? 1u << 12 : 0));           // SSBS = DSSBS
        cpu.stop_on_exception = true;
        CHECK(cpu.run(10) == Cpu::Stop::Exception);
        CHECK(cpu.s.x[2] == 1u << 24);  // both back from SPSR
        CHECK(cpu.s.x[3] == 1u << 12);
    }
    Cpu a57(bus);  // (neither on an Armv8.0 model)
    a57.stop_on_exception = true;
    a57.s.el = 0;
    a57.s.pc = 0x2000;
    CHECK(a57.run(10) == Cpu::Stop::Exception);
    CHECK(a57.last_ec == Ec::Unknown);
    CHECK(a57.s.pc == 0x2000);
}

TEST_CASE("cpu: an EL0 read of the ID space traps as EC 0x18 on max (FEAT_IDS), UNDEFINED on cortex-a57", "[cpu]") {
    FakeBus bus;
    bus.put(0x2000, {0xd5380600});  // mrs x0, id_aa64isar0_el1
    for (const char* model : {"max", "cortex-a57"}) {
        INFO(model);
        Cpu cpu(bus);
        cpu.ids = id_regs_for(model, true);
        cpu.stop_on_exception = true;
        cpu.s.el = 0;
        cpu.s.pc = 0x2000;
        REQUIRE(cpu.run(1) == Cpu::Stop::Exception);
        bool max = std::string(model) == "max";
        CHECK(cpu.last_ec == (max ? Ec::SysReg : Ec::Unknown));
        if (max) CHECK(cpu.last_iss == ((3u << 20) | (6u << 1) | 1));  // op0 3, CRn 0, CRm 6, Rt 0, a read
    }
}

TEST_CASE("cpu: CFP/DVP/CPP RCTX on max (FEAT_SPECRES): EL0 with SCTLR_EL1.EnRCTX, else a trap; UNDEFINED on cortex-a57",
          "[cpu]") {
    FakeBus bus;
    bus.put(0x2000, {0xd50b7381, 0xd50b73a1, 0xd50b73e1, 0xd4200000});  // cfp, dvp, cpp rctx, x1; brk #0
    for (const char* model : {"max", "cortex-a57"}) {
        for (bool enrctx : {false, true}) {
            INFO(model << " EnRCTX " << enrctx);
            Cpu cpu(bus);
            cpu.ids = id_regs_for(model, true);
            cpu.stop_on_exception = true;
            cpu.s.sctlr_el1 |= static_cast<uint64_t>(enrctx) << 10;
            cpu.s.el = 0;
            cpu.s.pc = 0x2000;
            REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
            bool max = std::string(model) == "max";
            CHECK(cpu.last_ec == (!max ? Ec::Unknown : enrctx ? Ec::Brk64 : Ec::SysReg));
        }
    }
}

TEST_CASE("cpu: pointer authentication on max; its hints NOPs and the rest UNDEFINED on cortex-a57", "[cpu][idregs]") {
    FakeBus bus;
    bus.put(0x1000, {0xd503233f,    // paciasp
                     0xaa1e03e2,    // mov x2, x30
                     0xd50323bf,    // autiasp
                     0xaa1e03e3,    // mov x3, x30
                     0xd503233f,    // paciasp
                     0xd503213f,    // hint #9 (a NOP)
                     0xd50320ff,    // xpaclri
                     0xaa1e03e4,    // mov x4, x30
                     0xdac10020,    // pacia x0, x1
                     0xd4200000});  // brk #0
    for (const char* model : {"max", "cortex-a57"}) {
        INFO(model);
        for (bool jit : {false, true}) {
            Cpu cpu(bus);
            cpu.set_jit(jit);
            cpu.ids = id_regs_for(model, true);
            cpu.s.sctlr_el1 |= 1u << 31;  // EnIA
            cpu.s.pac_keys[0] = {0x0123456789abcdefull, 0xfedcba9876543210ull};
            cpu.s.x[30] = 0x401000;
            cpu.s.x[0] = 0x402000;
            cpu.s.sp_el1 = 0x40008000;
            cpu.stop_on_exception = true;
            cpu.s.pc = 0x1000;
            REQUIRE(cpu.run(100) == Cpu::Stop::Exception);
            if (std::string(model) == "max") {
                CHECK(cpu.last_ec == Ec::Brk64);
                CHECK(cpu.s.x[2] != 0x401000);
                CHECK((cpu.s.x[2] & 0x0000ffffffffffffull) == 0x401000);  // (TCR 0: the PAC in bits 63:48 but 55)
                CHECK(cpu.s.x[3] == 0x401000);  // authenticated
                CHECK(cpu.s.x[4] == 0x401000);  // stripped
                CHECK(cpu.s.x[0] != 0x402000);
            } else {
                CHECK(cpu.last_ec == Ec::Unknown);  // PACIA
                CHECK(cpu.s.pc == 0x1020);
                CHECK(cpu.s.x[2] == 0x401000);  // the hints did nothing
                CHECK(cpu.s.x[4] == 0x401000);
            }
        }
    }
}

TEST_CASE("cpu: QARMA5's SSE version computes what its table version does", "[cpu]") {
    uint64_t s = 0x0123456789abcdefull;
    auto next = [&] { return s = s * 6364136223846793005ull + 1442695040888963407ull, s ^ (s >> 31); };
    for (int i = 0; i < 20000; ++i) {
        uint64_t d = next(), m = next(), k0 = next(), k1 = next();
        INFO(d << " " << m << " " << k0 << " " << k1);
        REQUIRE(pac_compute_qarma5(d, m, k0, k1, true) == pac_compute_qarma5(d, m, k0, k1, false));
    }
    // (the SSE version's schedules of recent modifiers and keys, reused)
    uint64_t k0 = next(), k1 = next();
    for (uint64_t i = 0; i < 5000; ++i) {
        uint64_t d = next(), m = 0x40008000 - 16 * (i % 7);
        REQUIRE(pac_compute_qarma5(d, m, k0, k1, true) == pac_compute_qarma5(d, m, k0, k1, false));
        if (i % 1000 == 999) k1 = next();
    }
}

TEST_CASE("cpu: FEAT_RAS without error records on max: DISR_EL1 kept, ERRIDR_EL1 0, ERRSELR_EL1 UNDEFINED", "[cpu]") {
    FakeBus bus;
    bus.put(0x1000, {0xd518c121,    // msr disr_el1, x1
                     0xd538c120,    // mrs x0, disr_el1
                     0xd5385302,    // mrs x2, erridr_el1
                     0xd503221f,    // esb (a hint)
                     0xd5385323,    // mrs x3, errselr_el1: UNDEFINED
                     0xd4200000});  // brk #0
    for (const char* model : {"max", "cortex-a57"}) {
        INFO(model);
        auto p = model_cpu(bus, model);
        Cpu& cpu = *p;
        cpu.s.x[1] = 0x80000123;
        cpu.s.x[2] = 7;
        REQUIRE(cpu.run(100) == Cpu::Stop::Exception);
        CHECK(cpu.last_ec == Ec::Unknown);
        if (std::string(model) == "max") {
            CHECK(cpu.s.pc == 0x1010);
            CHECK(cpu.s.x[0] == 0x80000123);
            CHECK(cpu.s.x[2] == 0);
        } else {
            CHECK(cpu.s.pc == 0x1000);  // (no RAS: DISR_EL1 is UNDEFINED)
        }
    }
}
