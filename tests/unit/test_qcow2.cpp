// qcow2 in armvm's block layer, with qemu-img (QEMU's own tool) as the
// oracle: images armvm writes must pass `qemu-img check` and read back, in
// armvm and in qemu-img, as a plain copy of the same writes.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <memory>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "block/image.hpp"
#include "block/qcow2.hpp"

using namespace armvm;

namespace {

struct Cmd {
    int status;
    std::string out;
};

Cmd sh(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    REQUIRE(p);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int st = ::pclose(p);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/armvm-qcow2-XXXXXX";
        REQUIRE(::mkdtemp(t));
        path = t;
    }
    ~TempDir() { sh("rm -rf " + path); }
    std::string operator/(const std::string& f) const { return path + "/" + f; }
};

std::shared_ptr<Image> open_rw(const std::string& path, bool ro = false) {
    auto f = File::open(path, ro, false);
    if (!f) FAIL(f.error().msg);
    auto im = open_image(std::move(*f), ImageOptions{});
    if (!im) FAIL(im.error().msg);
    return *im;
}

void save(const std::string& path, const std::vector<uint8_t>& data) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data.data()),
                                                static_cast<std::streamsize>(data.size()));
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
    std::mt19937 r(seed);
    std::vector<uint8_t> v(n);
    for (auto& b : v) b = static_cast<uint8_t>(r());
    return v;
}

// One random write, zero write or discard (up to `max_len` bytes) through
// armvm, the same on a plain mirror of the disk; the range it covered.
std::pair<uint64_t, uint64_t> random_op(Image& im, std::vector<uint8_t>& mirror, std::mt19937& r, uint64_t max_len,
                                        bool discards) {
    uint64_t size = mirror.size();
    uint64_t len = 1 + r() % max_len;
    if (r() % 4 == 0) len = 512 * (1 + r() % 8);
    uint64_t off = r() % size;
    if (r() % 3 == 0) off &= ~511ull;
    len = std::min(len, size - off);
    int kind = static_cast<int>(r() % 10);
    if (kind < 7) {
        std::vector<uint8_t> d(len);
        for (auto& b : d) b = static_cast<uint8_t>(r());
        REQUIRE(im.write(off, d.data(), len));
        std::copy(d.begin(), d.end(), mirror.begin() + static_cast<long>(off));
    } else if (kind < 9) {
        REQUIRE(im.write_zeroes(off, len));
        std::fill_n(mirror.begin() + static_cast<long>(off), len, 0);
    } else if (discards) {
        // (a discard reads back as zeroes where it dropped whole
        // clusters; the mirror learns what the image says)
        REQUIRE(im.discard(off, len));
        std::vector<uint8_t> now(len);
        REQUIRE(im.read(off, now.data(), len));
        for (uint64_t k = 0; k < len; ++k)
            if (now[k] != mirror[off + k]) REQUIRE(now[k] == 0);
        std::copy(now.begin(), now.end(), mirror.begin() + static_cast<long>(off));
    } else {
        len = 0;
    }
    return {off, len};
}

void scribble(Image& im, std::vector<uint8_t>& mirror, uint32_t seed, int ops, bool discards_zero) {
    std::mt19937 r(seed);
    for (int i = 0; i < ops; ++i) random_op(im, mirror, r, 70000, discards_zero);
}

void require_same(Image& im, const std::vector<uint8_t>& mirror) {
    std::vector<uint8_t> back(mirror.size());
    REQUIRE(im.read(0, back.data(), back.size()));
    REQUIRE(back == mirror);
}

void require_check_clean(const std::string& img) {
    Cmd c = sh("qemu-img check " + img);
    INFO(c.out);
    REQUIRE(c.status == 0);
    REQUIRE(c.out.find("No errors were found") != std::string::npos);
    REQUIRE(c.out.find("leaked") == std::string::npos);
}

void require_qemu_reads(const std::string& raw, const std::string& img) {
    Cmd c = sh("qemu-img compare -f raw -F qcow2 " + raw + " " + img);
    INFO(c.out);
    REQUIRE(c.status == 0);
}

}  // namespace

