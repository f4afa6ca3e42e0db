// libFuzzer target: qcow2 images from an untrusted source. The input is an
// image file (in a memfd); armvm opens it as qcow2, reads some ranges,
// writes some and discards some. A corrupt image must give errors, never
// a crash, a hang or a huge allocation.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "block/image.hpp"

using namespace armvm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    int fd = memfd_create("qcow2", 0);
    if (fd < 0) return 0;
    if (size && ::write(fd, data, size) != static_cast<ssize_t>(size)) {
        ::close(fd);
        return 0;
    }
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    {
        auto f = File::open(path, false, false);
        if (f) {
            ImageOptions o;
            o.format = "qcow2";
            o.backing_given = true;  // (no backing files from the fuzzer's names)
            auto im = open_image(std::move(*f), std::move(o));
            if (im) {
                Image& i = **im;
                uint64_t sz = i.size();
                std::vector<uint8_t> buf(70000);
                uint64_t offs[] = {0, 512, 65536, sz / 2, sz > 70000 ? sz - 70000 : 0};
                for (uint64_t off : offs) {
                    uint64_t n = std::min<uint64_t>(buf.size(), sz > off ? sz - off : 0);
                    (void)i.read(off, buf.data(), n);
                }
                for (size_t k = 0; k < buf.size(); ++k) buf[k] = static_cast<uint8_t>(k * 7);
                for (uint64_t off : offs) {
                    uint64_t n = std::min<uint64_t>(4096 + off % 3000, sz > off ? sz - off : 0);
                    (void)i.write(off, buf.data(), n);
                }
                (void)i.write_zeroes(0, std::min<uint64_t>(sz, 1 << 20));
                (void)i.discard(sz / 4, std::min<uint64_t>(sz / 4, 1 << 20));
                (void)i.read(0, buf.data(), std::min<uint64_t>(buf.size(), sz));
            }
        }
    }
    ::close(fd);
    return 0;
}
