#include "block/block.hpp"

#include "base/fdset.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "base/keyval.hpp"

namespace armvm {

BlockDev::~BlockDev() {
    if (fd_ >= 0) ::close(fd_);
}

bool BlockDev::read(uint64_t offset, void* buf, size_t len) {
    if (offset > size_ || len > size_ - offset) return false;
    auto* p = static_cast<uint8_t*>(buf);
    while (len) {
        ssize_t n = ::pread(fd_, p, len, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) {  // (the file shrank under us: the rest reads as zeroes)
            std::memset(p, 0, len);
            return true;
        }
        p += n;
        offset += static_cast<uint64_t>(n);
        len -= static_cast<size_t>(n);
    }
    return true;
}

bool BlockDev::write(uint64_t offset, const void* buf, size_t len) {
    if (read_only_ || offset > size_ || len > size_ - offset) return false;
    auto* p = static_cast<const uint8_t*>(buf);
    while (len) {
        ssize_t n = ::pwrite(fd_, p, len, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        offset += static_cast<uint64_t>(n);
        len -= static_cast<size_t>(n);
    }
    return true;
}

bool BlockDev::flush() { return read_only_ || ::fdatasync(fd_) == 0; }

bool BlockDev::discard_range(uint64_t offset, uint64_t len) {
    if (read_only_ || offset > size_ || len > size_ - offset) return false;
    if (!discard_) return true;  // discard=ignore: a hint that may be dropped
    if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                    static_cast<off_t>(len)) == 0)
        return true;
    return errno == EOPNOTSUPP;  // (a file system without holes: still a valid discard)
}

bool BlockDev::write_zeroes(uint64_t offset, uint64_t len) {
    if (read_only_ || offset > size_ || len > size_ - offset) return false;
    if (::fallocate(fd_, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                    static_cast<off_t>(len)) == 0)
        return true;
    static const uint8_t zeros[65536] = {};
    while (len) {
        size_t n = len < sizeof zeros ? static_cast<size_t>(len) : sizeof zeros;
        if (!write(offset, zeros, n)) return false;
        offset += n;
        len -= n;
    }
    return true;
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

struct Opened {
    int fd;
    bool read_only;
    uint64_t size;
};

// Opens the image (read-only if asked, or with auto-read-only when it may
// not be written), locks it and sizes it.
Result<Opened> open_image(const std::string& filename, bool read_only, bool auto_read_only) {
    int fd = open_or_fdset(filename, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0 && !read_only && auto_read_only && (errno == EACCES || errno == EROFS || errno == EPERM)) {
        read_only = true;
        fd = open_or_fdset(filename, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) return make_error("Could not open '" + filename + "': " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
        ::close(fd);
        return make_error("'" + filename + "' is not a file");
    }
    struct flock fl {};
    fl.l_type = read_only ? F_RDLCK : F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        ::close(fd);
        return make_error(std::string("Failed to get \"") + (read_only ? "shared" : "write") +
                          "\" lock: Is another process using the image [" + filename + "]?");
    }
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) {
        ::close(fd);
        return make_error("Could not determine the size of '" + filename + "': " + std::strerror(errno));
    }
    return Opened{fd, read_only, static_cast<uint64_t>(end)};
}

bool looks_like_qcow2(int fd) {
    uint8_t m[4] = {};
    return ::pread(fd, m, 4, 0) == 4 && std::memcmp(m, "QFI\xfb", 4) == 0;
}

}  // namespace

BlockDev* BlockLayer::find(const std::string& name) {
    for (auto& d : devs_)
        if (d->name_ == name) return d.get();
    return nullptr;
}

Json BlockDev::node_info(bool format_node) const {
    struct stat st {};
    uint64_t actual = ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
    const char* drv = format_node ? "raw" : "file";
    return Json{{"iops_rd", 0}, {"detect_zeroes", "off"},
                {"image", {{"virtual-size", size_}, {"filename", filename_}, {"format", drv}, {"actual-size", actual},
                           {"dirty-flag", false}}},
                {"iops_wr", 0}, {"ro", read_only_}, {"node-name", format_node ? format_node_ : file_node_},
                {"backing_file_depth", 0}, {"drv", drv}, {"iops", 0}, {"bps_wr", 0}, {"write_threshold", 0},
                {"encrypted", false}, {"bps", 0}, {"bps_rd", 0},
                {"cache", {{"no-flush", false}, {"direct", false}, {"writeback", true}}}, {"file", filename_}};
}

Status BlockLayer::open_into(BlockDev& d, const std::string& filename, bool ro, bool auto_ro,
                             const std::string& origin, bool is_drive, bool format_given) {
    auto o = open_image(filename, ro, auto_ro);
    if (!o) return make_error(origin.empty() ? o.error().msg : origin + ": " + o.error().msg);
    d.fd_ = o->fd;
    d.read_only_ = o->read_only;
    d.size_ = o->size;
    d.filename_ = filename;
    if (is_drive && !format_given && looks_like_qcow2(d.fd_))
        return make_error(origin + ": '" + filename + "' is a qcow2 image; armvm reads raw images only");
    return ok_status();
}