TEST_CASE("qcow2: random writes, zeroes and discards pass qemu-img check and read back in QEMU", "[qcow2]") {
    struct Variant {
        const char* opts;
        uint64_t size;
    };
    // 512-byte clusters make the refcount table grow; 1- and 64-bit
    // refcounts and version 2 exercise the other layouts.
    const Variant variants[] = {
        {"cluster_size=65536", 64u << 20},
        {"cluster_size=512", 4u << 20},
        {"cluster_size=4096,refcount_bits=1", 16u << 20},
        {"cluster_size=4096,refcount_bits=64", 16u << 20},
        {"cluster_size=65536,compat=0.10", 32u << 20},
    };
    for (const auto& v : variants) {
        DYNAMIC_SECTION(v.opts) {
            TempDir t;
            std::string img = t / "d.qcow2";
            REQUIRE(sh("qemu-img create -q -f qcow2 -o " + std::string(v.opts) + " " + img + " " + std::to_string(v.size))
                        .status == 0);
            std::vector<uint8_t> mirror(v.size, 0);
            {
                auto im = open_rw(img);
                REQUIRE(std::string(im->format()) == "qcow2");
                REQUIRE(im->size() == v.size);
                im->pass_discard = true;
                scribble(*im, mirror, 7, 300, true);
                require_same(*im, mirror);
                REQUIRE(im->flush());
            }
            require_check_clean(img);
            save(t / "mirror.raw", mirror);
            require_qemu_reads(t / "mirror.raw", img);
            auto again = open_rw(img, true);  // and armvm reads what it wrote after a reopen
            require_same(*again, mirror);
        }
    }
}

TEST_CASE("qcow2: a backing chain (raw and qcow2, relative names) reads through and takes copy-on-write", "[qcow2]") {
    TempDir t;
    const uint64_t size = 8u << 20;
    auto base = random_bytes(size - 12345, 1);  // a backing file shorter than the disk: zeroes after it
    save(t / "base.raw", base);
    REQUIRE(sh("cd " + t.path + " && qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2 8M").status == 0);
    {  // some data in the middle layer, written by QEMU
        REQUIRE(sh("qemu-io -f qcow2 -c 'write -P 0x5a 1M 300k' " + (t / "mid.qcow2")).status == 0);
    }
    REQUIRE(sh("cd " + t.path + " && qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 -o cluster_size=4096 top.qcow2 8M")
                .status == 0);
    std::vector<uint8_t> mirror(size, 0);
    std::copy(base.begin(), base.end(), mirror.begin());
    std::fill_n(mirror.begin() + (1 << 20), 300 * 1024, 0x5a);
    {
        auto im = open_rw(t / "top.qcow2");
        REQUIRE(im->backing());
        REQUIRE(im->backing()->backing());
        REQUIRE(std::string(im->backing()->backing()->format()) == "raw");
        require_same(*im, mirror);  // all from the backing chain
        scribble(*im, mirror, 3, 200, true);
        require_same(*im, mirror);
    }
    require_check_clean(t / "top.qcow2");
    save(t / "mirror.raw", mirror);
    require_qemu_reads(t / "mirror.raw", t / "top.qcow2");
    // The backing files were not written.
    REQUIRE(sh("qemu-img check " + (t / "mid.qcow2")).status == 0);
    std::vector<uint8_t> b2(base.size());
    std::ifstream(t / "base.raw", std::ios::binary).read(reinterpret_cast<char*>(b2.data()), static_cast<std::streamsize>(b2.size()));
    REQUIRE(b2 == base);
}

