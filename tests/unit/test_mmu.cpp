// The MMU, the TLB, the system register table, the LSE atomics and the
// PMU on the CPU core with a fake bus. The guest programs mmu.c, atomics.c
// and pmu.c cover the same ground against qemu-system-aarch64.
#include <catch2/catch.hpp>

#include <set>
#include <vector>

#include "cpu-arm64/cpu.hpp"
#include "fake_bus.hpp"
#include "cpu-arm64/mmu/walk.hpp"
#include "cpu-arm64/sysregs/sysregs.hpp"

using namespace armvm;

namespace {

// 1 MiB of RAM at 0.
struct Ram : FakeBus {
    Ram() : FakeBus(1 << 20) {}
};

constexpr uint64_t kAf = 1ull << 10, kPage = 3, kTable = 3, kBlock = 1;

// 4K granule, T0SZ 25 (39-bit VAs, walks start at level 1): L1 at
// 0x10000, L2 at 0x11000, L3 at 0x12000; VA 0x200000 + n*4K -> page n.
mmu::Regime regime_4k(Ram& ram) {
    ram.put64(0x10000, 0x11000 | kTable);
    ram.put64(0x11000 + 8, 0x12000 | kTable);  // L2[1]: VA 0x200000
    return {1, 25 | (2ull << 32), 0x10000, 0, 0xff00, 48, true};
}

// `cpu` as `model` at EL1 on regime_4k's tables, the MMU on, stopping at
// exceptions.
void mmu_on(Cpu& cpu, const char* model) {
    cpu.ids = id_regs_for(model, true);
    cpu.stop_on_exception = true;
    cpu.s.ttbr0_el1 = 0x10000;
    cpu.s.tcr_el1 = 25 | (2ull << 32);
    cpu.s.mair_el1 = 0xff00;
    cpu.s.sctlr_el1 |= 1;
    cpu.regime_changed();
}

}  // namespace

TEST_CASE("mmu: 4K walk, permissions per mode, faults with their level", "[mmu]") {
    Ram ram;
    mmu::Regime r = regime_4k(ram);
    ram.put64(0x12000 + 0 * 8, 0x40000 | kAf | kPage | (1 << 2));             // EL1 RW
    ram.put64(0x12000 + 1 * 8, 0x41000 | kAf | kPage | (1 << 6));             // EL0+EL1 RW
    ram.put64(0x12000 + 2 * 8, 0x42000 | kAf | kPage | (3 << 6) | (1ull << 54));  // RO both, UXN
    ram.put64(0x12000 + 3 * 8, 0x43000 | kPage);                               // AF clear
    ram.put64(0x12000 + 4 * 8, 0x44000 | kAf | 1);                             // level 3 "block": reserved
    mmu::Translation t;
    mmu::Fault f;
    REQUIRE(mmu::walk(r, ram, 0x200123, t, f));
    CHECK(t.pa_page == 0x40000);
    CHECK(t.level == 3);
    CHECK(t.attr == 0xff);
    CHECK(t.perm == (mmu::kR1 | mmu::kW1 | mmu::kX1 | mmu::kX0 | mmu::kR1Pan | mmu::kW1Pan));
    REQUIRE(mmu::walk(r, ram, 0x201000, t, f));
    // EL0-writable: never EL1-executable; PAN forbids EL1 data access.
    CHECK(t.perm == (mmu::kR0 | mmu::kW0 | mmu::kX0 | mmu::kR1 | mmu::kW1));
    REQUIRE(mmu::walk(r, ram, 0x202000, t, f));
    CHECK(t.perm == (mmu::kR0 | mmu::kR1 | mmu::kX1));
    CHECK_FALSE(mmu::walk(r, ram, 0x203000, t, f));
    CHECK(f.type == mmu::FaultType::AccessFlag);
    CHECK(mmu::fault_status(f) == 0x0b);
    CHECK_FALSE(mmu::walk(r, ram, 0x204000, t, f));
    CHECK(mmu::fault_status(f) == 0x07);  // translation, level 3
    CHECK_FALSE(mmu::walk(r, ram, 0x205000, t, f));
    CHECK(mmu::fault_status(f) == 0x07);
    CHECK_FALSE(mmu::walk(r, ram, 0x400000, t, f));
    CHECK(mmu::fault_status(f) == 0x06);  // L2[2] invalid: level 2
    CHECK_FALSE(mmu::walk(r, ram, 1ull << 40, t, f));
    CHECK(mmu::fault_status(f) == 0x04);  // outside T0SZ: level 0
    r.tcr |= 1ull << 7;                   // EPD0
    CHECK_FALSE(mmu::walk(r, ram, 0x200000, t, f));
    CHECK(mmu::fault_status(f) == 0x04);
}

