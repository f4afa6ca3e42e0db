#include "hw/tpm/tpm_emulator.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace armvm {
namespace {

enum : uint32_t {
    kGetCapability = 0x01, kInit = 0x02, kShutdown = 0x03, kGetEstablished = 0x04, kSetLocality = 0x05,
    kStop = 0x0e, kSetDataFd = 0x10, kSetBufferSize = 0x11,
};

void put_be32(std::vector<uint8_t>& v, uint32_t x) {
    for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}
uint32_t be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }

bool write_all(int fd, const uint8_t* p, size_t n) {
    while (n) {
        ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

bool read_all(int fd, uint8_t* p, size_t n) {
    while (n) {
        ssize_t r = ::read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

// TPM2_RC_FAILURE for a command that got no answer.
std::vector<uint8_t> failure() { return {0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x01}; }

}  // namespace

Result<std::unique_ptr<TpmEmulator>> TpmEmulator::connect(const std::string& path) {
    std::unique_ptr<TpmEmulator> t(new TpmEmulator());
    t->ctrl_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) return make_error("tpm-emulator: socket path too long: " + path);
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    if (t->ctrl_ < 0 || ::connect(t->ctrl_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        return make_error(std::string("tpm-emulator: Failed to connect to '") + path + "': " + std::strerror(errno));
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return make_error(std::string("tpm-emulator: socketpair: ") + std::strerror(errno));
    t->data_ = sv[0];
    auto r = t->control(kSetDataFd, {}, 4, sv[1]);
    ::close(sv[1]);
    if (!r) return make_error("tpm-emulator: Failed to send CMD_SET_DATAFD: " + r.error().msg);
    // Which TPM: a TPM 2.0 answers an unknown command code with a 2.0
    // header (tag 0x8001), as QEMU probes it.
    auto probe = t->execute({0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x81}, 0);
    if (probe.size() < 10 || probe[0] != 0x80 || probe[1] != 0x01)
        return make_error("tpm-emulator: TPM version 2.0 is required (is swtpm started with --tpm2?)");
    if (auto c = t->control(kGetCapability, {}, 8); !c)
        return make_error("tpm-emulator: could not get the capabilities: " + c.error().msg);
    return t;
}

TpmEmulator::~TpmEmulator() {
    if (ctrl_ >= 0) {
        (void)control(kShutdown, {}, 4);
        ::close(ctrl_);
    }
    if (data_ >= 0) ::close(data_);
}

Result<std::vector<uint8_t>> TpmEmulator::control(uint32_t cmd, const std::vector<uint8_t>& in, size_t out_len,
                                                  int pass_fd) {
    std::vector<uint8_t> msg;
    put_be32(msg, cmd);
    msg.insert(msg.end(), in.begin(), in.end());
    if (pass_fd >= 0) {
        iovec iov{msg.data(), msg.size()};
        alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
        msghdr mh{};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl;
        mh.msg_controllen = sizeof ctl;
        cmsghdr* c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
        if (::sendmsg(ctrl_, &mh, MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size()))
            return make_error(std::strerror(errno));
    } else if (!write_all(ctrl_, msg.data(), msg.size())) {
        return make_error(std::strerror(errno ? errno : EPIPE));
    }
    std::vector<uint8_t> out(out_len);
    if (!read_all(ctrl_, out.data(), out.size())) return make_error("the control channel closed");
    if (out.size() >= 4 && be32(out.data()) != 0)
        return make_error("swtpm answered error 0x" + std::to_string(be32(out.data())));
    return out;
}

Status TpmEmulator::startup() {
    ARMVM_TRY(control(kStop, {}, 4));
    std::vector<uint8_t> req;
    put_be32(req, 0);  // (0: ask its size)
    auto r = control(kSetBufferSize, req, 16);
    if (!r) return r.error();
    buffer_size_ = be32(r->data() + 4);
    ARMVM_TRY(control(kStop, {}, 4));
    req.clear();
    put_be32(req, buffer_size_);
    ARMVM_TRY(control(kSetBufferSize, req, 16));
    req.clear();
    put_be32(req, 0);  // init flags: keep the volatile state
    ARMVM_TRY(control(kInit, req, 4));
    locality_ = -1;
    return ok_status();
}

bool TpmEmulator::established() {
    auto r = control(kGetEstablished, {}, 8);
    return r && (*r)[4] != 0;
}

std::vector<uint8_t> TpmEmulator::execute(const std::vector<uint8_t>& command, uint8_t locality) {
    if (locality != locality_) {
        if (!control(kSetLocality, {locality, 0, 0, 0}, 4)) return failure();
        locality_ = locality;
    }
    if (!write_all(data_, command.data(), command.size())) return failure();
    std::vector<uint8_t> resp(10);
    if (!read_all(data_, resp.data(), 10)) return failure();
    uint32_t size = be32(resp.data() + 2);
    if (size < 10 || size > (1u << 20)) return failure();
    resp.resize(size);
    if (!read_all(data_, resp.data() + 10, size - 10)) return failure();
    return resp;
}

}  // namespace armvm