TEST_CASE("qcow2: compressed clusters read, and writes into them copy out", "[qcow2]") {
    TempDir t;
    const uint64_t size = 4u << 20;
    std::vector<uint8_t> data(size);
    std::mt19937 r(5);
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<uint8_t>((i / 7) % 13 == 0 ? r() : i % 251);
    save(t / "src.raw", data);
    REQUIRE(sh("qemu-img convert -c -f raw -O qcow2 " + (t / "src.raw") + " " + (t / "c.qcow2")).status == 0);
    {  // compressed: the file is much smaller than the disk
        auto f = File::open(t / "c.qcow2", true, false);
        REQUIRE(f);
        REQUIRE((*f)->length() < size / 3);
    }
    {
        auto im = open_rw(t / "c.qcow2");
        require_same(*im, data);
        scribble(*im, data, 9, 150, true);
        require_same(*im, data);
    }
    require_check_clean(t / "c.qcow2");
    save(t / "mirror.raw", data);
    require_qemu_reads(t / "mirror.raw", t / "c.qcow2");
}

TEST_CASE("qcow2: writes after an internal snapshot leave the snapshot intact", "[qcow2]") {
    TempDir t;
    std::string img = t / "s.qcow2";
    const uint64_t size = 8u << 20;
    REQUIRE(sh("qemu-img create -q -f qcow2 -o cluster_size=4096 " + img + " 8M").status == 0);
    std::vector<uint8_t> mirror(size, 0);
    {
        auto im = open_rw(img);
        scribble(*im, mirror, 11, 100, true);
    }
    auto before = mirror;
    REQUIRE(sh("qemu-img snapshot -c s1 " + img).status == 0);
    {
        auto im = open_rw(img);
        require_same(*im, mirror);
        scribble(*im, mirror, 12, 200, true);
        require_same(*im, mirror);
    }
    require_check_clean(img);
    save(t / "now.raw", mirror);
    require_qemu_reads(t / "now.raw", img);
    REQUIRE(sh("qemu-img snapshot -a s1 " + img).status == 0);
    save(t / "before.raw", before);
    require_qemu_reads(t / "before.raw", img);
    require_check_clean(img);
}

TEST_CASE("qcow2: an image armvm creates is one QEMU reads; what it cannot handle is refused with a reason", "[qcow2]") {
    TempDir t;
    {
        auto f = File::open(t / "n.qcow2", false, false);
        // (File::open opens existing files only)
        REQUIRE(!f);
    }
    REQUIRE(sh("touch " + (t / "n.qcow2")).status == 0);
    {
        auto f = File::open(t / "n.qcow2", false, false);
        REQUIRE(f);
        REQUIRE(Qcow2Image::create(**f, 5u << 20, "", "", 16));
    }
    {
        std::vector<uint8_t> mirror(5u << 20, 0);
        auto im = open_rw(t / "n.qcow2");
        scribble(*im, mirror, 2, 100, true);
        save(t / "mirror.raw", mirror);
    }
    require_check_clean(t / "n.qcow2");
    require_qemu_reads(t / "mirror.raw", t / "n.qcow2");
    REQUIRE(sh("qemu-img info " + (t / "n.qcow2")).out.find("virtual size: 5 MiB") != std::string::npos);

    REQUIRE(sh("qemu-img create -q -f qcow2 -o compression_type=zstd " + (t / "z.qcow2") + " 1M").status == 0);
    auto f = File::open(t / "z.qcow2", false, false);
    REQUIRE(f);
    auto z = open_image(std::move(*f), ImageOptions{});
    REQUIRE(!z);
    REQUIRE(z.error().msg.find("zstd") != std::string::npos);

    save(t / "junk.qcow2", std::vector<uint8_t>{'Q', 'F', 'I', 0xfb, 0, 0, 0, 9});
    auto g = File::open(t / "junk.qcow2", true, false);
    REQUIRE(g);
    auto bad = open_image(std::move(*g), ImageOptions{"qcow2", false, nullptr, {}});
    REQUIRE(!bad);
}

