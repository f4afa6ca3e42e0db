#include "machine/boot/loader.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <elf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include <zlib.h>

namespace armvm {

namespace {

// The function symbols of .symtab (checked against the file's size at
// every step: a broken table gives fewer symbols, never a bad read).
void read_elf_symbols(const std::vector<uint8_t>& f, const Elf64_Ehdr& eh, std::vector<BootImage::Symbol>& out) {
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > f.size() ||
        eh.e_shnum > (f.size() - eh.e_shoff) / sizeof(Elf64_Shdr))
        return;
    auto section = [&](unsigned i) {
        Elf64_Shdr sh;
        std::memcpy(&sh, f.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
        return sh;
    };
    for (unsigned i = 0; i < eh.e_shnum; ++i) {
        Elf64_Shdr st = section(i);
        if (st.sh_type != SHT_SYMTAB || st.sh_link >= eh.e_shnum || st.sh_offset > f.size() ||
            st.sh_size > f.size() - st.sh_offset)
            continue;
        Elf64_Shdr str = section(st.sh_link);
        if (str.sh_offset > f.size() || str.sh_size > f.size() - str.sh_offset) continue;
        for (uint64_t at = 0; at + sizeof(Elf64_Sym) <= st.sh_size; at += sizeof(Elf64_Sym)) {
            Elf64_Sym sym;
            std::memcpy(&sym, f.data() + st.sh_offset + at, sizeof sym);
            if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE ||
                sym.st_name >= str.sh_size)
                continue;
            const char* name = reinterpret_cast<const char*>(f.data() + str.sh_offset + sym.st_name);
            size_t len = strnlen(name, str.sh_size - sym.st_name);
            out.push_back({sym.st_value, sym.st_size, std::string(name, len)});
        }
    }
}

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
        img.blobs.push_back({ph.p_paddr, ph.p_memsz, path + " ELF program header segment " + std::to_string(i)});
    }
    if (img.low == UINT64_MAX) return bad("no loadable segment");
    read_elf_symbols(f, eh, img.symbols);
    return img;
}

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kImageMagicOffset = 0x38;
constexpr uint64_t kRawLoadOffset = 0x80000;  // QEMU's KERNEL64_LOAD_ADDR
constexpr uint64_t kBootStubArea = 4096;       // QEMU's boot stub at the start of RAM

uint64_t le64(const std::vector<uint8_t>& f, size_t off) {
    uint64_t v;
    std::memcpy(&v, f.data() + off, 8);
    return v;
}

Result<BootImage> load_raw(AddressSpace& as, const std::vector<uint8_t>& f, const std::string& path) {
    uint64_t offset = kRawLoadOffset;
    if (f.size() >= kImageMagicOffset + 4 && std::memcmp(f.data() + kImageMagicOffset, "ARM\x64", 4) == 0) {
        // arm64 Image header (Documentation/arm64/booting.rst): text_offset
        // at 8, image_size at 16; image_size 0 means a pre-3.17 kernel
        // with text_offset 0x80000.
        offset = le64(f, 16) == 0 ? kRawLoadOffset : le64(f, 8);
        if (offset < kBootStubArea) offset += 2 * kMiB;
    }
    uint64_t at = as.ram_base() + offset;
    uint8_t* dst = as.ram_ptr(at, f.size());
    if (!dst) return make_error("-kernel " + path + ": could not load kernel '" + path + "': too large for guest RAM");
    std::memcpy(dst, f.data(), f.size());
    BootImage img;
    img.entry = at;
    img.low = at;
    img.high = at + f.size();
    img.is_linux = true;
    img.blobs.push_back({at, f.size(), path});
    return img;
}

// As QEMU (LOAD_IMAGE_MAX_GUNZIP_BYTES): a decompressed kernel is at
// most 256 MiB.
constexpr size_t kMaxGunzip = 256 * kMiB;

Result<std::vector<uint8_t>> gunzip(const std::vector<uint8_t>& in, size_t max) {
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return make_error("zlib initialisation failed");
    std::vector<uint8_t> out(std::min<size_t>(max, std::max<size_t>(4 * in.size(), 1 * kMiB)));
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    int rc = Z_OK;
    while (rc == Z_OK) {
        if (z.total_out == out.size()) {
            if (out.size() >= max) {
                inflateEnd(&z);
                return make_error("larger than " + std::to_string(max >> 20) + " MiB");
            }
            out.resize(std::min(max, out.size() * 2));
        }
        z.next_out = out.data() + z.total_out;
        z.avail_out = static_cast<uInt>(out.size() - z.total_out);
        rc = inflate(&z, Z_NO_FLUSH);
    }
    size_t n = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END) return make_error(z.msg ? z.msg : "truncated or corrupt gzip data");
    out.resize(n);
    return out;
}

