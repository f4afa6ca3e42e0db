// Guest disks: the images that -drive and -blockdev name, opened once per
// machine, raw or qcow2 (block/image.hpp, block/qcow2.hpp); I/O is
// synchronous on the caller's thread (a device's, under the BQL).
//
//   -drive file=F,if=none|virtio|pflash,id=ID[,format=raw|qcow2][,readonly=on]
//          [,discard=unmap][,snapshot=on][,media=cdrom]
//          [,cache=writeback|none|writethrough|directsync|unsafe]
//          [,cache.direct=on][,cache.no-flush=on][,aio=threads|native|io_uring]...
//   -blockdev {"driver":"file","filename":F,"node-name":N[,"read-only":true]
//              [,"aio":A][,"cache":{"direct":B,"no-flush":B}]}
//   -blockdev {"driver":"raw"|"qcow2","file":N|{...},"node-name":M
//              [,"backing":NODE|null]}
//   -snapshot  every disk writes to a temporary qcow2 overlay
//
// A device names a disk by the -drive id or a node-name. An image is locked
// (OFD lock: exclusive when writable, shared when read-only) so that two
// emulators cannot write one disk at once.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "block/image.hpp"
#include "machine/config.hpp"

namespace armvm {

// What a device did with a disk, as QEMU's block accounting counts it (one
// guest request, one operation): query-blockstats and HMP info blockstats.
struct BlockStats {
    enum Kind { kRead, kWrite, kFlush, kUnmap, kKinds };
    std::atomic<uint64_t> bytes[kKinds] = {}, ops[kKinds] = {}, total_ns[kKinds] = {}, failed[kKinds] = {},
                          invalid[kKinds] = {};
    std::atomic<uint64_t> last_ns{0};  // the clock at the last completion (0: none yet)
    // A request done: `ns` from its start; `ok` false: failed.
    void done(Kind k, uint64_t nbytes, uint64_t ns, bool ok);
    // A request refused before it reached the disk (out of range).
    void refused(Kind k);
    static uint64_t now_ns();  // the clock of the times (monotonic)
};

class BlockDev {
public:
    const std::string& name() const { return name_; }
    const std::string& filename() const { return filename_; }
    bool read_only() const { return read_only_; }
    bool discard() const { return discard_; }  // discard=unmap: holes are punched
    uint64_t size() const { return size_; }
    // -drive if=virtio (or the virt board's default interface): the board
    // creates the virtio-blk device itself.
    bool implicit_virtio() const { return implicit_virtio_; }
    // -drive if=pflash: the flash bank it is (0 or 1); -1 otherwise.
    int pflash_unit() const { return pflash_unit_; }
    // "-drive ARGS" for a -drive (for messages); empty for a -blockdev node.
    const std::string& origin() const { return origin_; }
    bool attached = false;  // a device uses it
    // A -drive whose device was unplugged: BlockLayer::reap() closes it
    // (QEMU deletes such a drive with its device).
    bool auto_delete = false;
    // The device using it, as query-block's "qdev" names it (its -device
    // id, or its QOM path); empty if none.
    std::string qdev;

    // QMP: query-block's name for it ("" for a -blockdev node, whose
    // backend is the device's), and its nodes as query-named-block-nodes
    // and query-block's "inserted" describe them (the format node, then
    // the file node).
    std::string device_name() const { return is_drive_ ? name_ : ""; }
    // (`backend`: for query-block's "inserted", whose cache.writeback is
    // the drive's write cache)
    Json node_info(bool format_node, bool backend = false) const;
    const std::string& format_node() const { return format_node_; }
    const std::string& file_node() const { return file_node_; }

    // The guest-visible write cache (QEMU's "enable write cache" of the
    // drive): off with -drive cache=writethrough|directsync, then every
    // write is flushed before it completes; a device's write-cache property
    // and the guest (virtio-blk's writeback field) change it.
    bool write_cache() const { return write_cache_; }
    void set_write_cache(bool on) { write_cache_ = on; }

    BlockStats stats;
    // The end of the furthest write so far (query-blockstats' wr_highest_offset).
    uint64_t wr_highest() const { return wr_highest_; }
    // query-blockstats' entry for this disk (`backend`: as a device's
    // backend, with the device's accounting; else a node's), and for its
    // nodes alone (query-nodes: the file node, then the format node).
    Json blockstats(bool backend) const;
    void node_blockstats(Json& out) const;

    // False on an I/O error (or a write to a read-only disk).
    bool read(uint64_t offset, void* buf, size_t len);
    bool write(uint64_t offset, const void* buf, size_t len);
    bool flush();
    bool discard_range(uint64_t offset, uint64_t len);
    bool write_zeroes(uint64_t offset, uint64_t len);
    // Reads and writes at once, each a scatter list at a disk offset; each
    // request's `res` as File::submit's. A raw image's go to its file's
    // aio engine in one batch (in parallel with io_uring or native); a
    // qcow2 image's one after the other. False if any failed.
    bool submit(IoReq* reqs, size_t n);

private:
    friend class BlockLayer;
    std::string name_, filename_, origin_;
    std::shared_ptr<Image> img_;
    bool read_only_ = false, discard_ = false, implicit_virtio_ = false, is_drive_ = false;
    std::string format_node_, file_node_;  // node-names; format_node_ empty: a lone file node
    uint64_t size_ = 0;
    int pflash_unit_ = -1;
    std::atomic<bool> write_cache_{true};
    std::atomic<uint64_t> wr_highest_{0};
    void wrote(uint64_t end);
};

class BlockLayer {
public:
    static Result<std::unique_ptr<BlockLayer>> create(const MachineConfig& cfg);
    // By -drive id or node-name; null if none.
    BlockDev* find(const std::string& name);
    const std::vector<std::unique_ptr<BlockDev>>& devs() const { return devs_; }
    // QMP blockdev-add / blockdev-del while the machine runs (file and raw
    // nodes, QEMU's messages).
    Status add_node(const Json& opts);
    Status del_node(const std::string& node_name);
    // One -drive's options (HMP drive_add while the machine runs; QEMU's
    // messages, `origin` before them); `taken`: names in use elsewhere.
    Status add_drive(const Json& opts, const std::string& origin, bool snapshot_default,
                     const std::function<bool(const std::string&)>& taken = {});
    // Close the disks marked auto_delete that no device uses.
    void reap();
    // Whether another node reads `d` as its backing image.
    bool used_as_backing(const BlockDev& d) const;
    // Whether `top` reads `b` as its (direct) backing image.
    bool backs(const BlockDev& top, const BlockDev& b) const { return top.img_ && b.img_ && top.img_->backing() == b.img_; }

private:
    // A format node (raw or qcow2) over a file node's options.
    Status open_format(BlockDev& d, const std::string& driver, const Json& format_opts, const Json& file_opts,
                       bool read_only, const std::string& origin);
    Result<ImageOptions> image_options(const std::string& driver, const Json& o);
    // Nodes the user did not name get QEMU's style of name.
    std::string auto_name() { return "#block" + std::to_string(100 + 17 * auto_nodes_++); }
    std::vector<std::unique_ptr<BlockDev>> devs_;
    unsigned auto_nodes_ = 0;
    std::map<std::string, unsigned> anon_;  // -drive without id, per interface
};

}  // namespace armvm
