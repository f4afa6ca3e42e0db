// libFuzzer target: arbitrary bytes into the QMP input path (JSON stream
// splitting, request validation, schema argument checks, every command's
// handler) of a real "none" machine.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/event_loop.hpp"
#include "machine/machine.hpp"
#include "machine/validate.hpp"
#include "monitor/dispatch.hpp"
#include "monitor/json_stream.hpp"

using namespace armvm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static auto loop = EventLoop::create();
    static std::unique_ptr<Machine> machine = [] {
        MachineConfig c;
        c.machine_props = Json{{"type", "none"}};
        c.start_paused = true;
        (void)validate_config(c);
        return std::move(Machine::create(c, **loop).value());
    }();
    JsonStream stream;
    QmpSession session;
    QmpContext ctx{*machine, command_table()};
    std::vector<JsonStream::Item> items;
    stream.feed(std::string_view(reinterpret_cast<const char*>(data), size), items);
    for (const auto& it : items) {
        if (!it.ok) continue;
        Json reply = qmp_dispatch(ctx, session, it.value);
        (void)to_qmp_text(reply);
        if (!session.negotiated) {
            session.negotiated = true;  // explore the commands past negotiation too
        }
    }
    return 0;
}
