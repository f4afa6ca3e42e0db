#include "machine/boot/loader.hpp"

#include <elf.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace armvm {

namespace {

Result<BootImage> load_elf(AddressSpace& as, const std::vector<uint8_t>& f, const std::string& path) {
    auto bad = [&](const std::string& why) { return make_error("-kernel " + path + ": " + why); };
    Elf64_Ehdr eh;
    std::memcpy(&eh, f.data(), sizeof eh);
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return bad("not a little-endian ELF64 file");
    if (eh.e_machine != EM_AARCH64) return bad("not an AArch64 ELF file");
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > f.size() ||
        eh.e_phnum > (f.size() - eh.e_phoff) / sizeof(Elf64_Phdr))
        return bad("truncated ELF program headers");
    BootImage img;
    img.is_elf = true;
    img.entry = eh.e_entry;
    img.low = UINT64_MAX;
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph;
        std::memcpy(&ph, f.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
        if (ph.p_filesz > ph.p_memsz || ph.p_offset > f.size() || ph.p_filesz > f.size() - ph.p_offset)
            return bad("truncated ELF segment");
        uint8_t* dst = as.ram_ptr(ph.p_paddr, ph.p_memsz);
        if (!dst) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "segment at %#llx..%#llx is outside guest RAM",
                          static_cast<unsigned long long>(ph.p_paddr),
                          static_cast<unsigned long long>(ph.p_paddr + ph.p_memsz));
            return bad(buf);
        }
        std::memcpy(dst, f.data() + ph.p_offset, ph.p_filesz);
        std::memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
        img.low = std::min<uint64_t>(img.low, ph.p_paddr);
        img.high = std::max<uint64_t>(img.high, ph.p_paddr + ph.p_memsz);
    }
    if (img.low == UINT64_MAX) return bad("no loadable segment");
    return img;
}

}  // namespace

Result<BootImage> load_kernel(AddressSpace& as, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("-kernel " + path + ": could not load kernel '" + path + "': " + std::strerror(errno));
    std::vector<uint8_t> f((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (f.size() >= sizeof(Elf64_Ehdr) && std::memcmp(f.data(), ELFMAG, SELFMAG) == 0) return load_elf(as, f, path);
    return make_error("-kernel " + path + ": only AArch64 ELF kernels can be loaded yet");
}

}  // namespace armvm
