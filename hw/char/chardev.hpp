// Character device backends (-chardev): sockets (listening, connecting or
// an inherited fd), stdio, file, null, pty. A frontend (the QMP monitor, a
// UART) attaches callbacks and writes bytes; the backend does the I/O on
// the main loop.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/event_loop.hpp"
#include "base/json.hpp"
#include "base/result.hpp"
#include "machine/config.hpp"

namespace armvm {

class Chardev {
public:
    struct Frontend {
        std::function<void()> on_open;                   // a peer connected
        std::function<void(std::string_view)> on_read;   // bytes arrived
        std::function<void()> on_close;                  // the peer went away
        // On a multiplexed chardev (mux=on, "mon:"): this frontend gets or
        // loses the input (C-a c). Its first focus comes as on_open.
        std::function<void(bool)> on_focus;
    };

    // `quit`: what C-a x does on a multiplexed chardev.
    static Result<std::unique_ptr<Chardev>> create(const ChardevConfig& cfg, EventLoop& loop,
                                                   std::function<void()> quit = {});
    virtual ~Chardev() = default;

    const std::string& id() const { return cfg_.id; }
    const ChardevConfig& config() const { return cfg_; }

    // Attach the one frontend (a multiplexed chardev takes several); on_open
    // fires now if a peer is already there.
    virtual void attach(Frontend fe) = 0;
    // Queue bytes for the peer (dropped when nobody is connected, as QEMU).
    virtual void write(std::string_view data) = 0;
    virtual bool connected() const = 0;
    // query-chardev's "filename": "unix:/path,server=on", "pty:/dev/pts/3"...
    virtual std::string filename() const = 0;
    // A mux (mux=on, mon:): the chardev under it, which query-chardev lists
    // as "ID-base" as QEMU's does (the mux itself is "mux").
    virtual const Chardev* mux_base() const { return nullptr; }
    bool frontend_attached() const { return attached_; }
    // The frontend goes away: no more callbacks (on a multiplexed chardev,
    // none for any of its frontends).
    virtual void detach() {
        fe_ = {};
        attached_ = false;
    }

protected:
    Chardev(ChardevConfig cfg, EventLoop& loop) : cfg_(std::move(cfg)), loop_(loop) {}
    ChardevConfig cfg_;
    EventLoop& loop_;
    Frontend fe_;
    bool attached_ = false;
};

}  // namespace armvm