TEST_CASE("mmu: blocks, APTable, WXN, address size and the TTBR1 half", "[mmu]") {
    Ram ram;
    mmu::Regime r = regime_4k(ram);
    ram.put64(0x11000 + 2 * 8, 0x600000 | kAf | kBlock);  // 2 MiB block at VA 0x400000
    mmu::Translation t;
    mmu::Fault f;
    REQUIRE(mmu::walk(r, ram, 0x4abcde, t, f));
    CHECK(t.pa_page == 0x6ab000);
    CHECK(t.size == 0x200000);
    CHECK(t.level == 2);
    r.sctlr |= 1u << 19;  // WXN: writable is never executable
    REQUIRE(mmu::walk(r, ram, 0x400000, t, f));
    CHECK_FALSE(t.perm & mmu::kX1);
    r.sctlr &= ~(1u << 19);
    ram.put64(0x10000, 0x11000 | kTable | (2ull << 61));  // APTable: read-only below
    REQUIRE(mmu::walk(r, ram, 0x400000, t, f));
    CHECK_FALSE(t.perm & mmu::kW1);
    ram.put64(0x11000 + 3 * 8, (1ull << 45) | kAf | kBlock);  // output beyond IPS (40 bits)
    r.tcr = 25 | (2ull << 32);
    CHECK_FALSE(mmu::walk(r, ram, 0x600000, t, f));
    CHECK(f.type == mmu::FaultType::AddressSize);
    CHECK(f.level == 2);
    // TTBR1: the top of the VA space, 16-bit ASID from TTBR0 (A1 = 0).
    r.tcr = 25 | (25ull << 16) | (2ull << 30) | (2ull << 32) | (1ull << 36);
    r.ttbr0 = 0x10000 | (0x1234ull << 48);
    r.ttbr1 = 0x20000;
    ram.put64(0x20000 + 511 * 8, 0x80000000 | kAf | kBlock | (1 << 11));  // 1 GiB block, nG
    REQUIRE(mmu::walk(r, ram, 0xffffffffc0001000ull, t, f));
    CHECK(t.pa_page == 0x80001000);
    CHECK_FALSE(t.global);
    CHECK(t.asid == 0x1234);
    CHECK(mmu::current_asid(r) == 0x1234);
    r.tcr &= ~(1ull << 36);  // 8-bit ASIDs
    CHECK(mmu::current_asid(r) == 0x34);
}

TEST_CASE("mmu: 16K and 64K granules; 16K falls back to 4K where absent", "[mmu]") {
    Ram ram;
    mmu::Translation t;
    mmu::Fault f;
    // 64K, T0SZ 25: start at level 2 (bits 38:29), level 3 (bits 28:16).
    ram.put64(0x20000 + 1 * 8, 0x30000 | kTable);
    ram.put64(0x30000 + 2 * 8, 0x70000 | kAf | kPage);
    mmu::Regime r{1, 25 | (1ull << 14) | (2ull << 32), 0x20000, 0, 0, 48, true};
    REQUIRE(mmu::walk(r, ram, 0x20000000 + 0x2abcd, t, f));
    CHECK(t.pa_page == 0x7a000);
    CHECK(t.size == 0x10000);
    // 16K, T0SZ 25: level 1 (bits 38:36), 2 (35:25), 3 (24:14).
    Ram ram16;
    ram16.put64(0x40000, 0x44000 | kTable);
    ram16.put64(0x44000 + 1 * 8, 0x48000 | kTable);
    ram16.put64(0x48000 + 3 * 8, 0x8c000 | kAf | kPage);
    mmu::Regime r16{1, 25 | (2ull << 14) | (2ull << 32), 0x40000, 0, 0, 48, true};
    REQUIRE(mmu::walk(r16, ram16, 0x2000000 + 3 * 0x4000 + 0x1234, t, f));
    CHECK(t.pa_page == 0x8d000);
    CHECK(t.size == 0x4000);
    r16.has_16k = false;  // now a 4K walk from the same base: L1[0] -> table, L2[16] empty
    CHECK_FALSE(mmu::walk(r16, ram16, 0x2000000, t, f));
}

