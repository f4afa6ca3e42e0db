// -netdev user: QEMU's user-mode network stack, libslirp, on the main loop.
// The guest's frames go in with send(); frames for the guest come out
// through the receiver set by the NIC. Slirp's sockets are registered with
// the loop's epoll before each wait (its poll set changes as connections
// come and go) and its timers are loop timers. Everything runs under the
// BQL.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/event_loop.hpp"
#include "base/json.hpp"
#include "base/result.hpp"
#include "net/net.hpp"

struct Slirp;

namespace armvm {

class SlirpNet : public NetBackend {
public:
    // `opts`: the -netdev dict (type=user, id, hostfwd, net, ...); `origin`
    // the option text for messages.
    static Result<std::unique_ptr<SlirpNet>> create(const Json& opts, const std::string& origin, EventLoop& loop);
    // Whether this build has user-mode networking (libslirp).
    static bool available();
    ~SlirpNet() override;
    void send(const uint8_t* frame, size_t len) override;
    const char* type() const override { return "user"; }
    // HMP info usernet: slirp's table of connections.
    std::string connections() const;
    // HMP hostfwd_add / hostfwd_remove: [tcp|udp]:[hostaddr]:hostport[-[guestaddr]:guestport].
    Status hostfwd_add(const std::string& spec);
    Status hostfwd_remove(const std::string& spec);

private:
    explicit SlirpNet(EventLoop& loop) : loop_(loop) {}
    void prepare();  // the prepare hook: refresh the fds slirp wants polled
    void dispatch();  // some fd is ready: let slirp poll them all

    struct Poll {
        int fd;
        short events;
        short revents;
    };
    EventLoop& loop_;
    Slirp* slirp_ = nullptr;
    uint32_t guest_default_ = 0;  // the first DHCP address (network order): hostfwd's default guest
    std::vector<Poll> polls_;
    std::map<int, uint32_t> registered_;  // fd -> epoll events
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // (the loop's hook outlives this)
    struct Timer {
        SlirpNet* net;
        int id;  // SlirpTimerId
        void* cb_opaque;
        EventLoop::TimerId loop_timer = 0;
    };
    std::vector<std::unique_ptr<Timer>> timers_;
    friend struct SlirpCallbacks;
};

}  // namespace armvm