// An open file's bytes, from its start (the fd is kept by the board so a
// reset reloads the images even if the paths changed or are no longer
// accessible, as QEMU keeps its ROM blobs).
std::vector<uint8_t> read_fd(int fd, bool& ok) {
    ok = false;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return {};
    if (static_cast<uint64_t>(st.st_size) > (1ull << 30)) {
        errno = EFBIG;
        return {};
    }
    std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::pread(fd, data.data() + done, data.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return {};
        done += static_cast<size_t>(n);
    }
    ok = true;
    return data;
}

std::vector<uint8_t> read_file(const std::string& path, bool& ok) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    ok = static_cast<bool>(in);
    if (!ok) return {};
    std::streamoff n = in.tellg();
    if (n < 0) {  // (not seekable: read it as a stream, up to 1 GiB)
        in.clear();
        std::vector<uint8_t> data;
        char buf[65536];
        while (in.read(buf, sizeof buf) || in.gcount() > 0) {
            data.insert(data.end(), buf, buf + in.gcount());
            if (data.size() > (1ull << 30)) {
                errno = EFBIG;
                ok = false;
                return {};
            }
        }
        return data;
    }
    std::vector<uint8_t> data(static_cast<size_t>(n));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(data.data()), n);
    ok = static_cast<bool>(in) || n == 0;
    return data;
}

}  // namespace

Result<std::vector<uint8_t>> read_boot_file(const std::string& path, bool try_gunzip) {
    bool ok;
    std::vector<uint8_t> f = read_file(path, ok);
    if (!ok) return make_error(std::strerror(errno));
    if (try_gunzip && f.size() >= 2 && f[0] == 0x1f && f[1] == 0x8b) {
        auto raw = gunzip(f, kMaxGunzip);
        if (!raw) return make_error("could not decompress: " + raw.error().msg);
        f = std::move(*raw);
    }
    return f;
}

Result<BootImage> load_kernel(AddressSpace& as, const std::string& path, int fd) {
    bool ok;
    std::vector<uint8_t> f = fd >= 0 ? read_fd(fd, ok) : read_file(path, ok);
    if (!ok) return make_error("-kernel " + path + ": could not load kernel '" + path + "': " + std::strerror(errno));
    if (f.size() >= 2 && f[0] == 0x1f && f[1] == 0x8b) {  // a gzip-compressed Image (Image.gz)
        auto raw = gunzip(f, kMaxGunzip);
        if (!raw) return make_error("-kernel " + path + ": could not decompress kernel image: " + raw.error().msg);
        f = std::move(*raw);
    }
    if (f.size() >= sizeof(Elf64_Ehdr) && std::memcmp(f.data(), ELFMAG, SELFMAG) == 0) return load_elf(as, f, path);
    return load_raw(as, f, path);
}

uint64_t initrd_address(uint64_t ram_base, uint64_t ram_size) { return ram_base + std::min(ram_size / 2, 128 * kMiB); }

uint64_t linux_dtb_address(uint64_t ram_base, uint64_t ram_size, uint64_t initrd_bytes) {
    uint64_t end = initrd_address(ram_base, ram_size) + initrd_bytes;
    return (end + 2 * kMiB - 1) & ~(2 * kMiB - 1);
}

Result<uint64_t> initrd_size(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) return make_error("-initrd " + path + ": could not load initrd '" + path + "': " + std::strerror(errno));
    return static_cast<uint64_t>(in.tellg());
}

Result<uint64_t> load_initrd(AddressSpace& as, const std::string& path, int fd) {
    bool ok;
    std::vector<uint8_t> f = fd >= 0 ? read_fd(fd, ok) : read_file(path, ok);
    if (!ok) return make_error("-initrd " + path + ": could not load initrd '" + path + "': " + std::strerror(errno));
    uint64_t at = initrd_address(as.ram_base(), as.ram_size());
    uint8_t* dst = as.ram_ptr(at, f.size());
    if (!dst) return make_error("-initrd " + path + ": could not load initrd '" + path + "': too large for guest RAM");
    std::memcpy(dst, f.data(), f.size());
    return f.size();
}

}  // namespace armvm
