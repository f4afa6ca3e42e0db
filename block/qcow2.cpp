#include "block/qcow2.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace armvm {

namespace {

constexpr uint64_t kOffsetMask = 0x00fffffffffffe00ull;  // L1 and standard L2 entries
constexpr uint64_t kCopied = 1ull << 63;                 // refcount is exactly 1
constexpr uint64_t kCompressed = 1ull << 62;
constexpr uint64_t kZero = 1ull;  // (version 3) reads as zeroes
constexpr uint64_t kBackingFormatExt = 0xe2792aca;
constexpr uint64_t kIncompatDirty = 1, kIncompatCorrupt = 2, kIncompatDataFile = 4, kIncompatCompression = 8,
                   kIncompatExtL2 = 16;

uint64_t be64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
    return v;
}
uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void put_be64(uint8_t* p, uint64_t v) {
    for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
void put_be32(uint8_t* p, uint32_t v) {
    for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

std::string dirname_of(const std::string& path) {
    auto k = path.rfind('/');
    return k == std::string::npos ? "" : path.substr(0, k + 1);
}

}  // namespace

template <typename T>
T* Qcow2Image::Cache<T>::find(uint64_t off) {
    auto it = index.find(off);
    if (it == index.end()) return nullptr;
    items.splice(items.begin(), items, it->second);
    return &it->second->second;
}

template <typename T>
T& Qcow2Image::Cache<T>::insert(uint64_t off, T value) {
    erase(off);
    if (items.size() >= cap) {
        index.erase(items.back().first);
        items.pop_back();
    }
    items.emplace_front(off, std::move(value));
    index[off] = items.begin();
    return items.front().second;
}

template <typename T>
void Qcow2Image::Cache<T>::erase(uint64_t off) {
    auto it = index.find(off);
    if (it == index.end()) return;
    items.erase(it->second);
    index.erase(it);
}

bool Qcow2Image::fail(const char* what) {
    if (!reported_) {
        std::fprintf(stderr, "armvm: qcow2 image '%s': %s\n", file_->name().c_str(), what);
        reported_ = true;
    }
    return false;
}

Result<std::shared_ptr<Qcow2Image>> Qcow2Image::open(std::unique_ptr<File> file, ImageOptions opts) {
    std::shared_ptr<Qcow2Image> q(new Qcow2Image(std::move(file)));
    ARMVM_TRY(q->load(opts));
    return q;
}

Status Qcow2Image::load(ImageOptions& opts) {
    const std::string& name = file_->name();
    auto bad = [&](const std::string& why) { return make_error("Image '" + name + "' is not a valid qcow2 image: " + why); };
    uint8_t h[112] = {};
    if (file_->length() < 72 || !file_->pread_full(0, h, sizeof h)) return bad("too short");
    if (std::memcmp(h, "QFI\xfb", 4) != 0) return make_error("Image is not in qcow2 format");
    version_ = be32(h + 4);
    if (version_ != 2 && version_ != 3) return make_error("Unsupported qcow2 version " + std::to_string(version_));
    uint64_t backing_off = be64(h + 8);
    uint32_t backing_len = be32(h + 16);
    cluster_bits_ = be32(h + 20);
    if (cluster_bits_ < 9 || cluster_bits_ > 21)
        return make_error("Unsupported cluster size: 2^" + std::to_string(cluster_bits_));
    cs_ = 1ull << cluster_bits_;
    l2_entries_ = cs_ / 8;
    size_ = be64(h + 24);
    if (be32(h + 32) != 0) return make_error("'" + name + "': encrypted qcow2 images are not supported");
    uint32_t l1_size = be32(h + 36);
    l1_off_ = be64(h + 40);
    rt_off_ = be64(h + 48);
    rt_clusters_ = be32(h + 56);
    uint32_t header_len = 72;
    refcount_order_ = 4;
    uint64_t autoclear = 0;
    if (version_ == 3) {
        incompat_ = be64(h + 72);
        compat_ = be64(h + 80);
        autoclear = be64(h + 88);
        refcount_order_ = be32(h + 96);
        header_len = be32(h + 100);
        if (header_len < 104 || header_len > cs_) return bad("bad header length");
        if (refcount_order_ > 6) return bad("bad refcount order");
        uint64_t unknown = incompat_ & ~(kIncompatDirty | kIncompatCorrupt | kIncompatDataFile | kIncompatCompression |
                                         kIncompatExtL2);
        if (unknown) return make_error("Unsupported qcow2 feature(s): incompatible bits " + std::to_string(unknown));
        if (incompat_ & kIncompatDataFile) return make_error("'" + name + "': qcow2 external data files are not supported");
        if (incompat_ & kIncompatExtL2) return make_error("'" + name + "': qcow2 extended L2 entries are not supported");
        if (incompat_ & kIncompatCompression) {
            if (header_len < 105 || h[104] != 0)
                return make_error("'" + name + "': qcow2 compression type zstd is not supported");
        }
        if (!file_->read_only() && (incompat_ & kIncompatCorrupt))
            return make_error("qcow2: Image is corrupt; cannot be opened read/write");
    }
    rb_bits_ = static_cast<unsigned>(cluster_bits_ + 3 - refcount_order_);
    // Tables: aligned, inside sane bounds.
    uint64_t l2_span = cs_ * l2_entries_;
    uint64_t l1_needed = (size_ + l2_span - 1) / l2_span;
    if (l1_size < l1_needed) return bad("L1 table too small for the image size");
    if (l1_size > (32u << 20) / 8) return bad("L1 table too large");
    if ((l1_off_ & (cs_ - 1)) || (rt_off_ & (cs_ - 1)) || rt_off_ == 0) return bad("misaligned table");
    if (rt_clusters_ == 0 || rt_clusters_ > (8u << 20) / cs_ + 1) return bad("bad refcount table size");
    std::vector<uint8_t> buf(std::max<uint64_t>(l1_size * 8, rt_clusters_ * cs_));
    if (l1_size && !file_->pread_full(l1_off_, buf.data(), l1_size * 8)) return bad("cannot read the L1 table");
    l1_.resize(l1_size);
    for (uint32_t i = 0; i < l1_size; ++i) l1_[i] = be64(&buf[i * 8]);
    if (!file_->pread_full(rt_off_, buf.data(), rt_clusters_ * cs_)) return bad("cannot read the refcount table");
    rt_.resize(rt_clusters_ * cs_ / 8);
    for (size_t i = 0; i < rt_.size(); ++i) rt_[i] = be64(&buf[i * 8]) & ~511ull;
    // Header extensions: the backing file's format.
    std::vector<uint8_t> first(cs_);
    if (!file_->pread_full(0, first.data(), cs_)) return bad("cannot read the header");
    for (uint64_t p = header_len; p + 8 <= cs_;) {
        uint32_t type = be32(&first[p]), len = be32(&first[p + 4]);
        if (type == 0) break;
        if (p + 8 + len > cs_) return bad("header extension too long");
        if (type == kBackingFormatExt) backing_fmt_.assign(reinterpret_cast<char*>(&first[p + 8]), len);
        p += 8 + ((len + 7) & ~7u);
    }
    if (backing_off) {
        if (backing_len > 1023 || backing_off + backing_len > cs_) return bad("bad backing file name");
        backing_name_.assign(reinterpret_cast<char*>(&first[backing_off]), backing_len);
    }
    size_t cache_tables = std::max<size_t>(16, (32u << 20) / cs_);
    l2_cache_.cap = cache_tables;
    rb_cache_.cap = std::max<size_t>(4, cache_tables / 4);
    // Autoclear bits this implementation does not keep (bitmaps) are
    // cleared when the image is opened for writing, as the format asks.
    if (!file_->read_only() && version_ == 3 && autoclear) {
        uint8_t z[8] = {};
        if (!file_->pwrite_full(88, z, 8)) return make_error("Could not update qcow2 header of '" + name + "'");
    }
    if (!file_->read_only() && (incompat_ & kIncompatDirty)) {
        Status st = repair_refcounts();
        if (!st) return make_error("'" + name + "': the qcow2 image is dirty and could not be repaired: " +
                                   st.error().msg);
    }
    // The backing image.
    if (opts.backing_given) {
        backing_ = std::move(opts.backing);
    } else if (!backing_name_.empty()) {
        std::string path = backing_name_;
        if (path[0] != '/' && path.find(':') == std::string::npos) path = dirname_of(name) + path;
        auto bf = File::open(path, true, false, opts.backing_file);
        if (!bf) return make_error("Could not open backing file: " + bf.error().msg);
        ImageOptions bo;
        bo.format = backing_fmt_;
        bo.backing_file = opts.backing_file;
        auto b = open_image(std::move(*bf), std::move(bo));
        if (!b) return make_error("Could not open backing image '" + path + "': " + b.error().msg);
        backing_ = std::move(*b);
    }
    return ok_status();
}

Status Qcow2Image::create(File& f, uint64_t size, const std::string& backing, const std::string& backing_fmt,
                          unsigned cluster_bits) {
    uint64_t cs = 1ull << cluster_bits;
    uint64_t l2_span = cs * (cs / 8);
    uint64_t l1_size = (size + l2_span - 1) / l2_span;
    uint64_t l1_clusters = std::max<uint64_t>(1, (l1_size * 8 + cs - 1) / cs);
    uint64_t total = 3 + l1_clusters;  // header, refcount table, refcount block, L1
    if (total > cs / 2 || backing.size() > 1023) return make_error("Could not create the qcow2 image: too large");
    std::vector<uint8_t> img(total * cs, 0);
    uint8_t* h = img.data();
    std::memcpy(h, "QFI\xfb", 4);
    put_be32(h + 4, 3);
    put_be32(h + 20, cluster_bits);
    put_be64(h + 24, size);
    put_be32(h + 36, static_cast<uint32_t>(l1_size));
    put_be64(h + 40, 3 * cs);
    put_be64(h + 48, cs);
    put_be32(h + 56, 1);
    put_be32(h + 96, 4);    // 16-bit refcounts
    put_be32(h + 100, 104);
    uint64_t p = 104;
    if (!backing_fmt.empty()) {
        put_be32(h + p, static_cast<uint32_t>(kBackingFormatExt));
        put_be32(h + p + 4, static_cast<uint32_t>(backing_fmt.size()));
        std::memcpy(h + p + 8, backing_fmt.data(), backing_fmt.size());
        p += 8 + ((backing_fmt.size() + 7) & ~7ull);
    }
    p += 8;  // the end of the extensions (type 0)
    if (!backing.empty()) {
        put_be64(h + 8, p);
        put_be32(h + 16, static_cast<uint32_t>(backing.size()));
        std::memcpy(h + p, backing.data(), backing.size());
    }
    put_be64(&img[cs], 2 * cs);  // refcount table -> the block
    for (uint64_t c = 0; c < total; ++c) img[2 * cs + c * 2 + 1] = 1;  // each refcount 1 (16-bit, big-endian)
    if (!f.truncate(0) || !f.pwrite_full(0, img.data(), img.size()))
        return make_error("Could not write the qcow2 image '" + f.name() + "'");
    return ok_status();
}

// ---- refcounts ----

Status Qcow2Image::repair_refcounts() {
    uint64_t file_clusters = (file_->length() + cs_ - 1) >> cluster_bits_;
    std::vector<uint32_t> refs(file_clusters + 1, 0);
    bool bad = false;
    auto ref = [&](uint64_t off, uint64_t len) {
        if (!len) return;
        for (uint64_t c = off >> cluster_bits_; c <= (off + len - 1) >> cluster_bits_; ++c) {
            if (c > file_clusters + (1u << 20)) {
                bad = true;
                return;
            }
            if (c >= refs.size()) refs.resize(c + 1, 0);
            ++refs[c];
        }
    };
    ref(0, cs_);
    ref(rt_off_, rt_clusters_ * cs_);
    for (uint64_t e : rt_)
        if (e) ref(e, cs_);
    auto walk_l1 = [&](uint64_t l1_off, uint64_t l1_size) -> bool {
        if (!l1_size) return true;
        ref(l1_off, l1_size * 8);
        std::vector<uint8_t> raw(l1_size * 8);
        if (!file_->pread_full(l1_off, raw.data(), raw.size())) return false;
        std::vector<uint8_t> l2(cs_);
        std::unordered_set<uint64_t> seen;  // (a table named twice by one L1: corrupt, read once)
        for (uint64_t i = 0; i < l1_size && !bad; ++i) {
            uint64_t l2off = be64(&raw[i * 8]) & kOffsetMask;
            if (!l2off) continue;
            ref(l2off, cs_);
            if (!seen.insert(l2off).second) continue;
            if (!file_->pread_full(l2off, l2.data(), cs_)) return false;
            for (uint64_t k = 0; k < l2_entries_; ++k) {
                uint64_t x = be64(&l2[k * 8]);
                if (x & kCompressed) {
                    uint64_t host, clen;
                    compressed_span(x, host, clen);
                    ref(host, clen);
                } else if (x & kOffsetMask) {
                    ref(x & kOffsetMask, cs_);
                }
            }
        }
        return true;
    };
    if (!walk_l1(l1_off_, l1_.size())) return make_error("cannot read the L1/L2 tables");
    // Internal snapshots: their table, and their L1 tables.
    uint8_t h[72];
    if (!file_->pread_full(0, h, sizeof h)) return make_error("cannot read the header");
    uint32_t nb = be32(h + 60);
    uint64_t at = be64(h + 64), start = at;
    for (uint32_t i = 0; i < nb && !bad; ++i) {
        uint8_t s[40];
        if (!file_->pread_full(at, s, sizeof s)) return make_error("cannot read the snapshot table");
        uint64_t l1off = be64(s);
        uint32_t l1size = be32(s + 8);
        uint16_t id_len = static_cast<uint16_t>(s[12] << 8 | s[13]), name_len = static_cast<uint16_t>(s[14] << 8 | s[15]);
        uint32_t extra = be32(s + 36);
        if (l1size > (32u << 20) / 8 || extra > 1024) return make_error("bad snapshot table");
        if (!walk_l1(l1off, l1size)) return make_error("cannot read a snapshot's tables");
        at += (40 + extra + id_len + name_len + 7) & ~7ull;
    }
    if (nb) ref(start, at - start);
    if (bad) return make_error("tables point far beyond the end of the file");
    // Every cluster's refcount as counted. New refcount blocks made on the
    // way are counted in `refs` too (ensure_refblock, grow_refcount_table).
    for (uint64_t c = 0; c < refs.size(); ++c)
        if (refs[c]) reserved_.insert(c);
    repair_refs_ = &refs;
    Status result = ok_status();
    // (refcounts far past the end of the file are left: leaks at most)
    uint64_t end = std::min<uint64_t>(std::max<uint64_t>(refs.size(), rt_.size() << rb_bits_),
                                      file_clusters + (1u << 20));
    for (uint64_t c = 0; c < end && result.ok(); ++c) {
        if (c >= refs.size() && (c >> rb_bits_) < rt_.size() && !rt_[c >> rb_bits_]) {
            c = (((c >> rb_bits_) + 1) << rb_bits_) - 1;  // (no block: all zero)
            continue;
        }
        uint64_t have;
        if (!refcount(c, have)) result = make_error("cannot read a refcount block");
        uint64_t want = c < refs.size() ? refs[c] : 0;
        reserved_.erase(c);
        if (result.ok() && have != want && !set_refcount(c, want)) result = make_error("cannot write a refcount");
    }
    repair_refs_ = nullptr;
    reserved_.clear();
    ARMVM_TRY(result);
    incompat_ &= ~kIncompatDirty;
    uint8_t v[8];
    put_be64(v, incompat_);
    if (!file_->sync() || !file_->pwrite_full(72, v, 8) || !file_->sync())
        return make_error("cannot clear the dirty bit");
    std::fprintf(stderr, "armvm: qcow2 image '%s' was not closed cleanly; its refcounts were repaired\n",
                 file_->name().c_str());
    return ok_status();
}

uint64_t Qcow2Image::get_rc(const std::vector<uint8_t>& b, uint64_t i) const {
    unsigned w = 1u << refcount_order_;
    if (w < 8) {
        unsigned per = 8 / w;
        return (b[i / per] >> (w * (i % per))) & ((1u << w) - 1);
    }
    uint64_t v = 0;
    for (unsigned k = 0; k < w / 8; ++k) v = v << 8 | b[i * (w / 8) + k];
    return v;
}

void Qcow2Image::put_rc(std::vector<uint8_t>& b, uint64_t i, uint64_t v) const {
    unsigned w = 1u << refcount_order_;
    if (w < 8) {
        unsigned per = 8 / w, sh = w * (i % per);
        uint8_t m = static_cast<uint8_t>(((1u << w) - 1) << sh);
        b[i / per] = static_cast<uint8_t>((b[i / per] & ~m) | ((v << sh) & m));
        return;
    }
    for (int k = static_cast<int>(w / 8) - 1; k >= 0; --k, v >>= 8) b[i * (w / 8) + k] = static_cast<uint8_t>(v);
}

bool Qcow2Image::write_rc(uint64_t block_off, const std::vector<uint8_t>& b, uint64_t i) {
    unsigned w = 1u << refcount_order_;
    uint64_t byte = w < 8 ? i / (8 / w) : i * (w / 8);
    return file_->pwrite_full(block_off + byte, &b[byte], w < 8 ? 1 : w / 8);
}

bool Qcow2Image::load_refblock(uint64_t off, std::vector<uint8_t>*& block) {
    if ((block = rb_cache_.find(off))) return true;
    if (off & (cs_ - 1)) return fail("misaligned refcount block");
    std::vector<uint8_t> b(cs_);
    if (!file_->pread_full(off, b.data(), cs_)) return fail("cannot read a refcount block");
    block = &rb_cache_.insert(off, std::move(b));
    return true;
}

bool Qcow2Image::refcount(uint64_t cluster, uint64_t& rc) {
    rc = 0;
    uint64_t rti = cluster >> rb_bits_;
    if (rti >= rt_.size() || rt_[rti] == 0) return true;
    std::vector<uint8_t>* b;
    if (!load_refblock(rt_[rti], b)) return false;
    rc = get_rc(*b, cluster & ((1ull << rb_bits_) - 1));
    return true;
}

// Free clusters (refcount 0, not reserved): `count` in a row from the hint.
bool Qcow2Image::find_free(uint64_t count, uint64_t& first) {
    uint64_t run = 0;
    // Past the end of the file every cluster is free in a sound image: a
    // scan that goes far beyond it meets refcounts a corrupt image made up.
    uint64_t limit = std::max(free_hint_, file_->length() >> cluster_bits_) + count + (1u << 20);
    for (uint64_t c = free_hint_;; ++c) {
        if (c >= (1ull << (56 - cluster_bits_))) return fail("image full");
        if (c > limit) return fail("corrupt refcounts: no free cluster after the end of the file");
        uint64_t rc;
        if (!refcount(c, rc)) return false;
        if (rc == 0 && !reserved_.count(c)) {
            if (++run == count) {
                first = c + 1 - count;
                return true;
            }
        } else {
            run = 0;
        }
    }
}

bool Qcow2Image::grow_refcount_table(uint64_t rti) {
    if (growing_) return fail("refcount table growth recursed");
    ++growing_;
    uint64_t entries = std::max<uint64_t>(rti + 1, rt_.size() * 2);
    uint64_t k = (entries * 8 + cs_ - 1) / cs_;
    entries = k * cs_ / 8;
    uint64_t t;
    bool ok = find_free(k, t);
    if (ok) {
        for (uint64_t i = 0; i < k; ++i) reserved_.insert(t + i);
        std::vector<uint64_t> nrt = rt_;
        nrt.resize(entries, 0);
        std::vector<uint8_t> raw(k * cs_);
        for (size_t i = 0; i < nrt.size(); ++i) put_be64(&raw[i * 8], nrt[i]);
        uint64_t old_off = rt_off_, old_clusters = rt_clusters_;
        ok = file_->pwrite_full(t << cluster_bits_, raw.data(), raw.size());
        if (ok) {
            // From here refcount updates go to the new table; the header
            // still names the old one until the new table's own clusters
            // are counted.
            rt_ = std::move(nrt);
            rt_off_ = t << cluster_bits_;
            rt_clusters_ = k;
            // (they stay reserved meanwhile: a refcount block made for
            // one of them must not land on another)
            for (uint64_t i = 0; ok && i < k; ++i) ok = update_refcount(t + i, +1);
            uint8_t hdr[12];
            put_be64(hdr, rt_off_);
            put_be32(hdr + 8, static_cast<uint32_t>(rt_clusters_));
            // (the new table and its counts on the disk before the header
            // names it; the header before the old table's clusters go)
            ok = ok && file_->sync() && file_->pwrite_full(48, hdr, sizeof hdr) && file_->sync();
            for (uint64_t i = 0; ok && i < old_clusters; ++i) ok = update_refcount((old_off >> cluster_bits_) + i, -1);
            if (ok && repair_refs_) {  // (the new table counts, the old one no more)
                auto& r = *repair_refs_;
                if (t + k > r.size()) r.resize(t + k, 0);
                for (uint64_t i = 0; i < k; ++i) ++r[t + i];
                for (uint64_t i = 0; i < old_clusters; ++i)
                    if ((old_off >> cluster_bits_) + i < r.size() && r[(old_off >> cluster_bits_) + i])
                        --r[(old_off >> cluster_bits_) + i];
            }
        }
        for (uint64_t i = 0; i < k; ++i) reserved_.erase(t + i);
    }
    --growing_;
    return ok;
}

bool Qcow2Image::ensure_refblock(uint64_t rti) {
    if (rti >= rt_.size() && !grow_refcount_table(rti)) return false;
    if (rt_[rti]) return true;
    uint64_t nb;
    if (!find_free(1, nb)) return false;
    reserved_.insert(nb);
    std::vector<uint8_t> b(cs_, 0);
    bool self = (nb >> rb_bits_) == rti;
    if (self) put_rc(b, nb & ((1ull << rb_bits_) - 1), 1);
    // A block elsewhere counts the new block before the table names it.
    bool ok = self || update_refcount(nb, +1);
    if (ok && rt_[rti]) {  // (counting it made the block for this range after all)
        reserved_.erase(nb);
        return update_refcount(nb, -1);
    }
    ok = ok && file_->pwrite_full(nb << cluster_bits_, b.data(), cs_);
    if (ok) {
        // (the block and its own count on the disk before the table names it)
        uint8_t e[8];
        put_be64(e, nb << cluster_bits_);
        ok = file_->sync() && file_->pwrite_full(rt_off_ + rti * 8, e, 8);
        if (ok) {
            rt_[rti] = nb << cluster_bits_;
            rb_cache_.insert(rt_[rti], std::move(b));
            if (repair_refs_) {
                if (nb >= repair_refs_->size()) repair_refs_->resize(nb + 1, 0);
                ++(*repair_refs_)[nb];
            }
        }
    }
    reserved_.erase(nb);
    return ok;
}

bool Qcow2Image::update_refcount(uint64_t cluster, int delta) {
    uint64_t rti = cluster >> rb_bits_;
    if (delta > 0 && !ensure_refblock(rti)) return false;
    if (rti >= rt_.size() || rt_[rti] == 0) return fail("freeing a cluster without a refcount");
    std::vector<uint8_t>* b;
    if (!load_refblock(rt_[rti], b)) return false;
    uint64_t i = cluster & ((1ull << rb_bits_) - 1);
    uint64_t rc = get_rc(*b, i);
    unsigned w = 1u << refcount_order_;
    uint64_t max = w == 64 ? ~0ull : (1ull << w) - 1;
    if (delta > 0 && rc == max) return fail("refcount overflow");
    if (delta < 0 && rc == 0) return fail("refcount underflow");
    return store_refcount(cluster, *b, delta > 0 ? rc + 1 : rc - 1);
}

// The repair's: a cluster's refcount set at once to what was counted (a
// corrupt count may be up to 2^64 away from it).
bool Qcow2Image::set_refcount(uint64_t cluster, uint64_t rc) {
    uint64_t rti = cluster >> rb_bits_;
    if (rc > 0 && !ensure_refblock(rti)) return false;
    if (rti >= rt_.size() || rt_[rti] == 0) return rc == 0;
    std::vector<uint8_t>* b;
    if (!load_refblock(rt_[rti], b)) return false;
    unsigned w = 1u << refcount_order_;
    if (w < 64 && rc >> w) return fail("refcount overflow");
    return store_refcount(cluster, *b, rc);
}

bool Qcow2Image::store_refcount(uint64_t cluster, std::vector<uint8_t>& block, uint64_t rc) {
    uint64_t i = cluster & ((1ull << rb_bits_) - 1);
    put_rc(block, i, rc);
    if (!write_rc(rt_[cluster >> rb_bits_], block, i)) return fail("cannot write a refcount");
    if (rc == 0) {
        free_hint_ = std::min(free_hint_, cluster);
        l2_cache_.erase(cluster << cluster_bits_);
        rb_cache_.erase(cluster << cluster_bits_);
        if (pass_discard) file_->punch_hole(cluster << cluster_bits_, cs_);
    }
    return true;
}

bool Qcow2Image::alloc_cluster(uint64_t& off) {
    uint64_t c;
    if (!find_free(1, c)) return false;
    reserved_.insert(c);
    bool ok = update_refcount(c, +1);
    reserved_.erase(c);
    if (!ok) return false;
    free_hint_ = c + 1;
    off = c << cluster_bits_;
    return true;
}

// ---- mapping ----

bool Qcow2Image::load_l2(uint64_t off, L2Ref& ref) {
    ref.offset = off;
    if (auto* t = l2_cache_.find(off)) {
        ref.table = t->data();
        return true;
    }
    std::vector<uint8_t> raw(cs_);
    if (!file_->pread_full(off, raw.data(), cs_)) return fail("cannot read an L2 table");
    std::vector<uint64_t> t(l2_entries_);
    for (uint64_t i = 0; i < l2_entries_; ++i) t[i] = be64(&raw[i * 8]);
    ref.table = l2_insert(off, std::move(t));
    return true;
}

bool Qcow2Image::entry_of(uint64_t guest, uint64_t& entry) {
    entry = 0;
    uint64_t l1i = guest >> (cluster_bits_ * 2 - 3);
    if (l1i >= l1_.size()) return fail("offset beyond the L1 table");
    uint64_t l2off = l1_[l1i] & kOffsetMask;
    if (!l2off) return true;
    if (l2off & (cs_ - 1)) return fail("misaligned L2 table");
    L2Ref ref;
    if (!load_l2(l2off, ref)) return false;
    entry = ref.table[(guest >> cluster_bits_) & (l2_entries_ - 1)];
    return true;
}

bool Qcow2Image::plain(uint64_t e) const {
    return !(e & kCompressed) && !(version_ == 3 && (e & kZero)) && (e & kOffsetMask);
}

// A compressed entry's bytes in the file, [host, host + len): from the
// offset to the end of the last of its 512-byte sectors.
void Qcow2Image::compressed_span(uint64_t entry, uint64_t& host, uint64_t& len) const {
    unsigned shift = 62 - (cluster_bits_ - 8);
    host = entry & ((1ull << shift) - 1);
    uint64_t sectors = ((entry >> shift) & ((1ull << (cluster_bits_ - 8)) - 1)) + 1;
    len = sectors * 512 - (host & 511);
}

bool Qcow2Image::read_compressed(uint64_t entry, uint8_t* out) {
    uint64_t host, clen;
    compressed_span(entry, host, clen);
    if (zcache_off_ == host) {
        std::memcpy(out, zcache_.data(), cs_);
        return true;
    }
    std::vector<uint8_t> in(clen);
    if (!file_->pread_full(host, in.data(), clen)) return fail("cannot read a compressed cluster");
    z_stream z{};
    if (inflateInit2(&z, -12) != Z_OK) return fail("zlib");
    z.next_in = in.data();
    z.avail_in = static_cast<uInt>(clen);
    z.next_out = out;
    z.avail_out = static_cast<uInt>(cs_);
    int r = inflate(&z, Z_FINISH);
    bool ok = (r == Z_STREAM_END || r == Z_BUF_ERROR || r == Z_OK) && z.avail_out == 0;
    inflateEnd(&z);
    if (!ok) return fail("corrupt compressed cluster");
    zcache_.assign(out, out + cs_);
    zcache_off_ = host;
    return true;
}

// Part [in, in+n) of the cluster at `guest` (cluster-aligned) whose entry is
// `entry`, wherever it lives.
bool Qcow2Image::read_cluster_part(uint64_t entry, uint64_t guest, uint64_t in, void* buf, size_t n) {
    if (entry & kCompressed) {
        std::vector<uint8_t> c(cs_);
        if (!read_compressed(entry, c.data())) return false;
        std::memcpy(buf, &c[in], n);
        return true;
    }
    if (version_ == 3 && (entry & kZero)) {
        std::memset(buf, 0, n);
        return true;
    }
    uint64_t host = entry & kOffsetMask;
    if (host) {
        if (host & (cs_ - 1)) return fail("misaligned data cluster");
        return file_->pread_full(host + in, buf, n);
    }
    uint64_t off = guest + in;
    if (backing_ && off < backing_->size()) {
        uint64_t m = std::min<uint64_t>(n, backing_->size() - off);
        if (!backing_->read(off, buf, m)) return false;
        std::memset(static_cast<uint8_t*>(buf) + m, 0, n - m);
        return true;
    }
    std::memset(buf, 0, n);
    return true;
}

bool Qcow2Image::read(uint64_t off, void* buf, size_t len) {
    std::lock_guard lk(mu_);
    if (off > size_ || len > size_ - off) return false;
    auto* p = static_cast<uint8_t*>(buf);
    while (len) {
        uint64_t in = off & (cs_ - 1);
        size_t n = static_cast<size_t>(std::min<uint64_t>(len, cs_ - in));
        uint64_t e;
        if (!entry_of(off, e)) return false;
        uint64_t host = plain(e) ? e & kOffsetMask : 0;
        if (host) {
            // Clusters that follow in the file are read in one go.
            size_t total = n;
            while (total < len) {
                uint64_t e2;
                if (!entry_of(off + total, e2)) return false;
                if (!plain(e2) || (e2 & kOffsetMask) != host + in + total) break;
                total += static_cast<size_t>(std::min<uint64_t>(len - total, cs_));
            }
            if (host & (cs_ - 1)) return fail("misaligned data cluster");
            if (!file_->pread_full(host + in, p, total)) return false;
            n = total;
        } else if (!read_cluster_part(e, off - in, in, p, n)) {
            return false;
        }
        p += n;
        off += n;
        len -= n;
    }
    return true;
}

// A table entry changes in the cache; it goes to the file at the next
// commit, after what it points at (see commit()).
bool Qcow2Image::set_l2_entry(const L2Ref& ref, uint64_t l2i, uint64_t value) {
    ref.table[l2i] = value;
    dirty_l2_.insert(ref.offset);
    return true;
}

void Qcow2Image::set_l1_entry(uint64_t l1i, uint64_t value) {
    l1_[l1i] = value;
    dirty_l1_.insert(l1i);
}

// A cluster the tables no longer name: its refcount drops at the commit
// that writes those tables (not before: a crash in between would leave it
// named with a count too low, or free to be handed out twice).
void Qcow2Image::release_later(uint64_t cluster) { pending_free_.push_back(cluster); }

// Puts an L2 table into the cache; a dirty table the cache would evict to
// make room is written first (by a commit).
uint64_t* Qcow2Image::l2_insert(uint64_t off, std::vector<uint64_t> table) {
    if (l2_cache_.items.size() >= l2_cache_.cap && !l2_cache_.index.count(off) &&
        dirty_l2_.count(l2_cache_.items.back().first) && !commit())
        ++l2_cache_.cap;  // (a table that could not be written stays: the cache grows instead)
    return l2_cache_.insert(off, std::move(table)).data();
}

// Metadata to the file in an order that keeps the image consistent at any
// point a crash (of armvm, kill -9, or of the host: writes not yet synced
// may reach the disk in any order, or not at all) cuts it short:
//  1. sync: the data written to new clusters and the raised refcounts of
//     every cluster allocated since the last commit are on the disk;
//  2. the changed L2 tables are written (they may now name those
//     clusters); if L1 entries changed (new L2 tables), sync, then those;
//  3. sync, then the refcounts of clusters the tables stopped naming drop.
// The caller's flush syncs after. A crash leaves at most leaked clusters
// (counted, not named), never a cluster named with a count too low.
bool Qcow2Image::commit() {
    if (dirty_l2_.empty() && dirty_l1_.empty() && pending_free_.empty()) return true;
    if (committing_) return false;  // (not reentered: a commit neither loads nor evicts tables)
    committing_ = true;
    bool ok = commit_steps();
    committing_ = false;
    return ok;
}

bool Qcow2Image::commit_steps() {
    if (!file_->sync()) return fail("cannot sync the image");
    std::vector<uint8_t> raw(cs_);
    for (uint64_t off : dirty_l2_) {
        uint64_t* t = l2_cache_.peek(off);
        if (!t) return fail("a changed L2 table left the cache");
        for (uint64_t i = 0; i < l2_entries_; ++i) put_be64(&raw[i * 8], t[i]);
        if (!file_->pwrite_full(off, raw.data(), cs_)) return fail("cannot write an L2 table");
    }
    dirty_l2_.clear();
    if (!dirty_l1_.empty()) {
        if (!file_->sync()) return fail("cannot sync the image");
        for (uint64_t i : dirty_l1_) {
            uint8_t e[8];
            put_be64(e, l1_[i]);
            if (!file_->pwrite_full(l1_off_ + i * 8, e, 8)) return fail("cannot write the L1 table");
        }
        dirty_l1_.clear();
    }
    if (!pending_free_.empty()) {
        if (!file_->sync()) return fail("cannot sync the image");
        std::vector<uint64_t> frees;
        frees.swap(pending_free_);
        for (uint64_t c : frees)
            if (!update_refcount(c, -1)) return false;
    }
    return true;
}

// The L2 table of L1 entry l1i, allocated or copied so that it may be
// written (its refcount 1).
bool Qcow2Image::l2_for_write(uint64_t l1i, L2Ref& ref) {
    if (l1i >= l1_.size()) return fail("offset beyond the L1 table");
    uint64_t l1e = l1_[l1i], old = l1e & kOffsetMask;
    if (old && (l1e & kCopied)) return load_l2(old, ref);
    if (old) {
        uint64_t rc;
        if (!refcount(old >> cluster_bits_, rc)) return false;
        if (rc == 1) {
            set_l1_entry(l1i, old | kCopied);
            return load_l2(old, ref);
        }
    }
    // A new table: empty, or a copy of one a snapshot shares.
    std::vector<uint64_t> t(l2_entries_, 0);
    if (old) {
        L2Ref o;
        if (!load_l2(old, o)) return false;
        std::copy(o.table, o.table + l2_entries_, t.begin());
        for (auto& x : t)  // its clusters are shared with the snapshot
            if ((x & kOffsetMask) && !(x & kCompressed)) x &= ~kCopied;
        // (The data clusters keep their refcounts: they count the L1
        // tables that reach them, not the L2 tables.)
    }
    uint64_t n;
    if (!alloc_cluster(n)) return false;
    // (the table reaches the file at the next commit, before the L1 entry)
    ref.table = l2_insert(n, std::move(t));
    ref.offset = n;
    dirty_l2_.insert(n);
    set_l1_entry(l1i, n | kCopied);
    if (old) release_later(old >> cluster_bits_);
    return true;
}

bool Qcow2Image::release_entry(uint64_t entry) {
    if (entry & kCompressed) {
        uint64_t host, clen;
        compressed_span(entry, host, clen);
        for (uint64_t c = host >> cluster_bits_; c <= (host + clen - 1) >> cluster_bits_; ++c) release_later(c);
        return true;
    }
    if (uint64_t host = entry & kOffsetMask) release_later(host >> cluster_bits_);
    return true;
}

// Writes [in, in+n) of the cluster at guest offset `guest` (aligned).
bool Qcow2Image::write_cluster(uint64_t guest, uint64_t in, const uint8_t* data, size_t n) {
    uint64_t l1i = guest >> (cluster_bits_ * 2 - 3), l2i = (guest >> cluster_bits_) & (l2_entries_ - 1);
    uint64_t e;
    if (!entry_of(guest, e)) return false;
    if (plain(e) && (e & kCopied)) return file_->pwrite_full((e & kOffsetMask) + in, data, n);
    L2Ref ref;
    if (!l2_for_write(l1i, ref)) return false;
    e = ref.table[l2i];
    if (plain(e)) {
        uint64_t rc;
        if (!refcount((e & kOffsetMask) >> cluster_bits_, rc)) return false;
        if (rc == 1) {  // sole owner after all: mark it so and write in place
            if (!set_l2_entry(ref, l2i, e | kCopied)) return false;
            return file_->pwrite_full((e & kOffsetMask) + in, data, n);
        }
    }
    // Copy on write into a new cluster: the old contents (backing, zero,
    // compressed or shared) around the new data.
    std::vector<uint8_t> c(cs_);
    if (n != cs_ && !read_cluster_part(e, guest, 0, c.data(), cs_)) return false;
    std::memcpy(&c[in], data, n);
    uint64_t host;
    if (!alloc_cluster(host)) return false;
    if (!file_->pwrite_full(host, c.data(), cs_)) return fail("cannot write a data cluster");
    if (!set_l2_entry(ref, l2i, host | kCopied)) return false;
    return release_entry(e);
}

bool Qcow2Image::write(uint64_t off, const void* buf, size_t len) {
    std::lock_guard lk(mu_);
    if (read_only() || off > size_ || len > size_ - off) return false;
    auto* p = static_cast<const uint8_t*>(buf);
    while (len) {
        uint64_t in = off & (cs_ - 1);
        size_t n = static_cast<size_t>(std::min<uint64_t>(len, cs_ - in));
        uint64_t e;
        if (!entry_of(off, e)) return false;
        uint64_t host = e & kOffsetMask;
        if ((e & kCopied) && plain(e)) {
            // In place; clusters that follow in the file go in one write.
            size_t total = n;
            while (total < len) {
                uint64_t e2;
                if (!entry_of(off + total, e2)) return false;
                if (!(e2 & kCopied) || !plain(e2) || (e2 & kOffsetMask) != host + in + total)
                    break;
                total += static_cast<size_t>(std::min<uint64_t>(len - total, cs_));
            }
            if (!file_->pwrite_full(host + in, p, total)) return false;
            n = total;
        } else if (!write_cluster(off - in, in, p, n)) {
            return false;
        }
        p += n;
        off += n;
        len -= n;
    }
    return true;
}

bool Qcow2Image::flush() {
    std::lock_guard lk(mu_);
    return commit() && file_->sync();
}

Qcow2Image::~Qcow2Image() {
    if (!file_ || file_->read_only()) return;
    std::lock_guard lk(mu_);
    if (!commit() || !file_->sync()) fail("changes not written when the image was closed");
}

// A whole cluster's entry becomes `value` (0: unallocated, kZero: zeroes).
bool Qcow2Image::set_whole_cluster(uint64_t guest, uint64_t value) {
    uint64_t l1i = guest >> (cluster_bits_ * 2 - 3), l2i = (guest >> cluster_bits_) & (l2_entries_ - 1);
    if (!(l1_[l1i] & kOffsetMask) && !backing_) return true;  // reads as zeroes already
    uint64_t e;
    if (!entry_of(guest, e)) return false;
    if (e == value) return true;
    L2Ref ref;
    if (!l2_for_write(l1i, ref)) return false;
    e = ref.table[l2i];
    if (!set_l2_entry(ref, l2i, value)) return false;
    return release_entry(e);
}

// The whole clusters inside [off, off+len): [first, end). The image's last,
// partial cluster counts as whole when the range reaches the end.
void Qcow2Image::whole_clusters(uint64_t off, uint64_t len, uint64_t& first, uint64_t& end) const {
    first = (off + cs_ - 1) & ~(cs_ - 1);
    end = off + len == size_ ? (size_ + cs_ - 1) & ~(cs_ - 1) : (off + len) & ~(cs_ - 1);
    if (end < first) end = first;
}

bool Qcow2Image::discard(uint64_t off, uint64_t len) {
    std::lock_guard lk(mu_);
    if (read_only() || off > size_ || len > size_ - off) return false;
    // With a backing file, discarded clusters must read as zeroes (version
    // 3), not as the backing's data; version 2 cannot say so: kept.
    if (backing_ && version_ == 2) return true;
    uint64_t first, end;
    whole_clusters(off, len, first, end);
    for (uint64_t g = first; g < end; g += cs_)
        if (!set_whole_cluster(g, backing_ ? kZero : 0)) return false;
    return true;
}

bool Qcow2Image::write_zeroes(uint64_t off, uint64_t len) {
    if (read_only() || off > size_ || len > size_ - off) return false;
    static const std::vector<uint8_t> zeros(1 << 21, 0);
    auto plain = [&](uint64_t o, uint64_t n) {
        while (n) {
            uint64_t k = std::min<uint64_t>(n, zeros.size());
            if (!write(o, zeros.data(), k)) return false;
            o += k;
            n -= k;
        }
        return true;
    };
    uint64_t first, end;
    whole_clusters(off, len, first, end);
    if (version_ == 2 || first >= end) return plain(off, len);
    if (!plain(off, first - off)) return false;
    {
        std::lock_guard lk(mu_);
        for (uint64_t g = first; g < end; g += cs_)
            if (!set_whole_cluster(g, kZero)) return false;
    }
    return end >= off + len || plain(end, off + len - end);
}

}  // namespace armvm