TEST_CASE("tlb: by VA, by ASID, and VAs inside large mappings", "[mmu]") {
    mmu::Tlb tlb;
    auto fill = [&](uint64_t va, uint16_t asid, bool global) {
        mmu::TlbEntry& e = tlb.slot(va);
        e.tag = va;
        e.asid = asid;
        e.global = global;
        return &e;
    };
    fill(0x1000, 1, false);
    fill(0x2000, 2, false);
    fill(0x3000, 1, true);
    tlb.flush_va(0x1000, 2, false);  // other ASID: stays
    CHECK(tlb.slot(0x1000).tag == 0x1000);
    tlb.flush_va(0x1000, 1, false);
    CHECK(tlb.slot(0x1000).tag == mmu::TlbEntry::kInvalid);
    tlb.flush_asid(1);  // global entries survive
    CHECK(tlb.slot(0x3000).tag == 0x3000);
    tlb.flush_asid(2);
    CHECK(tlb.slot(0x2000).tag == mmu::TlbEntry::kInvalid);
    fill(0x200000, 1, true);
    tlb.note_span(0x200000, 0x200000);   // a 2 MiB block
    tlb.flush_va(0x3ff000, 0, true);     // another page of the block: all gone
    CHECK(tlb.slot(0x200000).tag == mmu::TlbEntry::kInvalid);
    CHECK(tlb.slot(0x3000).tag == mmu::TlbEntry::kInvalid);
}

TEST_CASE("sysregs: one descriptor per encoding, each readable or writable", "[sysregs]") {
    std::set<uint32_t> keys;
    for (auto area : {base_sysregs(), debug_sysregs(), mmu_sysregs(), timer_sysregs(), pmu_sysregs(), id_sysregs()})
        for (const auto& d : area) {
            INFO(d.name << " " << d.key);
            CHECK(keys.insert(d.key).second);
            CHECK((d.read || d.write));
            CHECK(find_sysreg(d.key) == &d);
        }
    CHECK(find_sysreg(sysreg_key(3, 0, 1, 0, 0))->name == std::string("SCTLR_EL1"));
    CHECK(find_sysreg(sysreg_key(3, 0, 12, 12, 5)) == nullptr);  // ICC_SRE_EL1: the GIC's
}

TEST_CASE("cpu: the MMU on the CPU: TLB hits, faults, TLBI after a remap", "[mmu][cpu]") {
    Ram ram;
    regime_4k(ram);
    ram.put64(0x12000, 0x40000 | kAf | kPage);  // VA 0x200000 -> 0x40000
    ram.put64(0x11000, 0x0 | kAf | kBlock);     // VA 0..2 MiB identity (code)
    ram.put(0x1000, {0xf9400001,    // ldr x1, [x0]
                     0xf9400001,    // ldr x1, [x0]
                     0xd508871f,    // tlbi vmalle1
                     0xf9400003,    // ldr x3, [x0]
                     0xd4200000});  // brk #0
    ram.put64(0x40000, 0x1111);
    ram.put64(0x50000, 0x2222);
    Cpu cpu(ram);
    mmu_on(cpu, "cortex-a57");
    cpu.s.x[0] = 0x200008 - 8;
    cpu.s.pc = 0x1000;
    REQUIRE(cpu.run(2) == Cpu::Stop::Budget);
    CHECK(cpu.s.x[1] == 0x1111);
    ram.put64(0x12000, 0x50000 | kAf | kPage);  // remap without TLBI: the TLB still has the old page
    cpu.run(1);
    CHECK(cpu.s.x[1] == 0x1111);
    REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
    CHECK(cpu.s.x[3] == 0x2222);  // after TLBI VMALLE1
    // A write to a read-only page: permission fault, level 3, WnR.
    ram.put64(0x12000, 0x50000 | kAf | kPage | (1 << 7));
    ram.put(0x1100, {0xd508871f, 0xf9000001});  // tlbi vmalle1; str x1, [x0]
    cpu.s.pc = 0x1100;
    REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
    CHECK(cpu.last_ec == Ec::DataAbortSame);
    CHECK(cpu.last_iss == (0x0f | (1u << 6)));
}