TEST_CASE("qcow2: an image QEMU left dirty (lazy refcounts, then a crash) is repaired when opened for writing",
          "[qcow2]") {
    TempDir t;
    std::string img = t / "lazy.qcow2";
    REQUIRE(sh("qemu-img create -q -f qcow2 -o lazy_refcounts=on,cluster_size=4096 " + img + " 4M").status == 0);
    REQUIRE(sh("qemu-io -c 'write -P 0x11 512k 64k' " + img).status == 0);
    REQUIRE(sh("qemu-img snapshot -c s1 " + img).status == 0);
    // qemu-io's abort: the process dies with its refcount updates unwritten
    sh("qemu-io -c 'write -P 0x33 0 300k' -c 'write -P 0x44 1M 64k' -c 'write -P 0x55 520k 8k' -c abort " + img);
    REQUIRE(sh("qemu-img check " + img).status != 0);  // refcounts wrong, image dirty
    std::vector<uint8_t> mirror(4u << 20, 0);
    std::fill_n(mirror.begin() + (512 << 10), 64 << 10, 0x11);
    std::fill_n(mirror.begin(), 300 << 10, 0x33);
    std::fill_n(mirror.begin() + (1 << 20), 64 << 10, 0x44);
    std::fill_n(mirror.begin() + (520 << 10), 8 << 10, 0x55);
    {
        auto im = open_rw(img);
        REQUIRE(!im->dirty());
        require_same(*im, mirror);
        scribble(*im, mirror, 21, 100, true);
    }
    require_check_clean(img);
    save(t / "mirror.raw", mirror);
    require_qemu_reads(t / "mirror.raw", img);
    // the snapshot survives, its data intact
    REQUIRE(sh("qemu-img snapshot -a s1 " + img).status == 0);
    std::vector<uint8_t> at_s1(4u << 20, 0);
    std::fill_n(at_s1.begin() + (512 << 10), 64 << 10, 0x11);
    save(t / "s1.raw", at_s1);
    require_qemu_reads(t / "s1.raw", img);
    require_check_clean(img);
}

TEST_CASE("qcow2: a dirty image's refcount far from the count is set right at once", "[qcow2]") {
    // (the repair once stepped a refcount by one per write: 2^63 steps here)
    TempDir t;
    std::string img = t / "far.qcow2";
    REQUIRE(sh("qemu-img create -q -f qcow2 -o lazy_refcounts=on,refcount_bits=64,cluster_size=4096 " + img + " 1M")
                .status == 0);
    sh("qemu-io -c 'write -P 0x22 0 64k' -c abort " + img);  // dirty
    {
        std::fstream f(img, std::ios::in | std::ios::out | std::ios::binary);
        auto be64_at = [&](uint64_t off) {
            uint8_t b[8];
            f.seekg(static_cast<std::streamoff>(off));
            f.read(reinterpret_cast<char*>(b), 8);
            uint64_t v = 0;
            for (uint8_t x : b) v = v << 8 | x;
            return v;
        };
        uint64_t table = be64_at(48), block = be64_at(table);
        REQUIRE(block != 0);
        const char huge[8] = {'\x80', 0, 0, 0, 0, 0, 0, 0};  // the header cluster's refcount: 2^63
        f.seekp(static_cast<std::streamoff>(block));
        f.write(huge, 8);
    }
    std::vector<uint8_t> mirror(1u << 20, 0);
    std::fill_n(mirror.begin(), 64 << 10, 0x22);
    {
        auto im = open_rw(img);
        REQUIRE(!im->dirty());
        require_same(*im, mirror);
    }
    require_check_clean(img);
}

