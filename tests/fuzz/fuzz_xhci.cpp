// libFuzzer target: what a guest driver can do to qemu-xhci and the USB
// devices behind it — its registers, command TRBs with any parameters
// (input contexts of the fuzzer's bytes), transfer TRBs on any endpoint
// of any slot (control requests to a keyboard, bulk-only transport and
// SCSI commands to a USB disk), links, cycles, doorbells, port resets —
// over 1 MiB of guest RAM. The controller is set running at the start of
// each input (rings and the event ring in place) so that the fuzzer's
// bytes reach the slot and transfer paths.
//
// Input: a sequence of operations, each an opcode byte and its operands.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unistd.h>
#include <vector>

#include "block/block.hpp"
#include "hw/core/address_space.hpp"
#include "hw/pci/gpex.hpp"
#include "hw/usb/usb_hid.hpp"
#include "hw/usb/usb_storage.hpp"
#include "hw/usb/xhci.hpp"

#include "fuzz_input.hpp"

using namespace armvm;

namespace {

constexpr uint64_t kRam = 0x40000000, kRamSize = 1 << 20;
constexpr uint64_t kMmio = 0x10000000;
// Where the rig puts things in RAM.
constexpr uint64_t kDcbaa = 0x1000, kCmdRing = 0x2000, kErst = 0x3000, kEvents = 0x4000, kInput = 0x8000,
                   kContexts = 0x10000, kRings = 0x40000;
constexpr uint64_t kOper = 0x40, kRuntime = 0x1000, kDoorbells = 0x2000;

struct Rig {
    std::mutex bql;
    std::vector<uint8_t> ram = std::vector<uint8_t>(kRamSize);
    AddressSpace as{bql};
    std::unique_ptr<PciHost> host;
    std::unique_ptr<Xhci> xhci;
    std::unique_ptr<BlockLayer> block;
    std::unique_ptr<UsbHid> kbd;
    std::unique_ptr<UsbStorage> disk;
    // The rings' producer positions (the fuzzer's TRBs go there).
    uint64_t cmd_at = 0;
    bool cmd_cycle = true;
    std::vector<uint64_t> ring_at = std::vector<uint64_t>(32 * 4, 0);