TEST_CASE("cpu: LSE atomics where the model has them", "[cpu][lse]") {
    Ram ram;
    ram.put(0x1000, {0xf8e10062,    // ldaddal x1, x2, [x3]
                     0xc8e1fc64,    // casal x1, x4, [x3]
                     0xd4200000});  // brk #0
    for (const char* model : {"cortex-a57", "max"}) {
        INFO(model);
        ram.put64(0x8000, 40);
        Cpu cpu(ram);
        cpu.ids = id_regs_for(model, true);
        cpu.stop_on_exception = true;
        cpu.s.x[1] = 2;
        cpu.s.x[3] = 0x8000;
        cpu.s.x[4] = 99;
        cpu.s.pc = 0x1000;
        REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
        uint64_t mem;
        ram.read(0x8000, 8, mem);
        if (std::string(model) == "max") {
            CHECK(cpu.last_ec == Ec::Brk64);
            CHECK(cpu.s.x[2] == 40);   // old value
            CHECK(cpu.s.x[1] == 42);   // CAS compared 2 with 42: failed, x1 = old
            CHECK(mem == 42);
        } else {
            CHECK(cpu.last_ec == Ec::Unknown);  // UNDEFINED on an Armv8.0 part
            CHECK(mem == 40);
        }
    }
}

TEST_CASE("cpu: PMU counts instructions and branches exactly; UNDEFINED with pmu=off", "[cpu][pmu]") {
    Ram ram;
    ram.put(0x1000, {0xd2800860,    // mov x0, #0x43 (E, P, LC)
                     0xd51b9c00,    // msr pmcr_el0, x0
                     0xd2800101,    // mov x1, #8 (INST_RETIRED)
                     0xd51bec01,    // msr pmevtyper0_el0, x1
                     0xd2800421,    // mov x1, #0x21 (BR_RETIRED)
                     0xd51bec21,    // msr pmevtyper1_el0, x1
                     0xd2800061,    // mov x1, #3
                     0xd51b9c21,    // msr pmcntenset_el0, x1
                     0xd2800149,    // mov x9, #10
                     0xf1000529,    // 1: subs x9, x9, #1
                     0x54ffffe1,    // b.ne 1b
                     0xd53be802,    // mrs x2, pmevcntr0_el0
                     0xd53be823,    // mrs x3, pmevcntr1_el0
                     0xd4200000});  // brk #0
    for (bool pmu : {true, false}) {
        Cpu cpu(ram);
        cpu.ids = id_regs_for("cortex-a57", pmu);
        cpu.stop_on_exception = true;
        cpu.s.pc = 0x1000;
        // PMU writes end run() early (the interrupt output may change).
        Cpu::Stop r = Cpu::Stop::Budget;
        for (int i = 0; i < 20 && r != Cpu::Stop::Exception; ++i) r = cpu.run(100 - cpu.insn_count);
        REQUIRE(r == Cpu::Stop::Exception);
        if (pmu) {
            CHECK(cpu.last_ec == Ec::Brk64);
            // Counted from the PMCNTENSET write: mov x9, 10 x (subs, b.ne), mrs.
            CHECK(cpu.s.x[2] == 1 + 20 + 1);
            CHECK(cpu.s.x[3] == 10);
        } else {
            CHECK(cpu.last_ec == Ec::Unknown);
            CHECK(cpu.s.pc == 0x1004);  // the first PMU access
        }
    }
}

TEST_CASE("cpu: DC CVAP/CVADP (max) fault on an unmapped line as a read does, as QEMU's; UNDEFINED on cortex-a57",
          "[mmu][cpu]") {
    Ram ram;
    regime_4k(ram);
    ram.put64(0x12000, 0x40000 | kAf | kPage);  // VA 0x200000 -> 0x40000; 0x201000 unmapped
    ram.put64(0x11000, 0x0 | kAf | kBlock);     // VA 0..2 MiB identity (code)
    ram.put(0x1000, {0xd50b7c20,    // dc cvap, x0
                     0xd50b7d20,    // dc cvadp, x0
                     0xd4200000});  // brk #0
    for (const char* model : {"max", "cortex-a57"}) {
        INFO(model);
        bool max = std::string(model) == "max";
        Cpu cpu(ram);
        mmu_on(cpu, model);
        cpu.s.x[0] = 0x200040;
        cpu.s.pc = 0x1000;
        REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
        CHECK(cpu.last_ec == (max ? Ec::Brk64 : Ec::Unknown));
        if (!max) continue;
        cpu.s.x[0] = 0x201040;
        cpu.s.pc = 0x1000;
        REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
        CHECK(cpu.last_ec == Ec::DataAbortSame);
        CHECK(cpu.last_iss == 0x07);  // translation fault, level 3; WnR 0, CM 0
        CHECK(cpu.last_far == 0x201040);
    }
}