// cache.direct and the aio engines (block/aio.hpp): whatever the alignment
// of offset, length and buffer, a file reads and writes like a plain copy,
// keeps its length (a direct write ending inside the last block), and a
// batch of requests in flight together lands as the same requests one by one.
TEST_CASE("Direct files and every aio engine behave as a plain copy, at any alignment") {
    for (AioMode mode : {AioMode::Threads, AioMode::IoUring, AioMode::Native}) {
        if (!aio_available(mode)) continue;
        for (bool direct : {false, true}) {
            if (mode == AioMode::Native && !direct) continue;
            CAPTURE(aio_name(mode), direct);
            TempDir t;
            std::string path = t / "f.raw";
            std::vector<uint8_t> shadow((1 << 20) + 1000);  // (not a multiple of any block size)
            std::mt19937 rng(7);
            for (auto& b : shadow) b = static_cast<uint8_t>(rng());
            save(path, shadow);
            auto f = File::open(path, false, false, FileOptions{direct, false, mode});
            if (!f) FAIL(f.error().msg);
            File& file = **f;
            for (int i = 0; i < 200; ++i) {
                uint64_t off = rng() % shadow.size();
                size_t len = 1 + rng() % std::min<size_t>(70000, shadow.size() - off);
                std::vector<uint8_t> d(len + 8);
                uint8_t* p = d.data() + rng() % 8;  // (a buffer at any address)
                for (size_t k = 0; k < len; ++k) p[k] = static_cast<uint8_t>(rng());
                REQUIRE(file.pwrite_full(off, p, len));
                std::copy(p, p + len, shadow.begin() + static_cast<long>(off));
                if (i % 25 == 0) {
                    std::vector<uint8_t> back(shadow.size() + 3);
                    REQUIRE(file.pread_full(0, back.data() + 3, shadow.size()));
                    REQUIRE(std::equal(shadow.begin(), shadow.end(), back.begin() + 3));
                }
            }
            // Writes ending inside the last (partial) block, and inside the first.
            for (uint64_t off : {shadow.size() - 10, shadow.size() - 1, uint64_t{3}, shadow.size() - 700}) {
                uint8_t d[5] = {1, 2, 3, 4, 5};
                size_t len = std::min<size_t>(5, shadow.size() - off);
                REQUIRE(file.pwrite_full(off, d, len));
                std::copy(d, d + len, shadow.begin() + static_cast<long>(off));
                REQUIRE(file.length() == shadow.size());
            }
            // A batch: 16 aligned 64 KiB writes in flight together, then read back in one batch.
            constexpr size_t kLen = 65536;
            void* mem = nullptr;
            REQUIRE(::posix_memalign(&mem, 4096, 32 * kLen) == 0);
            std::unique_ptr<void, void (*)(void*)> hold(mem, std::free);
            auto* buf = static_cast<uint8_t*>(mem);
            for (size_t k = 0; k < 16 * kLen; ++k) buf[k] = static_cast<uint8_t>(rng());
            std::vector<iovec> iov(32);
            std::vector<IoReq> reqs(16);
            for (size_t k = 0; k < 16; ++k) {
                iov[k] = {buf + k * kLen, kLen};
                reqs[k] = IoReq{true, k * kLen, &iov[k], 1, 0};
                std::copy(buf + k * kLen, buf + (k + 1) * kLen, shadow.begin() + static_cast<long>(k * kLen));
            }
            REQUIRE(file.submit(reqs.data(), reqs.size()));
            for (auto& r : reqs) REQUIRE(r.res == static_cast<ssize_t>(kLen));
            for (size_t k = 0; k < 16; ++k) {
                iov[16 + k] = {buf + (16 + k) * kLen, kLen};
                reqs[k] = IoReq{false, k * kLen, &iov[16 + k], 1, 0};
            }
            REQUIRE(file.submit(reqs.data(), reqs.size()));
            REQUIRE(std::equal(buf + 16 * kLen, buf + 32 * kLen, shadow.begin()));
            REQUIRE(file.sync());
            REQUIRE(file.length() == shadow.size());
            f->reset();
            std::ifstream in(path, std::ios::binary);
            std::vector<uint8_t> disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            REQUIRE(disk == shadow);
        }
    }
}