    Rig() {
        as.add_ram(kRam, ram.data(), kRamSize);
        std::array<IrqLine, 4> intx;
        for (auto& l : intx) l = IrqLine([](bool) {});
        host = std::make_unique<PciHost>(std::move(intx), [](uint64_t, uint32_t, uint16_t) {});
        host->add_mmio_window(as, kMmio, 0x2eff0000, "pcie-mmio");
        Xhci::Options o;
        xhci = std::make_unique<Xhci>(as, o);
        host->root_bus().plug(xhci.get(), 1 << 3);
        char path[] = "/tmp/armvm-fuzz-usb-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0 || ftruncate(fd, 1 << 20) != 0) std::abort();
        close(fd);
        MachineConfig cfg;
        cfg.block_opts.push_back({Json{{"driver", "file"}, {"filename", path}, {"node-name", "d0"}}, "d0", false});
        auto b = BlockLayer::create(cfg);
        if (!b) std::abort();
        block = std::move(b.value());
        unlink(path);  // (open: it lives as long as the rig)
        kbd = std::make_unique<UsbHid>(UsbHid::Kind::Keyboard);
        disk = std::make_unique<UsbStorage>(*block->find("d0"), false);
        if (!xhci->attach(kbd.get(), 1) || !xhci->attach(disk.get(), 2)) std::abort();
    }
    void cfg_write(unsigned off, uint32_t v) { host->ecam().write((1 << 15) | off, 4, v); }
    void reg(uint64_t off, uint32_t v) { as.write_locked(kMmio + off, 4, v); }
    void put64(uint64_t at, uint64_t v) { std::memcpy(&ram[at], &v, 8); }
    // The controller running: BAR 0, bus master, 64 slots, the command ring,
    // the device context array (slot N's output context at kContexts +
    // N * 0x400), one event ring segment of 64 TRBs, interrupts on.
    void start() {
        std::memset(ram.data(), 0, ram.size());
        host->reset();
        kbd->reset();
        disk->reset();
        cfg_write(0x10, static_cast<uint32_t>(kMmio) | 4);
        cfg_write(0x14, 0);
        cfg_write(0x04, 6);
        reg(kOper + 0x38, 64);
        for (unsigned s = 1; s <= 64; ++s) put64(kDcbaa + 8 * s, kRam + kContexts + 0x400ull * s);
        reg(kOper + 0x30, static_cast<uint32_t>(kRam + kDcbaa));
        reg(kOper + 0x34, 0);
        reg(kOper + 0x18, static_cast<uint32_t>(kRam + kCmdRing) | 1);
        reg(kOper + 0x1c, 0);
        put64(kErst, kRam + kEvents);
        put64(kErst + 8, 64);
        reg(kRuntime + 0x28, 1);
        reg(kRuntime + 0x38, static_cast<uint32_t>(kRam + kEvents));
        reg(kRuntime + 0x30, static_cast<uint32_t>(kRam + kErst));
        reg(kRuntime + 0x20, 2);
        reg(kOper, 1 | 4);
        cmd_at = kCmdRing;
        cmd_cycle = true;
        for (unsigned i = 0; i < ring_at.size(); ++i) ring_at[i] = kRings + 0x800ull * i;
    }
    // A TRB at a ring's producer position (wrapping with a link TRB).
    void push(uint64_t& at, bool cycle, uint64_t base, uint64_t param, uint32_t status, uint32_t control) {
        if (at + 16 >= base + 0x800) {
            put64(at, kRam + base);
            uint32_t link[2] = {0, (6u << 10) | (cycle ? 1u : 0u)};
            std::memcpy(&ram[at + 8], link, 8);
            at = base;
        }
        put64(at, param);
        uint32_t w[2] = {status, (control & ~1u) | (cycle ? 1u : 0u)};
        std::memcpy(&ram[at + 8], w, 8);
        at += 16;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Rig r;
    std::lock_guard<std::mutex> g(r.bql);
    r.start();
    FuzzReader in{data, size};
    while (in.n) {
        uint8_t op = in.get<uint8_t>();
        switch (op & 0x0f) {
        case 0: {  // a register write anywhere in the BAR
            uint64_t off = in.get<uint16_t>() % 0x4000 & ~3ull;
            r.reg(off, in.get<uint32_t>());
            break;
        }
        case 1: {
            uint64_t v;
            (void)r.as.read_locked(kMmio + (in.get<uint16_t>() % 0x4000 & ~3ull), 4, v);
            break;
        }
        case 2: {  // guest RAM: contexts, buffers, ring contents
            uint32_t off = in.get<uint32_t>() % (kRamSize - 8);
            r.put64(off, in.get<uint64_t>());
            break;
        }
        case 3: {  // a command TRB (its parameter often the input context), then the doorbell
            uint64_t param = in.get<uint64_t>();
            if (op & 0x10) param = kRam + kInput + (param & 0xff0);
            uint32_t control = in.get<uint32_t>();
            r.push(r.cmd_at, r.cmd_cycle, kCmdRing, param, in.get<uint32_t>(), control);
            r.reg(kDoorbells, 0);
            break;
        }
        case 4: {  // an input context entry (32 bytes of the fuzzer's)
            unsigned idx = in.get<uint8_t>() % 33;
            for (unsigned i = 0; i < 4; ++i) r.put64(kInput + 32 * idx + 8 * i, in.get<uint64_t>());
            if ((op & 0x10) && idx >= 2) {  // an endpoint's: its ring where case 5 writes (slot 1 or 2)
                unsigned ring = (op >> 5 & 1) * 32 + (idx - 1);
                r.put64(kInput + 32 * idx + 8, kRam + kRings + 0x800ull * ring + 1);
            }
            break;
        }
        case 5: {  // a transfer TRB on slot 1-2, endpoint 1-31 (its ring: kRings + ...), maybe the doorbell
            unsigned slot = 1 + (op >> 4 & 1), dci = 1 + in.get<uint8_t>() % 31;
            unsigned ring = (slot - 1) * 32 + dci;
            uint64_t param = in.get<uint64_t>();
            if (op & 0x20) param = kRam + 0x80000 + (param & 0x7fff0);  // (a buffer in RAM)
            uint32_t status = in.get<uint32_t>(), control = in.get<uint32_t>();
            r.push(r.ring_at[ring], true, kRings + 0x800ull * ring, param, status, control);
            if (op & 0x40) r.reg(kDoorbells + 4 * slot, dci);
            break;
        }
        case 6: {  // the doorbell of any slot and target
            unsigned slot = in.get<uint8_t>() % 66;
            r.reg(kDoorbells + 4 * slot, in.get<uint8_t>());
            break;
        }
        case 7: r.kbd->key(in.get<uint8_t>(), op & 0x10); break;  // a key (wakes the interrupt endpoint)
        case 8: r.xhci->reset(); break;
        default: break;
        }
    }
    return 0;
}