// QMP blockdev-add: a file node is a disk of its own until a raw node is
// stacked on it (then the raw node's name is the disk's).
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
        auto filename = sval(o, "filename");
        if (!filename) return make_error("Parameter 'filename' is missing");
        auto aro = bval(o, "auto-read-only", false);
        if (!aro) return make_error(aro.error().msg);
        auto d = std::make_unique<BlockDev>();
        d->name_ = d->file_node_ = *node;
        d->discard_ = disc == "unmap" || disc == "on";
        ARMVM_TRY(open_into(*d, *filename, *ro, *aro, "", false, true));
        devs_.push_back(std::move(d));
        return ok_status();
    }
    if (*driver != "raw") {
        if (*driver == "qcow2" || *driver == "vmdk" || *driver == "qed" || *driver == "vdi" || *driver == "luks")
            return make_error("image format '" + *driver + "' is not supported (only raw)");
        return make_error("Parameter 'driver' does not accept value '" + *driver + "'");
    }
    if (!o.contains("file")) return make_error("Parameter 'file' is missing");
    if (o["file"].is_string()) {
        std::string ref = o["file"].get<std::string>();
        for (auto& d : devs_) {
            if (d->file_node_ != ref) continue;
            if (!d->format_node_.empty() || d->attached)
                return make_error("Node '" + ref + "' is busy: it is in use");
            d->name_ = d->format_node_ = *node;
            if (disc == "unmap" || disc == "on") d->discard_ = true;
            if (*ro) d->read_only_ = true;
            return ok_status();
        }
        return make_error("Cannot find device='" + ref + "' nor node-name='" + ref + "'");
    }
    if (!o["file"].is_object()) return make_error("Invalid parameter type for 'file', expected: string or object");
    Json f = o["file"];
    if (!f.contains("node-name")) f["node-name"] = "#block" + std::to_string(900 + devs_.size());
    ARMVM_TRY(add_node(f));
    Json stacked = o;
    stacked["file"] = f["node-name"];
    Status st = add_node(stacked);
    if (!st) devs_.pop_back();
    return st;
}

