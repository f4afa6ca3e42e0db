// Splits a QMP byte stream into JSON values, as QEMU's json-streamer does:
// a value ends where its braces/brackets balance (no newline needed), and
// several values may arrive in one read. Limits are QEMU's; on an error the
// stream reports it once and resynchronises at the next newline, so one bad
// request never wedges the connection.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.hpp"

namespace armvm {

class JsonStream {
public:
    struct Item {
        bool ok;
        Json value;         // when ok
        std::string error;  // "JSON parse error, ..." when !ok
    };

    static constexpr size_t kMaxMessageBytes = 64u << 20;  // QEMU MAX_TOKEN_SIZE
    static constexpr size_t kMaxTokens = 2u << 20;         // QEMU MAX_TOKEN_COUNT
    static constexpr int kMaxNesting = 1024;               // QEMU MAX_NESTING

    // Feed bytes; complete values and errors are appended to `out`.
    void feed(std::string_view data, std::vector<Item>& out);
    void reset();

private:
    void fail(std::vector<Item>& out, std::string msg);
    void finish_value(std::vector<Item>& out);

    std::string buf_;
    bool in_value_ = false;
    bool in_string_ = false;
    bool escape_ = false;
    bool scalar_ = false;       // top-level value that is not {..} or [..]
    bool in_literal_ = false;   // inside a number/keyword token
    bool skipping_ = false;     // discarding up to the next newline
    int depth_ = 0;
    size_t tokens_ = 0;
};

}  // namespace armvm
