#include "hw/pci/option_rom.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "hw/pci/pci.hpp"

namespace armvm {

std::string find_firmware_file(const std::string& name) {
    if (name.empty()) return {};
    if (::access(name.c_str(), R_OK) == 0) return name;
    if (name.find('/') != std::string::npos) return {};
    // (Debian's QEMU: /usr/share/qemu, /usr/share/seabios, /usr/lib/ipxe/qemu)
    for (const char* dir : {"/usr/share/qemu/", "/usr/share/seabios/", "/usr/lib/ipxe/qemu/"}) {
        std::string p = dir + name;
        if (::access(p.c_str(), R_OK) == 0) return p;
    }
    return {};
}

namespace {

uint16_t le16(const std::vector<uint8_t>& b, size_t at) { return static_cast<uint16_t>(b[at] | b[at + 1] << 8); }

// A default ROM (one image serving several devices) gets the device's
// vendor and device IDs in its PCI data structure ("PCIR", at the offset
// in bytes 0x18-0x19 of an image that starts 0x55 0xaa), and the byte at
// 6 (Etherboot's checksum) moves by what the IDs' bytes changed, as QEMU
// does; a ROM file the user names is left as it is.
void patch_ids(std::vector<uint8_t>& b, uint16_t vendor, uint16_t device) {
    if (b.size() < 0x1a || le16(b, 0) != 0xaa55) return;
    size_t pcir = le16(b, 0x18);
    if (pcir + 8 >= b.size() || std::memcmp(&b[pcir], "PCIR", 4) != 0) return;
    for (auto [at, want] : {std::pair{pcir + 4, vendor}, std::pair{pcir + 6, device}}) {
        uint16_t old = le16(b, at);
        if (old == want) continue;
        b[6] = static_cast<uint8_t>(b[6] + (old & 0xff) + (old >> 8) - (want & 0xff) - (want >> 8));
        b[at] = static_cast<uint8_t>(want);
        b[at + 1] = static_cast<uint8_t>(want >> 8);
    }
}

// (QEMU's messages: not a number at all, or not one that fits)
Result<uint32_t> uint32_prop(const std::map<std::string, std::string>& props, const char* key, uint32_t dflt) {
    auto it = props.find(key);
    if (it == props.end()) return dflt;
    const std::string& v = it->second;
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(v.c_str(), &end, 0);
    if (v.empty() || *end) return make_error(std::string("Parameter '") + key + "' expects integer");
    if (errno || n < 0 || n > UINT32_MAX) return make_error(std::string("Parameter '") + key + "' expects uint32_t");
    return static_cast<uint32_t>(n);
}

}  // namespace

Status attach_option_rom(PciDevice& dev, const std::map<std::string, std::string>& props,
                         const std::string& default_romfile) {
    auto rombar = uint32_prop(props, "rombar", 1);
    if (!rombar) return rombar.error();
    auto romsize = uint32_prop(props, "romsize", UINT32_MAX);
    if (!romsize) return romsize.error();
    auto it = props.find("romfile");
    std::string name = it != props.end() ? it->second : default_romfile;
    if (name.empty()) return ok_status();
    std::string path = find_firmware_file(name);
    // (QEMU refuses a device whose default ROM is missing — iPXE's
    // efi-virtio.rom is x86 and EFI x64 code, which an arm64 guest never
    // runs — armvm goes on without it)
    if (it == props.end() && path.empty()) return ok_status();
    if (!*rombar) {
        // (QEMU hands such a ROM to the firmware through fw_cfg's genroms/,
        // which only its x86 BIOS reads; it names a missing file and goes on)
        if (path.empty()) std::fprintf(stderr, "Could not open option rom '%s': %s\n", name.c_str(), std::strerror(ENOENT));
        return ok_status();
    }
    if (path.empty()) path = name;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0) ::close(fd);
        return make_error("failed to find romfile \"" + name + "\"");
    }
    if (S_ISDIR(st.st_mode) || st.st_size > (int64_t{1} << 31)) {
        ::close(fd);
        return make_error("romfile \"" + name + "\" too large (size cannot exceed 2 GiB)");
    }
    uint64_t len = static_cast<uint64_t>(st.st_size);
    if (len == 0) {
        ::close(fd);
        return make_error("romfile \"" + name + "\" is empty");
    }
    uint64_t size = 1;
    if (*romsize != UINT32_MAX) {
        size = *romsize;
        if (size == 0 || (size & (size - 1))) {
            ::close(fd);
            return make_error("ROM size " + std::to_string(size) + " is not a power of two");
        }
        if (len > size) {
            ::close(fd);
            return make_error("romfile \"" + name + "\" (" + std::to_string(len) + " bytes) is too large for ROM size " +
                              std::to_string(size));
        }
    } else {
        while (size < len) size <<= 1;
    }
    std::vector<uint8_t> bytes(size, 0);
    uint64_t got = 0;
    while (got < len) {
        ssize_t n = ::pread(fd, bytes.data() + got, len - got, static_cast<off_t>(got));
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            ::close(fd);
            return make_error("failed to load romfile \"" + name + "\"");
        }
        got += static_cast<uint64_t>(n);
    }
    ::close(fd);
    if (it == props.end()) patch_ids(bytes, dev.get16(PCI_VENDOR_ID), dev.get16(PCI_DEVICE_ID));
    dev.set_rom(std::move(bytes));
    dev.romfile = name;
    return ok_status();
}

}  // namespace armvm