TEST_CASE("A qcow2 image on a direct io_uring file passes qemu-img check and reads back") {
    TempDir t;
    std::string path = t / "d.qcow2";
    REQUIRE(sh("qemu-img create -q -f qcow2 -o cluster_size=4096 " + path + " 8M").status == 0);
    std::vector<uint8_t> shadow(8 << 20);
    {
        auto f = File::open(path, false, false, FileOptions{true, false, aio_available(AioMode::IoUring) ? AioMode::IoUring : AioMode::Threads});
        if (!f) FAIL(f.error().msg);
        auto im = open_image(std::move(*f), ImageOptions{});
        if (!im) FAIL(im.error().msg);
        std::mt19937 rng(11);
        for (int i = 0; i < 300; ++i) {
            uint64_t off = rng() % shadow.size();
            size_t len = 1 + rng() % std::min<size_t>(20000, shadow.size() - off);
            std::vector<uint8_t> d(len);
            for (auto& b : d) b = static_cast<uint8_t>(rng());
            REQUIRE((*im)->write(off, d.data(), len));
            std::copy(d.begin(), d.end(), shadow.begin() + static_cast<long>(off));
        }
        std::vector<uint8_t> back(shadow.size());
        REQUIRE((*im)->read(0, back.data(), back.size()));
        REQUIRE(back == shadow);
        REQUIRE((*im)->flush());
    }
    auto c = sh("qemu-img check " + path);
    INFO(c.out);
    REQUIRE(c.status == 0);
    REQUIRE(sh("qemu-img convert -O raw " + path + " " + t / "c.raw").status == 0);
    std::ifstream in(t / "c.raw", std::ios::binary);
    std::vector<uint8_t> disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(disk == shadow);
}

namespace {

// The file as a crash leaves it: `base`, then the log's entries up to
// `upto` (exclusive), then of the entries in [upto, end) those `keep` says.
std::vector<uint8_t> crash_image(const std::vector<uint8_t>& base, const std::vector<FileOp>& log, size_t upto,
                                 size_t end, const std::vector<bool>& keep) {
    std::vector<uint8_t> f = base;
    for (size_t i = 0; i < end; ++i) {
        if (i >= upto && !keep[i - upto]) continue;
        const FileOp& op = log[i];
        if (op.kind == FileOp::Truncate) f.resize(op.off, 0);
        if (op.kind != FileOp::Write) continue;
        if (f.size() < op.off + op.data.size()) f.resize(op.off + op.data.size(), 0);
        std::copy(op.data.begin(), op.data.end(), f.begin() + static_cast<long>(op.off));
    }
    return f;
}

}  // namespace