TEST_CASE("cpu: TLBI by range and the outer-shareable forms on max; UNDEFINED on cortex-a57", "[mmu][cpu]") {
    Ram ram;
    regime_4k(ram);
    for (unsigned p = 0; p < 8; ++p) ram.put64(0x12000 + 8 * p, (0x40000 + 0x1000 * p) | kAf | kPage);
    ram.put64(0x11000, 0x0 | kAf | kBlock);  // VA 0..2 MiB identity (code)
    ram.put(0x1000, {0xf9400001,    // ldr x1, [x0]
                     0xd5088222,    // tlbi rvae1is, x2
                     0xf9400003,    // ldr x3, [x0]
                     0xd5088124,    // tlbi vae1os, x4
                     0xf9400005,    // ldr x5, [x0]
                     0xd4200000});  // brk #0
    for (unsigned p = 0; p < 10; ++p) ram.put64(0x40000 + 0x1000 * p + 8, 0x100 + p);
    for (const char* model : {"max", "cortex-a57"}) {
        INFO(model);
        bool max = std::string(model) == "max";
        for (unsigned p = 0; p < 8; ++p) ram.put64(0x12000 + 8 * p, (0x40000 + 0x1000 * p) | kAf | kPage);
        Cpu cpu(ram);
        mmu_on(cpu, model);
        cpu.s.x[0] = 0x203008;
        // TG 4K, SCALE 0, NUM 3: (3 + 1) << 1 = 8 pages from VA 0x200000
        cpu.s.x[2] = (1ull << 46) | (3ull << 39) | (0x200000 >> 12);
        cpu.s.x[4] = 0x203000 >> 12;
        cpu.s.pc = 0x1000;
        REQUIRE(cpu.run(1) == Cpu::Stop::Budget);
        CHECK(cpu.s.x[1] == 0x103);
        ram.put64(0x12000 + 8 * 3, 0x48000 | kAf | kPage);  // page 3 -> 0x48000
        REQUIRE(cpu.run(2) != Cpu::Stop::Debug);
        if (!max) {
            CHECK(cpu.last_ec == Ec::Unknown);  // (the range TLBI)
            continue;
        }
        CHECK(cpu.s.x[3] == 0x108);  // the range covered the page
        ram.put64(0x12000 + 8 * 3, 0x49000 | kAf | kPage);  // page 3 -> 0x49000
        REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
        CHECK(cpu.last_ec == Ec::Brk64);
        CHECK(cpu.s.x[5] == 0x109);  // after TLBI VAE1OS
    }
}

TEST_CASE("cpu: TCR_EL1.E0PD0 makes EL0's accesses to its half level 0 translation faults (max)", "[mmu][cpu]") {
    Ram ram;
    regime_4k(ram);
    ram.put64(0x12000, 0x40000 | kAf | kPage | (1 << 6));  // VA 0x200000 -> 0x40000, EL0 read/write
    ram.put64(0x11000, 0x0 | kAf | kBlock | (1 << 6));      // VA 0..2 MiB identity, EL0 read/write/execute
    ram.put(0x1000, {0xf9400001,    // ldr x1, [x0]
                     0xd4200000});  // brk #0
    ram.put64(0x40000, 0x1234);
    for (bool e0pd : {false, true}) {
        INFO("E0PD0 " << e0pd);
        Cpu cpu(ram);
        mmu_on(cpu, "max");
        cpu.s.tcr_el1 |= (static_cast<uint64_t>(e0pd) << 55);
        cpu.regime_changed();
        cpu.s.x[0] = 0x200000;
        cpu.s.el = 0;
        cpu.mode_changed();
        cpu.s.pc = 0x1000;
        REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
        if (!e0pd) {
            CHECK(cpu.last_ec == Ec::Brk64);
            CHECK(cpu.s.x[1] == 0x1234);
        } else {  // (the fetch itself, at EL0, faults first)
            CHECK(cpu.last_ec == Ec::InsnAbortLower);
            CHECK(cpu.last_iss == 0x04);  // translation fault, level 0
        }
    }
}