// QMP blockdev-del: the raw node goes (its file node stays, as QEMU's
// blockdev-add made them separately), or a lone file node is closed.
Status BlockLayer::del_node(const std::string& node) {
    for (auto it = devs_.begin(); it != devs_.end(); ++it) {
        BlockDev& d = **it;
        if (d.format_node_ != node && d.file_node_ != node) continue;
        if (d.is_drive_) return make_error("Node " + node + " is not owned by the monitor");
        if (d.attached) return make_error("Node " + node + " is in use");
        if (d.format_node_ == node) {
            d.format_node_.clear();
            d.name_ = d.file_node_;
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

Result<std::unique_ptr<BlockLayer>> BlockLayer::create(const MachineConfig& cfg) {
    auto layer = std::make_unique<BlockLayer>();
    // Nodes the user did not name get QEMU's style of name.
    unsigned auto_nodes = 0;
    auto auto_name = [&] { return "#block" + std::to_string(100 + 17 * auto_nodes++); };
    // -blockdev file nodes not yet used by a raw node: node-name -> options
    std::map<std::string, Json> file_nodes;
    std::map<std::string, std::string> file_origin;
    std::map<std::string, unsigned> anon;  // -drive without id, per interface
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
            static const char* known[] = {"file", "if", "id", "format", "readonly", "cache", "discard", "media",
                                          "aio", "detect-zeroes", "werror", "rerror", "index", "bus", "unit",
                                          "auto-read-only", "cache.direct", "cache.no-flush", "file.locking",
                                          "node-name", "snapshot", "copy-on-read"};
            for (auto it = o.begin(); it != o.end(); ++it) {
                bool ok = false;
                for (const char* k : known) ok = ok || it.key() == k;
                if (!ok) return make_error(origin + ": Block format 'raw' does not support the option '" + it.key() + "'");
            }
            std::string iface = sval(o, "if").value_or("virtio");  // (the virt board's default interface)
            int pflash_unit = -1;
            if (iface == "pflash") {  // the flash banks: unit 0 and 1
                std::string u = sval(o, "unit").value_or(std::to_string(anon["pflash"]));
                char* end = nullptr;
                long n = std::strtol(u.c_str(), &end, 10);
                if (u.empty() || *end || n < 0) return make_error(origin + ": Invalid unit value '" + u + "'");
                if (n > 1) return make_error(origin + ": machine type does not support if=pflash,bus=0,unit=" + u);
                for (const auto& other : layer->devs_)
                    if (other->pflash_unit_ == n)
                        return make_error(origin + ": drive with bus=0, unit=" + u + " exists");
                pflash_unit = static_cast<int>(n);
                anon["pflash"] = static_cast<unsigned>(n) + 1;
            } else if (iface != "none" && iface != "virtio") {
                return make_error(origin + ": machine type does not support if=" + iface + ",bus=0,unit=0");
            }
            auto file = sval(o, "file");
            if (!file || file->empty()) return make_error(origin + ": A block device must be given a file (file=...)");
            auto fmt = sval(o, "format");
            if (fmt && *fmt != "raw") {
                if (*fmt == "qcow2" || *fmt == "qed" || *fmt == "vmdk" || *fmt == "vdi" || *fmt == "vpc" ||
                    *fmt == "vhdx" || *fmt == "luks")
                    return make_error(origin + ": image format '" + *fmt + "' is not supported (only raw)");
                return make_error(origin + ": Unknown driver '" + *fmt + "'");
            }
            if (sval(o, "media").value_or("disk") != "disk")
                return make_error(origin + ": media=" + *sval(o, "media") + " is not supported");
            auto ro = bval(o, "readonly", false);
            if (!ro) return make_error(origin + ": " + ro.error().msg);
            auto snap = bval(o, "snapshot", false);
            if (!snap) return make_error(origin + ": " + snap.error().msg);
            if (*snap) return make_error(origin + ": snapshot=on is not supported");
            std::string disc = sval(o, "discard").value_or("ignore");
            if (disc != "ignore" && disc != "off" && disc != "unmap" && disc != "on")
                return make_error(origin + ": Invalid discard option");
            auto d = std::make_unique<BlockDev>();
            auto id = sval(o, "id");
            d->name_ = id ? *id
                          : pflash_unit >= 0 ? "pflash" + std::to_string(pflash_unit)
                                             : iface + std::to_string(anon[iface]++);  // QEMU's names: virtio0, none0, ...
            d->pflash_unit_ = pflash_unit;
            d->discard_ = disc == "unmap" || disc == "on";
            d->implicit_virtio_ = iface == "virtio";
            d->is_drive_ = true;
            d->format_node_ = sval(o, "node-name").value_or(auto_name());
            d->file_node_ = auto_name();
            ARMVM_TRY(open_into(*d, *file, *ro, false, origin, true, fmt.has_value()));
            if (!fmt)
                std::fprintf(stderr,
                             "armvm: warning: Image format was not specified for '%s' and probing guessed raw.\n"
                             "         Specify the 'raw' format explicitly to remove this warning.\n",
                             file->c_str());
            ARMVM_TRY(add(std::move(d), origin, "ID"));
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
        if (*driver != "raw") {
            if (*driver == "qcow2" || *driver == "vmdk" || *driver == "qed" || *driver == "vdi" || *driver == "luks")
                return make_error(origin + ": image format '" + *driver + "' is not supported (only raw)");
            return make_error(origin + ": Parameter 'driver' does not accept value '" + *driver + "'");
        }
        // The raw node's file: a node-name, an inline {"driver":"file",...},
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
        if (!fopts.contains("filename")) return make_error(origin + ": Parameter 'filename' is missing");
        auto ro = bval(o, "read-only", false);
        if (!ro) return make_error(origin + ": " + ro.error().msg);
        auto fro = bval(fopts, "read-only", *ro);
        if (!fro) return make_error(origin + ": " + fro.error().msg);
        auto aro = bval(fopts, "auto-read-only", false);
        if (!aro) return make_error(origin + ": " + aro.error().msg);
        auto d = std::make_unique<BlockDev>();
        d->name_ = *node;
        d->format_node_ = *node;
        d->file_node_ = !file_node.empty() ? file_node : sval(fopts, "node-name").value_or(auto_name());
        std::string disc = sval(o, "discard").value_or(sval(fopts, "discard").value_or("ignore"));
        d->discard_ = disc == "unmap" || disc == "on";
        ARMVM_TRY(open_into(*d, *sval(fopts, "filename"), *ro || *fro, *aro, origin, false, true));
        ARMVM_TRY(add(std::move(d), origin, "nodes with node-name"));
    }
    // File nodes no raw node stacked on are disks of their own.
    for (auto& [name, o] : file_nodes) {
        auto ro = bval(o, "read-only", false);
        if (!ro) return make_error(file_origin[name] + ": " + ro.error().msg);
        auto aro = bval(o, "auto-read-only", false);
        if (!aro) return make_error(file_origin[name] + ": " + aro.error().msg);
        auto d = std::make_unique<BlockDev>();
        d->name_ = name;
        d->file_node_ = name;
        std::string disc = sval(o, "discard").value_or("ignore");
        d->discard_ = disc == "unmap" || disc == "on";
        ARMVM_TRY(open_into(*d, *sval(o, "filename"), *ro, *aro, file_origin[name], false, true));
        layer->devs_.push_back(std::move(d));
    }
    return layer;
}

}  // namespace armvm