TEST_CASE("qcow2: a host crash at any point (writes since the last sync lost or kept in any mix) leaves a consistent "
          "image holding every flushed write",
          "[qcow2]") {
    // A power cut keeps what was synced, and of the writes after it any
    // subset. The image's file log (every write and sync armvm made) is
    // replayed that way at random sync points; qemu-img check must find no
    // errors (leaked clusters allowed, as QEMU after a crash), and every
    // sector no write touched since the last completed flush must hold
    // what it held at that flush. 512-byte clusters make L2 tables,
    // refcount blocks and the refcount table grow often.
    // With 64-bit refcounts the refcount table itself moves; without
    // discard=unmap freed clusters keep their old bytes when reused (a
    // table named before its contents are on the disk reads as garbage).
    auto [opts, unmap] = GENERATE(std::make_pair("cluster_size=512", false),
                                  std::make_pair("cluster_size=512,refcount_bits=64", true));
    INFO(opts << (unmap ? ", discard=unmap" : ""));
    TempDir t;
    std::string img = t / "d.qcow2";
    const uint64_t size = 4u << 20;
    REQUIRE(sh("qemu-img create -q -f qcow2 -o " + std::string(opts) + " " + img + " " + std::to_string(size)).status ==
            0);
    std::vector<FileOp> log;
    std::vector<uint8_t> base;
    struct Flush {
        size_t log_end;           // the log's size when the flush returned
        size_t op;                // the guest operation it was
        std::vector<uint8_t> disk;
    };
    std::vector<Flush> flushes;
    std::vector<std::pair<uint64_t, uint64_t>> op_range;  // each operation's bytes
    std::vector<size_t> op_log_end;                        // the log's size after each operation
    {
        auto f = File::open(img, false, false);
        REQUIRE(f);
        auto opened = open_image(std::move(*f), ImageOptions{});
        REQUIRE(opened);
        Image& im = **opened;
        im.pass_discard = unmap;
        base.resize(im.file().length());
        REQUIRE(im.file().pread_full(0, base.data(), base.size()));
        im.file().set_log(&log);
        std::vector<uint8_t> mirror(size, 0);
        std::mt19937 r(99);
        flushes.push_back({0, 0, mirror});
        for (size_t op = 1; op <= 500; ++op) {
            if (op % 17 == 0) {
                REQUIRE(im.flush());
                op_range.push_back({0, 0});
                flushes.push_back({log.size(), op, mirror});
            } else {
                op_range.push_back(random_op(im, mirror, r, 30000, true));
            }
            op_log_end.push_back(log.size());
        }
        im.file().set_log(nullptr);
    }
    std::vector<size_t> syncs{0};  // crash points: after the i-th sync (0: none yet)
    for (size_t i = 0; i < log.size(); ++i)
        if (log[i].kind == FileOp::Sync) syncs.push_back(i + 1);
    INFO(log.size() << " file operations, " << syncs.size() - 1 << " syncs");
    REQUIRE(syncs.size() > 40);
    // The rare moments matter most: crash points where the header moves
    // to a new refcount table get every third trial.
    std::vector<size_t> moves;
    for (size_t k = 0; k + 1 < syncs.size(); ++k)
        for (size_t i = syncs[k]; i < syncs[k + 1]; ++i)
            if (log[i].kind == FileOp::Write && log[i].off == 48) moves.push_back(k);
    if (unmap) REQUIRE(!moves.empty());
    require_check_clean(img);  // (and the image as closed: no leaks at all)
    std::mt19937 r(5);
    std::string crash = t / "crash.qcow2", raw = t / "crash.raw";
    for (int trial = 0; trial < 80; ++trial) {
        size_t k = trial % 3 == 2 && !moves.empty() ? moves[r() % moves.size()] : r() % syncs.size();
        size_t upto = syncs[k];
        size_t end = k + 1 < syncs.size() ? syncs[k + 1] : log.size();
        // Of the writes after the sync: a random mix, or (a process killed)
        // a prefix in order.
        std::vector<bool> keep(end - upto);
        size_t prefix = end - upto ? r() % (end - upto + 1) : 0;
        for (size_t i = 0; i < keep.size(); ++i) keep[i] = trial % 4 == 0 ? i < prefix : r() % 2 == 0;
        save(crash, crash_image(base, log, upto, end, keep));
        Cmd c = sh("qemu-img check " + crash);
        INFO("crash after sync " << k << " of " << syncs.size() - 1 << ", trial " << trial << "\n" << c.out);
        REQUIRE((c.status == 0 || c.status == 3));  // (3: leaked clusters only)
        REQUIRE(c.out.find("ERROR") == std::string::npos);
        // The last flush whose writes are all in the synced part, and the
        // sectors written by any operation after it (theirs may be old or new).
        size_t f = 0;
        while (f + 1 < flushes.size() && flushes[f + 1].log_end <= upto) ++f;
        std::vector<bool> unsure(size / 512, false);
        for (size_t op = flushes[f].op + 1; op <= op_range.size(); ++op) {
            if (op >= 2 && op_log_end[op - 2] >= end) break;  // (it began after the crash)
            auto [off, len] = op_range[op - 1];
            for (uint64_t s = off / 512; len && s <= (off + len - 1) / 512; ++s) unsure[s] = true;
        }
        REQUIRE(sh("qemu-img convert -f qcow2 -O raw " + crash + " " + raw).status == 0);
        std::ifstream in(raw, std::ios::binary);
        std::vector<uint8_t> got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        REQUIRE(got.size() == size);
        size_t bad = 0;
        for (size_t s = 0; s < unsure.size(); ++s)
            if (!unsure[s] && !std::equal(got.begin() + static_cast<long>(s * 512), got.begin() + static_cast<long>(s * 512 + 512),
                                          flushes[f].disk.begin() + static_cast<long>(s * 512)))
                ++bad;
        INFO("last complete flush: operation " << flushes[f].op);
        REQUIRE(bad == 0);
    }
}
