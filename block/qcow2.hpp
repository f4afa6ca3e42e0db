// qcow2 (versions 2 and 3), read and write, as QEMU's docs/interop/qcow2.txt
// lays it out: a header, an L1 table of L2 tables of cluster entries
// (standard, zero, compressed), refcount blocks under a refcount table, an
// optional backing image (qcow2 or raw) that unallocated clusters read
// from, internal snapshots kept intact (clusters they share are copied on
// write).
//
// Metadata reaches the file in an order that keeps the image consistent
// whatever point a crash cuts it at — of armvm (kill -9) or of the host
// (a power cut: writes since the last sync may be on the disk in any
// order, or not at all): a cluster's refcount is raised and synced before
// any table names it, and lowered only once the tables that stopped naming
// it are synced, so a crash can leak clusters but never leave one named
// with a refcount too low (qemu-img check: "leaked clusters", no errors).
// Refcounts are written through; L1 and L2 changes wait in the cache for
// the next commit (a guest flush, a dirty table's eviction, closing), as
// QEMU's metadata caches do: a guest write not flushed is lost in a crash,
// a flushed one never.
//
// An image left dirty by lazy refcounts (QEMU's, after a crash) gets its
// refcounts counted again when it is opened for writing, as QEMU does;
// armvm itself keeps refcounts exact (lazy refcounts permit, not oblige).
// Not handled (refused with a message at open): encryption, external data
// files, extended L2 entries, zstd compression. Compressed clusters are
// read (and copied on write), never written.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "block/image.hpp"

namespace armvm {

class Qcow2Image final : public Image {
public:
    static Result<std::shared_ptr<Qcow2Image>> open(std::unique_ptr<File> file, ImageOptions opts);
    // Writes an empty version 3 image of `size` bytes to `f` (truncated
    // first), naming a backing file if `backing` is not empty.
    static Status create(File& f, uint64_t size, const std::string& backing, const std::string& backing_fmt,
                         unsigned cluster_bits);
    ~Qcow2Image() override;  // commits what is cached

    const char* format() const override { return "qcow2"; }
    uint64_t size() const override { return size_; }
    bool read(uint64_t off, void* buf, size_t len) override;
    bool write(uint64_t off, const void* buf, size_t len) override;
    bool flush() override;
    bool discard(uint64_t off, uint64_t len) override;
    bool write_zeroes(uint64_t off, uint64_t len) override;
    std::shared_ptr<Image> backing() const override { return backing_; }
    bool dirty() const override { return (incompat_ & 1) != 0; }

    uint32_t version() const { return version_; }
    uint64_t cluster_size() const { return cs_; }
    unsigned refcount_bits() const { return 1u << refcount_order_; }
    bool lazy_refcounts() const { return (compat_ & 1) != 0; }
    const std::string& backing_filename() const { return backing_name_; }
    const std::string& backing_format() const { return backing_fmt_; }

private:
    explicit Qcow2Image(std::unique_ptr<File> f) : Image(std::move(f)) {}
    Status load(ImageOptions& opts);

    struct L2Ref {
        uint64_t* table = nullptr;  // the cached L2 table (host-endian entries)
        uint64_t offset = 0;        // its place in the file
    };
    // Cluster entry of a guest offset (0: unallocated); false on a bad table.
    bool entry_of(uint64_t guest, uint64_t& entry);
    bool load_l2(uint64_t off, L2Ref& ref);
    bool l2_for_write(uint64_t l1i, L2Ref& ref);
    bool read_cluster_part(uint64_t entry, uint64_t guest, uint64_t in, void* buf, size_t n);
    bool read_compressed(uint64_t entry, uint8_t* out);
    void compressed_span(uint64_t entry, uint64_t& host, uint64_t& len) const;
    // A standard entry with data in the file (not compressed, not zero).
    bool plain(uint64_t e) const;
    bool write_cluster(uint64_t guest, uint64_t in, const uint8_t* data, size_t n);
    bool set_l2_entry(const L2Ref& ref, uint64_t l2i, uint64_t value);
    void set_l1_entry(uint64_t l1i, uint64_t value);
    void release_later(uint64_t cluster);
    uint64_t* l2_insert(uint64_t off, std::vector<uint64_t> table);
    // Writes the changed tables and the pending refcount drops, in the
    // crash-safe order (qcow2.cpp). Caller holds mu_.
    bool commit();
    bool commit_steps();
    bool release_entry(uint64_t entry);  // the clusters an old entry held
    bool set_whole_cluster(uint64_t guest, uint64_t value);
    void whole_clusters(uint64_t off, uint64_t len, uint64_t& first, uint64_t& end) const;

