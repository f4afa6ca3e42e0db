// Loading what -kernel names into guest RAM, as QEMU's virt board does.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "hw/core/address_space.hpp"

namespace armvm {

struct BootImage {
    uint64_t entry = 0;
    uint64_t low = 0, high = 0;   // guest physical range written
    bool is_elf = false;
    // Entered the way Linux is booted: x0 = the DTB, which goes after the
    // initrd (QEMU treats every non-ELF -kernel on arm64 so).
    bool is_linux = false;
    // An ELF's function symbols (STT_FUNC in .symtab), for -d in_asm.
    struct Symbol {
        uint64_t addr, size;
        std::string name;
    };
    std::vector<Symbol> symbols;
    // What was written where, as QEMU's rom list names it (HMP info roms):
    // an ELF's PT_LOAD segments ("FILE ELF program header segment N", its
    // memory size), or the raw image (the file's name).
    struct Blob {
        uint64_t addr, size;
        std::string name;
    };
    std::vector<Blob> blobs;
};

// -kernel: an AArch64 ELF (each PT_LOAD segment at its physical address,
// in RAM), an arm64 Linux Image (magic "ARM\x64" at 0x38: loaded at
// text_offset from a 2 MiB boundary, past the first 2 MiB when the offset
// is smaller than QEMU's boot stub area) or any other raw binary (at RAM +
// 0x80000, as QEMU loads one).
// `fd` >= 0: read the image from that open file (path only names it).
Result<BootImage> load_kernel(AddressSpace& as, const std::string& path, int fd = -1);

// A file's bytes, gunzipped first if it is gzip-compressed and
// `try_gunzip` (as QEMU decompresses an arm64 kernel for firmware); the
// error is the reason alone.
Result<std::vector<uint8_t>> read_boot_file(const std::string& path, bool try_gunzip);

// Where QEMU's arm boot code puts the initrd: RAM + min(RAM/2, 128 MiB).
uint64_t initrd_address(uint64_t ram_base, uint64_t ram_size);
// The initrd's size, or the -initrd error QEMU gives.
Result<uint64_t> initrd_size(const std::string& path);
// Copies the initrd to initrd_address(); returns its size.
Result<uint64_t> load_initrd(AddressSpace& as, const std::string& path, int fd = -1);
// A Linux-style boot's DTB: after the initrd, aligned to 2 MiB.
uint64_t linux_dtb_address(uint64_t ram_base, uint64_t ram_size, uint64_t initrd_bytes);

}  // namespace armvm
