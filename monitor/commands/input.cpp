// Input from the monitor to the guest's USB keyboards and tablets: send-key
// (what `virsh send-key` uses) and input-send-event, with QEMU's arguments,
// replies and errors.
#include <algorithm>
#include <optional>

#include "hw/input/keycodes.hpp"
#include "machine/machine.hpp"
#include "machine/virt/board.hpp"
#include "monitor/dispatch.hpp"

namespace armvm {

namespace {

// A KeyValue ({"type": "number"|"qcode", "data": ...}) as a HID usage;
// nullopt for a number no key has (QEMU drops those too).
Result<std::optional<uint8_t>> key_usage(const Json& kv) {
    const Json& data = kv["data"];
    if (kv["type"] == "number") {
        if (!data.is_number_integer()) return make_error("Invalid parameter type for 'data', expected: integer");
        return qnum_to_hid(data.get<int64_t>());
    }
    if (!data.is_string()) return make_error("Invalid parameter type for 'data', expected: string");
    auto u = qcode_to_hid(data.get<std::string>());
    if (!u) return make_error("Parameter 'data' does not accept value '" + data.get<std::string>() + "'");
    return u;
}

}  // namespace

void register_input_commands(CommandTable& t) {
    Schema& s = t.schema();
    s.enumeration("QKeyCode", qcode_names());
    s.enumeration("KeyValueKind", {"number", "qcode"});
    s.object("KeyValue", {{"type", "KeyValueKind"}, {"data", "any"}});
    s.object("q_obj_send-key-arg", {{"keys", "[KeyValue]"}, {"*hold-time", "int"}});
    t.add("send-key", "q_obj_send-key-arg", "", [](QmpContext& ctx, const Json& a) -> Result<Json> {
        std::vector<uint8_t> keys;
        for (const Json& kv : a["keys"]) {
            auto u = key_usage(kv);
            if (!u) return u.error();
            if (*u) keys.push_back(**u);
        }
        int64_t hold = a.contains("hold-time") ? a["hold-time"].get<int64_t>() : 100;
        if (hold < 0) hold = 0;
        if (virt::Board* b = ctx.machine.board()) b->send_keys(keys, static_cast<uint64_t>(hold));
        return Json::object();
    });

    s.enumeration("InputEventKind", {"key", "btn", "rel", "abs"});
    s.object("InputEvent", {{"type", "InputEventKind"}, {"data", "any"}});
    s.object("q_obj_input-send-event-arg", {{"*device", "str"}, {"*head", "int"}, {"events", "[InputEvent]"}});
    t.add("input-send-event", "q_obj_input-send-event-arg", "", [](QmpContext& ctx, const Json& a) -> Result<Json> {
        virt::Board* b = ctx.machine.board();
        if (a.contains("device")) {
            // (armvm routes input by kind, not to one named device)
            return make_error("Device '" + a["device"].get<std::string>() + "' not found", "DeviceNotFound");
        }
        // Every event is checked (and has a device to go to) before any is sent.
        struct Ev {
            bool key = false;
            uint8_t usage = 0;
            bool down = false;
            std::optional<uint16_t> x, y;
            uint8_t set = 0, clear = 0;
        };
        std::vector<Ev> evs;
        for (const Json& e : a["events"]) {
            const std::string type = e["type"].get<std::string>();
            const Json& d = e["data"];
            if (!d.is_object()) return make_error("Invalid parameter type for 'data', expected: object");
            bool keyboard = type == "key";
            if (type == "rel" || !b || !b->has_input(keyboard))
                return make_error("Input handler not found for event type " + type);
            if (!d.contains("down") && type != "abs") return make_error("Parameter 'down' is missing");
            if (d.contains("down") && !d["down"].is_boolean())
                return make_error("Invalid parameter type for 'down', expected: boolean");
            bool down = d.value("down", false);
            Ev ev;
            ev.key = keyboard;
            if (type == "key") {
                if (!d.contains("key") || !d["key"].is_object()) return make_error("Parameter 'key' is missing");
                const Json& kv = d["key"];
                if (!kv.contains("type") || !kv.contains("data") || !kv["type"].is_string() ||
                    (kv["type"] != "number" && kv["type"] != "qcode"))
                    return make_error("Invalid parameter type for 'key', expected: KeyValue");
                auto u = key_usage(kv);
                if (!u) return u.error();
                if (!*u) continue;
                ev.usage = **u;
                ev.down = down;
            } else if (type == "btn") {
                const std::string btn = d.value("button", "");
                uint8_t bit = btn == "left" ? 1 : btn == "right" ? 2 : btn == "middle" ? 4 : 0;
                if (!bit) continue;  // (wheel and side buttons: the tablet has none)
                (down ? ev.set : ev.clear) = bit;
            } else {
                if (!d.contains("axis") || !d.contains("value") || !d["value"].is_number_integer())
                    return make_error("Parameter 'value' is missing");
                int64_t v = std::clamp<int64_t>(d["value"].get<int64_t>(), 0, 0x7fff);
                if (d["axis"] == "x") ev.x = static_cast<uint16_t>(v);
                else if (d["axis"] == "y") ev.y = static_cast<uint16_t>(v);
                else return make_error("Parameter 'axis' does not accept value '" + d["axis"].dump() + "'");
            }
            evs.push_back(ev);
        }
        // Keys one by one; the pointer's changes as one report at the end.
        std::optional<uint16_t> x, y;
        uint8_t set = 0, clear = 0;
        bool pointer = false;
        for (const Ev& ev : evs) {
            if (ev.key) {
                b->input_key(ev.usage, ev.down);
                continue;
            }
            pointer = true;
            if (ev.x) x = ev.x;
            if (ev.y) y = ev.y;
            set = static_cast<uint8_t>((set | ev.set) & ~ev.clear);
            clear = static_cast<uint8_t>((clear | ev.clear) & ~ev.set);
        }
        if (pointer) b->input_pointer(x, y, set, clear);
        return Json::object();
    });
}

}  // namespace armvm
