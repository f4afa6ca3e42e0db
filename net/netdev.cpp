#include "net/net.hpp"
#include "net/slirp.hpp"
#include "net/tap.hpp"

namespace armvm {

Result<std::vector<std::unique_ptr<NetBackend>>> create_netdevs(const std::vector<Json>& netdevs,
                                                                const std::vector<std::string>& origins,
                                                                EventLoop& loop) {
    std::vector<std::unique_ptr<NetBackend>> out;
    for (size_t i = 0; i < netdevs.size(); ++i) {
        const Json& o = netdevs[i];
        std::string type = o.value("type", "");
        for (auto& b : out)
            if (b->id() == o.value("id", ""))
                return make_error("-netdev " + origins[i] + ": Duplicate ID '" + b->id() + "' for netdev");
        if (type == "user") {
            auto n = SlirpNet::create(o, origins[i], loop);
            if (!n) return n.error();
            out.push_back(std::move(n.value()));
        } else if (type == "tap") {
            auto n = TapNet::create(o, origins[i], loop);
            if (!n) return n.error();
            out.push_back(std::move(n.value()));
        } else {
            return make_error("-netdev " + origins[i] + ": network backend '" + type + "' is not supported");
        }
    }
    return out;
}

}  // namespace armvm
