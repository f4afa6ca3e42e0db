// libFuzzer target: the option parsers. The input is split on NUL bytes
// into argv words for the whole command-line path (Boost tokenising,
// keyval/JSON parsing, validation); each word also goes through
// parse_keyval directly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/keyval.hpp"
#include "cli/options.hpp"
#include "machine/validate.hpp"

using namespace armvm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string in(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> args;
    size_t start = 0;
    for (size_t i = 0; i <= in.size(); ++i) {
        if (i == in.size() || in[i] == '\0') {
            args.push_back(in.substr(start, i - start));
            start = i + 1;
        }
    }
    for (const auto& a : args) {
        auto d = parse_keyval(a, {"type", true});
        if (d.ok()) {
            OptReader r(d->dict);
            (void)r.size("size", 'M');
            (void)r.boolean("flag");
            (void)r.finish();
        }
    }
    auto r = parse_command_line(args);
    if (r.ok() && !r->exit_now) (void)validate_config(r->config);
    return 0;
}