TEST_CASE("cpu: PSTATE.UAO (max): LDTR at EL1 with EL1's permissions, interpreted and compiled; exception entry clears it",
          "[mmu][cpu]") {
    Ram ram;
    regime_4k(ram);
    ram.put64(0x12000, 0x40000 | kAf | kPage);  // VA 0x200000 -> 0x40000: EL1 only (AP 00)
    ram.put64(0x11000, 0x0 | kAf | kBlock);     // VA 0..2 MiB identity (code)
    ram.put64(0x40000, 0x5555);
    // 0x1000: ldr x4, [x0] (EL1's entry in the fast table); ldtr x1, [x0]; mrs x2, uao; brk #0
    ram.put(0x1000, {0xf9400004, 0xf8400801, 0xd5384282, 0xd4200000});
    for (bool jit : {false, true}) {
        for (bool uao : {false, true}) {
            INFO("jit " << jit << " UAO " << uao);
            Cpu cpu(ram);
            cpu.set_ram_window(0, ram.ram.data(), ram.ram.size());  // (compiled accesses go to RAM directly)
            cpu.set_jit(jit, 1);
            mmu_on(cpu, "max");
            cpu.s.x[0] = 0x200000;
            cpu.set_pstate(0x5 | (uao ? 1u << 23 : 0));  // EL1h
            for (int pass = 0; pass < 3; ++pass) {  // (compiled after the first)
                cpu.s.x[1] = 0;
                cpu.s.pc = 0x1000;
                REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
                if (uao) {
                    CHECK(cpu.last_ec == Ec::Brk64);
                    CHECK(cpu.s.x[1] == 0x5555);
                    CHECK(cpu.s.x[2] == 1u << 23);
                } else {
                    CHECK(cpu.last_ec == Ec::DataAbortSame);  // EL0's permission: none
                    CHECK(cpu.last_iss == 0x0f);
                }
            }
        }
    }
    // Exception entry clears it, ERET brings it back.
    Cpu cpu(ram);
    cpu.ids = id_regs_for("max", true);
    cpu.s.vbar_el1 = 0x800;
    ram.put(0xa00, {0xd5384282, 0xd69f03e0});  // (current EL, SP_ELx sync) mrs x2, uao; eret
    ram.put(0x1100, {0xd4000001, 0xd5384283, 0xd4200000});  // svc #0; mrs x3, uao; brk #0
    cpu.set_pstate(0x5 | (1u << 23));
    cpu.s.pc = 0x1100;
    cpu.run(3);  // svc, mrs, eret
    CHECK(cpu.s.x[2] == 0);
    CHECK(((cpu.s.spsr_el1 >> 23) & 1) == 1);
    cpu.stop_on_exception = true;
    REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
    CHECK(cpu.s.x[3] == 1u << 23);
}

TEST_CASE("cpu: TCR_EL1.HPD0 (max, FEAT_HPDS): the tables' APTable ignored; without it EL0's access is refused",
          "[mmu][cpu]") {
    Ram ram;
    regime_4k(ram);
    ram.put64(0x10000, 0x11000 | kTable | (1ull << 61));  // L1: APTable 01, no EL0 access below
    ram.put64(0x12000, 0x40000 | kAf | kPage | (1 << 6));  // VA 0x200000 -> 0x40000, EL0 read/write
    ram.put64(0x11000, 0x0 | kAf | kBlock);                 // VA 0..2 MiB identity (code)
    ram.put64(0x40000, 0x7777);
    ram.put(0x1000, {0xf8400801, 0xd4200000});  // ldtr x1, [x0]; brk #0
    for (const char* model : {"max", "cortex-a57"}) {
        for (bool hpd : {false, true}) {
            INFO(model << " HPD0 " << hpd);
            Cpu cpu(ram);
            mmu_on(cpu, model);
            uint64_t tcr = cpu.s.tcr_el1 | (static_cast<uint64_t>(hpd) << 41);
            cpu.s.x[2] = tcr;
            cpu.s.x[0] = 0x200000;
            ram.put(0x1100, {0xd5182042, 0xd5033fdf, 0x14000000 | ((0x1000 - 0x1108) / 4 & 0x3ffffff)});
            cpu.s.pc = 0x1100;  // msr tcr_el1, x2; isb; b 0x1000
            REQUIRE(cpu.run(10) == Cpu::Stop::Exception);
            bool allowed = hpd && std::string(model) == "max";  // (cortex-a57: TCR_EL1 drops the bit)
            CHECK(cpu.last_ec == (allowed ? Ec::Brk64 : Ec::DataAbortSame));
            if (allowed) CHECK(cpu.s.x[1] == 0x7777);
        }
    }
}
