#include "block/block.hpp"

#include "base/fdset.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>

#include "base/keyval.hpp"
#include "block/qcow2.hpp"

namespace armvm {

uint64_t BlockStats::now_ns() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

void BlockStats::done(Kind k, uint64_t nbytes, uint64_t ns, bool ok) {
    if (ok) {
        bytes[k] += nbytes;
        ++ops[k];
    } else {
        ++failed[k];
    }
    total_ns[k] += ns;
    last_ns = now_ns();
}

void BlockStats::refused(Kind k) {
    ++invalid[k];
    last_ns = now_ns();
}

void BlockDev::wrote(uint64_t end) { store_max(wr_highest_, end); }

namespace {

// QEMU's BlockDeviceStats: a device's accounting (`s`), or a node's zeroes.
Json stats_json(const BlockStats* s, uint64_t wr_highest) {
    using K = BlockStats;
    auto v = [&](std::atomic<uint64_t> (K::*a)[K::kKinds], K::Kind k) -> uint64_t { return s ? (s->*a)[k].load() : 0; };
    Json j = {{"rd_bytes", v(&K::bytes, K::kRead)}, {"wr_bytes", v(&K::bytes, K::kWrite)},
              {"unmap_bytes", v(&K::bytes, K::kUnmap)}, {"rd_operations", v(&K::ops, K::kRead)},
              {"wr_operations", v(&K::ops, K::kWrite)}, {"flush_operations", v(&K::ops, K::kFlush)},
              {"unmap_operations", v(&K::ops, K::kUnmap)}, {"rd_total_time_ns", v(&K::total_ns, K::kRead)},
              {"wr_total_time_ns", v(&K::total_ns, K::kWrite)}, {"flush_total_time_ns", v(&K::total_ns, K::kFlush)},
              {"unmap_total_time_ns", v(&K::total_ns, K::kUnmap)}, {"wr_highest_offset", wr_highest},
              {"rd_merged", 0}, {"wr_merged", 0}, {"unmap_merged", 0},
              {"failed_rd_operations", v(&K::failed, K::kRead)}, {"failed_wr_operations", v(&K::failed, K::kWrite)},
              {"failed_flush_operations", v(&K::failed, K::kFlush)},
              {"failed_unmap_operations", v(&K::failed, K::kUnmap)},
              {"invalid_rd_operations", v(&K::invalid, K::kRead)}, {"invalid_wr_operations", v(&K::invalid, K::kWrite)},
              {"invalid_flush_operations", v(&K::invalid, K::kFlush)},
              {"invalid_unmap_operations", v(&K::invalid, K::kUnmap)},
              {"account_invalid", s != nullptr}, {"account_failed", s != nullptr}, {"timed_stats", Json::array()}};
    if (s && s->last_ns) j["idle_time_ns"] = BlockStats::now_ns() - s->last_ns;
    return j;
}

Json file_node_stats(const File& f, const std::string& node) {
    return {{"node-name", node},
            {"stats", stats_json(nullptr, f.wr_highest())},
            {"driver-specific",
             {{"driver", "file"}, {"discard-nb-ok", f.discards_ok()}, {"discard-nb-failed", f.discards_failed()},
              {"discard-bytes-ok", f.discard_bytes_ok()}}}};
}

}  // namespace

Json BlockDev::blockstats(bool backend) const {
    if (format_node_.empty()) {  // a lone file node
        Json e = file_node_stats(img_->file(), file_node_);
        if (backend) e["stats"] = stats_json(&stats, wr_highest());
        return e;
    }
    Json e = {{"node-name", format_node_},
              {"stats", stats_json(backend ? &stats : nullptr, wr_highest())},
              {"parent", file_node_stats(img_->file(), file_node_)}};
    return e;
}

void BlockDev::node_blockstats(Json& out) const {
    out.push_back(file_node_stats(img_->file(), file_node_));
    if (!format_node_.empty()) out.push_back(blockstats(false));
}

bool BlockDev::read(uint64_t offset, void* buf, size_t len) {
    if (offset > size_ || len > size_ - offset) return false;
    return img_->read(offset, buf, len);
}

bool BlockDev::write(uint64_t offset, const void* buf, size_t len) {
    if (read_only_ || offset > size_ || len > size_ - offset) return false;
    if (!img_->write(offset, buf, len)) return false;
    wrote(offset + len);
    return true;
}

bool BlockDev::flush() { return read_only_ || img_->flush(); }

bool BlockDev::discard_range(uint64_t offset, uint64_t len) {
    if (read_only_ || offset > size_ || len > size_ - offset) return false;
    if (!discard_) return true;  // discard=ignore: a hint that may be dropped
    return img_->discard(offset, len);
}

bool BlockDev::write_zeroes(uint64_t offset, uint64_t len) {
    if (read_only_ || offset > size_ || len > size_ - offset) return false;
    if (!img_->write_zeroes(offset, len)) return false;
    wrote(offset + len);
    return true;
}

bool BlockDev::submit(IoReq* reqs, size_t n) {
    bool ok = true;
    std::vector<IoReq*> pass;
    for (size_t i = 0; i < n; ++i) {
        IoReq& r = reqs[i];
        size_t total = 0;
        for (unsigned k = 0; k < r.iovcnt; ++k) total += r.iov[k].iov_len;
        if ((r.write && read_only_) || r.off > size_ || total > size_ - r.off) {
            r.res = -EIO;
            ok = false;
            continue;
        }
        if (std::strcmp(img_->format(), "raw") != 0) {  // through the format, piece by piece
            uint64_t off = r.off;
            bool good = true;
            for (unsigned k = 0; k < r.iovcnt && good; ++k) {
                good = r.write ? img_->write(off, r.iov[k].iov_base, r.iov[k].iov_len)
                               : img_->read(off, r.iov[k].iov_base, r.iov[k].iov_len);
                off += r.iov[k].iov_len;
            }
            r.res = good ? static_cast<ssize_t>(total) : -EIO;
            ok = ok && good;
            continue;
        }
        pass.push_back(&r);
    }
    if (!pass.empty()) {
        if (pass.size() == n) {
            ok = img_->file().submit(reqs, n) && ok;
        } else {
            std::vector<IoReq> batch;
            for (IoReq* r : pass) batch.push_back(*r);
            ok = img_->file().submit(batch.data(), batch.size()) && ok;
            for (size_t i = 0; i < pass.size(); ++i) pass[i]->res = batch[i].res;
        }
    }
    for (size_t i = 0; i < n; ++i)
        if (reqs[i].write && reqs[i].res > 0) wrote(reqs[i].off + static_cast<uint64_t>(reqs[i].res));
    return ok;
}

namespace {

// An option dict's value as a string, if present (key=value values are
// strings already; JSON strings too).
std::optional<std::string> sval(const Json& d, const char* key) {
    if (!d.contains(key)) return std::nullopt;
    const Json& v = d[key];
    return v.is_string() ? v.get<std::string>() : v.dump();
}

Result<bool> bval(const Json& d, const char* key, bool def) {
    if (!d.contains(key)) return def;
    return parse_bool_value(key, d[key]);
}

// A file node's cache and aio options; the format node's options
// (`parent`) give the cache defaults, as QEMU's children inherit them.
// Cache options come as {"cache":{"direct":..}} or as flat "cache.direct".
Result<FileOptions> file_options(const Json& f, const Json& parent) {
    FileOptions fo;
    auto cache_bool = [&](const char* sub, bool& out) -> Status {
        std::string flat = std::string("cache.") + sub;
        for (const Json* d : {&parent, &f}) {
            const Json* v = nullptr;
            if (d->contains("cache") && (*d)["cache"].is_object() && (*d)["cache"].contains(sub))
                v = &(*d)["cache"][sub];
            if (d->contains(flat)) v = &(*d)[flat];
            if (!v) continue;
            auto b = parse_bool_value(flat, *v);
            if (!b) return b.error();
            out = *b;
        }
        return ok_status();
    };
    ARMVM_TRY(cache_bool("direct", fo.direct));
    ARMVM_TRY(cache_bool("no-flush", fo.no_flush));
    if (auto a = sval(f, "aio")) {
        auto m = parse_aio(*a);
        if (!m) return make_error("Parameter 'aio' does not accept value '" + *a + "'");
        fo.aio = *m;
    }
    if (fo.aio == AioMode::Native && !fo.direct)
        return make_error("aio=native was specified, but it requires cache.direct=on, which was not specified.");
    return fo;
}

}  // namespace

BlockDev* BlockLayer::find(const std::string& name) {
    for (auto& d : devs_)
        if (d->name_ == name) return d.get();
    return nullptr;
}

Json BlockDev::node_info(bool format_node, bool backend) const {
    const Image& im = *img_;
    uint64_t actual = im.file().allocated();
    std::string drv = format_node ? im.format() : "file";
    Json image = {{"virtual-size", format_node ? size_ : im.file().length()}, {"filename", filename_}, {"format", drv},
                  {"actual-size", actual}, {"dirty-flag", format_node && im.dirty()}};
    Json info = {{"iops_rd", 0}, {"detect_zeroes", "off"}, {"iops_wr", 0}, {"ro", read_only_},
                 {"node-name", format_node ? format_node_ : file_node_}, {"backing_file_depth", 0}, {"drv", drv},
                 {"iops", 0}, {"bps_wr", 0}, {"write_threshold", 0}, {"encrypted", false}, {"bps", 0}, {"bps_rd", 0},
                 {"cache",
                  {{"no-flush", im.file().options().no_flush},
                   {"direct", im.file().options().direct},
                   {"writeback", !backend || write_cache()}}},
                 {"file", filename_}};
    if (format_node) {
        if (auto* q = dynamic_cast<const Qcow2Image*>(&im)) {
            image["cluster-size"] = q->cluster_size();
            image["format-specific"] = {
                {"type", "qcow2"},
                {"data", {{"compat", q->version() == 3 ? "1.1" : "0.10"}, {"compression-type", "zlib"},
                          {"lazy-refcounts", q->lazy_refcounts()}, {"refcount-bits", q->refcount_bits()},
                          {"corrupt", false}, {"extended-l2", false}}}};
            if (!q->backing_filename().empty()) {
                image["backing-filename"] = q->backing_filename();
                info["backing_file"] = q->backing_filename();
                if (!q->backing_format().empty()) image["backing-filename-format"] = q->backing_format();
            }
        }
        unsigned depth = 0;
        for (auto b = im.backing(); b; b = b->backing()) ++depth;
        info["backing_file_depth"] = depth;
    }
    info["image"] = std::move(image);
    return info;
}

namespace {

const char* const kFormats[] = {"qcow", "qed", "vmdk", "vdi", "vpc", "vhdx", "luks", "parallels", "dmg", "bochs",
                                "cloop", "vvfat"};

Error unsupported_format(const std::string& origin, const std::string& fmt, bool driver_param) {
    std::string pre = origin.empty() ? "" : origin + ": ";
    for (const char* f : kFormats)
        if (fmt == f) return make_error(pre + "image format '" + fmt + "' is not supported (raw and qcow2 only)");
    if (driver_param) return make_error(pre + "Parameter 'driver' does not accept value '" + fmt + "'");
    return make_error(pre + "Unknown driver '" + fmt + "'");
}

// -snapshot / snapshot=on: a temporary qcow2 overlay (deleted at once; it
// lives as long as the open file) over the image, which stays untouched.
Result<std::shared_ptr<Image>> snapshot_overlay(std::shared_ptr<Image> base) {
    const char* tmpdir = std::getenv("TMPDIR");
    std::string path = std::string(tmpdir && *tmpdir ? tmpdir : "/var/tmp") + "/vl.XXXXXX";
    int fd = ::mkstemp(path.data());
    if (fd < 0) return make_error(std::string("Could not create temporary overlay: ") + std::strerror(errno));
    ::close(fd);
    auto f = File::open(path, false, false);
    ::unlink(path.c_str());
    if (!f) return f.error();
    ARMVM_TRY(Qcow2Image::create(**f, base->size(), "", "", 16));
    ImageOptions o;
    o.format = "qcow2";
    o.backing_given = true;
    o.backing = std::move(base);
    return open_image(std::move(*f), std::move(o));
}

}  // namespace

bool BlockLayer::used_as_backing(const BlockDev& d) const {
    for (const auto& o : devs_)
        if (o.get() != &d && o->img_ && o->img_->backing() == d.img_) return true;
    return false;
}

// The format and backing a format node's options `o` ask for: "backing"
// (qcow2 only) names another format node, or is null for none.
Result<ImageOptions> BlockLayer::image_options(const std::string& driver, const Json& o) {
    ImageOptions io;
    io.format = driver;
    if (!o.contains("backing")) return io;
    if (driver != "qcow2") return make_error("Invalid parameter 'backing'");
    io.backing_given = true;
    if (o["backing"].is_string()) {
        std::string ref = o["backing"].get<std::string>();
        BlockDev* b = find(ref);
        if (!b || b->format_node_ != ref) return make_error("Cannot find device='' nor node-name='" + ref + "'");
        io.backing = b->img_;
    } else if (!o["backing"].is_null()) {
        return make_error("Invalid parameter type for 'backing', expected: string or null");
    }
    return io;
}

// A format node: `driver` over the file that `file_opts` names; `fo` holds
// the format node's own options (backing, snapshot).
Status BlockLayer::open_format(BlockDev& d, const std::string& driver, const Json& fo, const Json& file_opts,
                               bool ro, const std::string& origin) {
    std::string pre = origin.empty() ? "" : origin + ": ";
    auto filename = sval(file_opts, "filename");
    if (!filename) return make_error(pre + "Parameter 'filename' is missing");
    auto fro = bval(file_opts, "read-only", ro);
    if (!fro) return make_error(pre + fro.error().msg);
    auto aro = bval(file_opts, "auto-read-only", false);
    if (!aro) return make_error(pre + aro.error().msg);
    bool snap = fo.value("snapshot", false);
    auto io = image_options(driver, fo);
    if (!io) return make_error(pre + io.error().msg);
    auto fopts = file_options(file_opts, fo);
    if (!fopts) return make_error(pre + fopts.error().msg);
    io->backing_file = {fopts->direct, fopts->no_flush, AioMode::Threads};
    auto f = File::open(*filename, ro || *fro || snap, *aro, *fopts);
    if (!f) return make_error(pre + f.error().msg);
    auto im = open_image(std::move(*f), std::move(*io));
    if (!im) return make_error(pre + im.error().msg);
    std::shared_ptr<Image> img = std::move(*im);
    if (snap) {
        auto ov = snapshot_overlay(std::move(img));
        if (!ov) return make_error(pre + ov.error().msg);
        img = std::move(*ov);
    }
    d.filename_ = *filename;
    d.read_only_ = img->read_only();
    d.size_ = img->size();
    img->pass_discard = d.discard_;
    d.img_ = std::move(img);
    return ok_status();
}

// QMP blockdev-add: a file node is a disk of its own until a format node is
// stacked on it (then the format node's name is the disk's).
Status BlockLayer::add_node(const Json& o) {
    auto driver = sval(o, "driver");
    auto node = sval(o, "node-name");
    if (!driver) return make_error("Parameter 'driver' is missing");
    if (!node) return make_error("A block device must be given a name (node-name)");
    for (const auto& d : devs_)
        if (d->name_ == *node || d->file_node_ == *node || d->format_node_ == *node)
            return make_error("Duplicate nodes with node-name='" + *node + "'");
    auto ro = bval(o, "read-only", false);
    if (!ro) return make_error(ro.error().msg);
    std::string disc = sval(o, "discard").value_or("ignore");
    if (*driver == "file" || *driver == "host_device") {
        auto d = std::make_unique<BlockDev>();
        d->name_ = d->file_node_ = *node;
        d->discard_ = disc == "unmap" || disc == "on";
        ARMVM_TRY(open_format(*d, "raw", Json::object(), o, *ro, ""));
        devs_.push_back(std::move(d));
        return ok_status();
    }
    if (*driver != "raw" && *driver != "qcow2") return unsupported_format("", *driver, true);
    if (!o.contains("file")) return make_error("Parameter 'file' is missing");
    if (o["file"].is_string()) {
        std::string ref = o["file"].get<std::string>();
        for (auto& d : devs_) {
            if (d->file_node_ != ref) continue;
            if (!d->format_node_.empty() || d->attached)
                return make_error("Node '" + ref + "' is busy: it is in use");
            // The file node's open file goes under the format.
            auto io = image_options(*driver, o);
            if (!io) return io.error();
            if (*driver == "qcow2" && !is_qcow2(d->img_->file())) return make_error("Image is not in qcow2 format");
            std::shared_ptr<Image> raw = std::move(d->img_);
            bool file_ro = raw->read_only();
            auto im = open_image(raw->release_file(), std::move(*io));
            if (!im) {  // the file node is opened again as it was
                Error e = im.error();
                auto back = File::open(d->filename_, file_ro, false);
                if (back) d->img_ = open_image(std::move(*back), ImageOptions{"raw", false, nullptr, {}}).value();
                if (!d->img_) devs_.erase(std::find_if(devs_.begin(), devs_.end(), [&](auto& x) { return x.get() == d.get(); }));
                return e;
            }
            d->img_ = std::move(*im);
            d->name_ = d->format_node_ = *node;
            if (disc == "unmap" || disc == "on") d->discard_ = true;
            if (*ro) d->read_only_ = true;
            d->size_ = d->img_->size();
            d->img_->pass_discard = d->discard_;
            return ok_status();
        }
        return make_error("Cannot find device='" + ref + "' nor node-name='" + ref + "'");
    }
    if (!o["file"].is_object()) return make_error("Invalid parameter type for 'file', expected: string or object");
    Json f = o["file"];
    auto d = std::make_unique<BlockDev>();
    d->name_ = d->format_node_ = *node;
    d->file_node_ = sval(f, "node-name").value_or("#block" + std::to_string(900 + devs_.size()));
    d->discard_ = disc == "unmap" || disc == "on";
    ARMVM_TRY(open_format(*d, *driver, o, f, *ro, ""));
    devs_.push_back(std::move(d));
    return ok_status();
}

// QMP blockdev-del: the format node goes (its file node stays, as QEMU's
// blockdev-add made them separately), or a lone file node is closed.
Status BlockLayer::del_node(const std::string& node) {
    for (auto it = devs_.begin(); it != devs_.end(); ++it) {
        BlockDev& d = **it;
        if (d.format_node_ != node && d.file_node_ != node) continue;
        if (d.is_drive_) return make_error("Node " + node + " is not owned by the monitor");
        if (d.attached || used_as_backing(d)) return make_error("Node " + node + " is in use");
        if (d.format_node_ == node) {
            if (d.file_node_.empty() || d.img_.use_count() != 1) {
                devs_.erase(it);  // (an inline file node goes with it)
                return ok_status();
            }
            std::shared_ptr<Image> fmt = std::move(d.img_);
            auto raw = open_image(fmt->release_file(), ImageOptions{"raw", false, nullptr, {}});
            if (!raw) return raw.error();
            d.img_ = std::move(*raw);
            d.format_node_.clear();
            d.name_ = d.file_node_;
            d.size_ = d.img_->size();
            return ok_status();
        }
        if (!d.format_node_.empty())
            return make_error("Node '" + node + "' is busy: node is used as file of '" + d.format_node_ + "'");
        devs_.erase(it);
        return ok_status();
    }
    return make_error("Failed to find node with node-name='" + node + "'");
}

void BlockLayer::reap() {
    devs_.erase(std::remove_if(devs_.begin(), devs_.end(),
                               [](const std::unique_ptr<BlockDev>& d) { return d->auto_delete && !d->attached; }),
                devs_.end());
}

// One -drive (at start-up, or HMP drive_add): `taken` says whether a
// name is in use beyond the disks made (start-up's pending file nodes).
Status BlockLayer::add_drive(const Json& o, const std::string& origin, bool snapshot_default,
                             const std::function<bool(const std::string&)>& taken) {
    static const char* known[] = {"file", "if", "id", "format", "readonly", "cache", "discard", "media",
                                  "aio", "detect-zeroes", "werror", "rerror", "index", "bus", "unit",
                                  "auto-read-only", "cache.direct", "cache.no-flush", "file.locking",
                                  "node-name", "snapshot", "copy-on-read"};
    for (auto it = o.begin(); it != o.end(); ++it) {
        bool ok = false;
        for (const char* k : known) ok = ok || it.key() == k;
        if (!ok)
            return make_error(origin + ": Block format '" + sval(o, "format").value_or("raw") +
                              "' does not support the option '" + it.key() + "'");
    }
    std::string iface = sval(o, "if").value_or("virtio");  // (the virt board's default interface)
    int pflash_unit = -1;
    if (iface == "pflash") {  // the flash banks: unit 0 and 1
        std::string u = sval(o, "unit").value_or(std::to_string(anon_["pflash"]));
        char* end = nullptr;
        long n = std::strtol(u.c_str(), &end, 10);
        if (u.empty() || *end || n < 0) return make_error(origin + ": Invalid unit value '" + u + "'");
        if (n > 1) return make_error(origin + ": machine type does not support if=pflash,bus=0,unit=" + u);
        for (const auto& other : devs_)
            if (other->pflash_unit_ == n)
                return make_error(origin + ": drive with bus=0, unit=" + u + " exists");
        pflash_unit = static_cast<int>(n);
        anon_["pflash"] = static_cast<unsigned>(n) + 1;
    } else if (iface != "none" && iface != "virtio") {
        return make_error(origin + ": machine type does not support if=" + iface + ",bus=0,unit=0");
    }
    auto file = sval(o, "file");
    if (!file || file->empty()) return make_error(origin + ": A block device must be given a file (file=...)");
    auto fmt = sval(o, "format");
    if (fmt && *fmt != "raw" && *fmt != "qcow2") return unsupported_format(origin, *fmt, false);
    std::string media = sval(o, "media").value_or("disk");
    if (media != "disk" && media != "cdrom")
        return make_error(origin + ": '" + media + "' invalid media");
    auto ro = bval(o, "readonly", media == "cdrom");
    if (!ro) return make_error(origin + ": " + ro.error().msg);
    auto snap = bval(o, "snapshot", snapshot_default);
    if (!snap) return make_error(origin + ": " + snap.error().msg);
    std::string disc = sval(o, "discard").value_or("ignore");
    if (disc != "ignore" && disc != "off" && disc != "unmap" && disc != "on")
        return make_error(origin + ": Invalid discard option");
    // cache=: QEMU's five modes, as cache.direct, cache.no-flush and
    // the drive's write cache; cache.direct= and cache.no-flush= then override.
    bool direct = false, no_flush = false, wce = true;
    if (auto c = sval(o, "cache")) {
        if (*c == "none" || *c == "off") direct = true;
        else if (*c == "writethrough") wce = false;
        else if (*c == "directsync") direct = true, wce = false;
        else if (*c == "unsafe") no_flush = true;
        else if (*c != "writeback") return make_error(origin + ": invalid cache option");
    }
    auto dir = bval(o, "cache.direct", direct);
    if (!dir) return make_error(origin + ": " + dir.error().msg);
    auto nof = bval(o, "cache.no-flush", no_flush);
    if (!nof) return make_error(origin + ": " + nof.error().msg);
    std::string aio = sval(o, "aio").value_or("threads");
    if (!parse_aio(aio)) return make_error(origin + ": invalid aio option");
    auto d = std::make_unique<BlockDev>();
    d->write_cache_ = wce;
    auto id = sval(o, "id");
    d->name_ = id ? *id
                  : pflash_unit >= 0 ? "pflash" + std::to_string(pflash_unit)
                                     : iface + std::to_string(anon_[iface]++);  // QEMU's names: virtio0, none0, ...
    if (find(d->name_) || (taken && taken(d->name_)))
        return make_error(origin + ": Duplicate ID '" + d->name_ + "' for drive");
    d->pflash_unit_ = pflash_unit;
    d->discard_ = disc == "unmap" || disc == "on";
    d->implicit_virtio_ = iface == "virtio";
    d->is_drive_ = true;
    d->origin_ = origin;
    d->format_node_ = sval(o, "node-name").value_or(auto_name());
    d->file_node_ = auto_name();
    std::string driver = fmt.value_or("");
    if (!fmt) {  // probed, as QEMU does: qcow2 by its magic, else raw with a warning
        auto probe = File::open(*file, true, false);
        if (!probe) return make_error(origin + ": " + probe.error().msg);
        driver = is_qcow2(**probe) ? "qcow2" : "raw";
    }
    ARMVM_TRY(open_format(
        *d, driver, Json{{"snapshot", *snap && !*ro}},
        Json{{"filename", *file}, {"cache.direct", *dir}, {"cache.no-flush", *nof}, {"aio", aio}}, *ro, origin));
    if (!fmt && driver == "raw")
        std::fprintf(stderr,
                     "armvm: warning: Image format was not specified for '%s' and probing guessed raw.\n"
                     "         Automatically detecting the format is dangerous for raw images, write "
                     "operations on block 0 will be restricted.\n"
                     "         Specify the 'raw' format explicitly to remove the restrictions.\n",
                     file->c_str());
    devs_.push_back(std::move(d));
    return ok_status();
}

Result<std::unique_ptr<BlockLayer>> BlockLayer::create(const MachineConfig& cfg) {
    auto layer = std::make_unique<BlockLayer>();
    // -blockdev file nodes not yet used by a format node: node-name -> options
    std::map<std::string, Json> file_nodes;
    std::map<std::string, std::string> file_origin;
    auto add = [&](std::unique_ptr<BlockDev> d, const std::string& origin, const char* what) -> Status {
        if (layer->find(d->name_) || file_nodes.count(d->name_))
            return make_error(origin + ": Duplicate " + what + " '" + d->name_ + "'");
        layer->devs_.push_back(std::move(d));
        return ok_status();
    };
    for (const auto& b : cfg.block_opts) {
        const Json& o = b.opts;
        const std::string origin = (b.is_drive ? "-drive " : "-blockdev ") + b.origin;
        if (b.is_drive) {
            ARMVM_TRY(layer->add_drive(o, origin, cfg.snapshot,
                                       [&](const std::string& n) { return file_nodes.count(n) > 0; }));
            continue;
        }
        // -blockdev
        auto driver = sval(o, "driver");
        auto node = sval(o, "node-name");
        if (!driver) return make_error(origin + ": Parameter 'driver' is missing");
        if (!node) return make_error(origin + ": A block device must be given a name (node-name)");
        if (*driver == "file" || *driver == "host_device") {
            if (!sval(o, "filename")) return make_error(origin + ": Parameter 'filename' is missing");
            if (layer->find(*node) || file_nodes.count(*node))
                return make_error(origin + ": Duplicate nodes with node-name='" + *node + "'");
            file_nodes[*node] = o;
            file_origin[*node] = origin;
            continue;
        }
        if (*driver != "raw" && *driver != "qcow2") return unsupported_format(origin, *driver, true);
        // The format node's file: a node-name, an inline {"driver":"file",...},
        // or flattened file.driver=/file.filename= keys.
        Json fopts;
        std::string file_node;
        if (o.contains("file") && o["file"].is_string()) {
            std::string ref = o["file"].get<std::string>();
            file_node = ref;
            auto it = file_nodes.find(ref);
            if (it == file_nodes.end()) return make_error(origin + ": Cannot find device='' nor node-name='" + ref + "'");
            fopts = it->second;
            file_nodes.erase(it);
        } else if (o.contains("file") && o["file"].is_object()) {
            fopts = o["file"];
        } else if (o.contains("file.filename")) {
            fopts = {{"driver", sval(o, "file.driver").value_or("file")}, {"filename", *sval(o, "file.filename")}};
        } else {
            return make_error(origin + ": Parameter 'file' is missing");
        }
        auto ro = bval(o, "read-only", false);
        if (!ro) return make_error(origin + ": " + ro.error().msg);
        auto d = std::make_unique<BlockDev>();
        d->name_ = *node;
        d->format_node_ = *node;
        d->file_node_ = !file_node.empty() ? file_node : sval(fopts, "node-name").value_or(layer->auto_name());
        std::string disc = sval(o, "discard").value_or(sval(fopts, "discard").value_or("ignore"));
        d->discard_ = disc == "unmap" || disc == "on";
        Json fo = Json::object();
        for (const char* k : {"backing", "cache", "cache.direct", "cache.no-flush"})
            if (o.contains(k)) fo[k] = o[k];
        ARMVM_TRY(layer->open_format(*d, *driver, fo, fopts, *ro, origin));
        ARMVM_TRY(add(std::move(d), origin, "nodes with node-name"));
    }
    // File nodes no format node stacked on are disks of their own.
    for (auto& [name, o] : file_nodes) {
        auto ro = bval(o, "read-only", false);
        if (!ro) return make_error(file_origin[name] + ": " + ro.error().msg);
        auto d = std::make_unique<BlockDev>();
        d->name_ = name;
        d->file_node_ = name;
        std::string disc = sval(o, "discard").value_or("ignore");
        d->discard_ = disc == "unmap" || disc == "on";
        ARMVM_TRY(layer->open_format(*d, "raw", Json::object(), o, *ro, file_origin[name]));
        layer->devs_.push_back(std::move(d));
    }
    return layer;
}

}  // namespace armvm