    // Refcounts.
    bool refcount(uint64_t cluster, uint64_t& rc);
    bool update_refcount(uint64_t cluster, int delta);
    bool set_refcount(uint64_t cluster, uint64_t rc);
    bool store_refcount(uint64_t cluster, std::vector<uint8_t>& block, uint64_t rc);
    bool load_refblock(uint64_t off, std::vector<uint8_t>*& block);
    bool ensure_refblock(uint64_t rti);
    bool grow_refcount_table(uint64_t rti);
    bool find_free(uint64_t count, uint64_t& first);
    bool alloc_cluster(uint64_t& off);
    uint64_t get_rc(const std::vector<uint8_t>& b, uint64_t i) const;
    void put_rc(std::vector<uint8_t>& b, uint64_t i, uint64_t v) const;
    bool write_rc(uint64_t block_off, const std::vector<uint8_t>& b, uint64_t i);
    bool fail(const char* what);
    // An image left dirty (lazy refcounts, then a crash) opened for
    // writing: every refcount counted again from the tables, as QEMU
    // repairs it, then the dirty bit cleared.
    Status repair_refcounts();
    std::vector<uint32_t>* repair_refs_ = nullptr;  // during a repair: the references counted

    std::mutex mu_;
    std::shared_ptr<Image> backing_;
    std::string backing_name_, backing_fmt_;
    uint32_t version_ = 3, cluster_bits_ = 16, refcount_order_ = 4;
    uint64_t cs_ = 65536, size_ = 0, l2_entries_ = 8192;
    uint64_t incompat_ = 0, compat_ = 0;
    std::vector<uint64_t> l1_;
    uint64_t l1_off_ = 0;
    std::vector<uint64_t> rt_;
    uint64_t rt_off_ = 0, rt_clusters_ = 0;
    unsigned rb_bits_ = 15;  // log2 of the refcount entries in a block
    uint64_t free_hint_ = 0;
    std::unordered_set<uint64_t> reserved_;  // chosen, refcount not yet raised
    int growing_ = 0;
    bool reported_ = false;
    // Waiting for the next commit: L2 tables (by file offset) and L1
    // entries changed in memory, and clusters whose refcount then drops.
    std::unordered_set<uint64_t> dirty_l2_;
    std::set<uint64_t> dirty_l1_;
    std::vector<uint64_t> pending_free_;
    bool committing_ = false;

    // Caches: L2 tables and refcount blocks by file offset, least recently
    // used evicted (a changed L2 table is committed before it leaves).
    template <typename T>
    struct Cache {
        size_t cap = 64;
        std::list<std::pair<uint64_t, T>> items;  // most recent first
        std::unordered_map<uint64_t, typename std::list<std::pair<uint64_t, T>>::iterator> index;
        T* find(uint64_t off);
        uint64_t* peek(uint64_t off) {  // (L2 tables: without touching the order)
            auto it = index.find(off);
            return it == index.end() ? nullptr : it->second->second.data();
        }
        T& insert(uint64_t off, T value);
        void erase(uint64_t off);
    };
    Cache<std::vector<uint64_t>> l2_cache_;
    Cache<std::vector<uint8_t>> rb_cache_;
    uint64_t zcache_off_ = ~0ull;  // the last decompressed cluster
    std::vector<uint8_t> zcache_;
};

}  // namespace armvm
