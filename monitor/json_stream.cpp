#include "monitor/json_stream.hpp"

#include <cstdio>

namespace armvm {

void JsonStream::reset() {
    buf_.clear();
    in_value_ = in_string_ = escape_ = scalar_ = in_literal_ = skipping_ = false;
    depth_ = 0;
    tokens_ = 0;
}

void JsonStream::fail(std::vector<Item>& out, std::string msg) {
    out.push_back({false, Json(), std::move(msg)});
    bool was_in_value = in_value_;
    reset();
    skipping_ = was_in_value;
}

void JsonStream::finish_value(std::vector<Item>& out) {
    auto j = parse_json(buf_);
    if (j)
        out.push_back({true, std::move(j.value()), {}});
    else
        out.push_back({false, Json(), j.error().msg});
    reset();
}

void JsonStream::feed(std::string_view data, std::vector<Item>& out) {
    for (size_t i = 0; i < data.size(); ++i) {
        char c = data[i];
        unsigned char uc = static_cast<unsigned char>(c);
        if (skipping_) {
            if (c == '\n') skipping_ = false;
            continue;
        }
        if (!in_value_) {
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
            if (c == '}' || c == ']' || c == ',' || c == ':') {
                out.push_back({false, Json(), "JSON parse error, expecting value"});
                continue;
            }
            if (uc >= 0x80 || uc < 0x20) {
                char b[64];
                std::snprintf(b, sizeof b, "JSON parse error, stray '\\x%02x'", uc);
                out.push_back({false, Json(), b});
                continue;
            }
            in_value_ = true;
            scalar_ = (c != '{' && c != '[');
        }
        if (buf_.size() >= kMaxMessageBytes) {
            fail(out, "JSON token size limit exceeded");
            continue;
        }
        if (in_string_) {
            buf_ += c;
            if (escape_) {
                escape_ = false;
            } else if (c == '\\') {
                escape_ = true;
            } else if (c == '"') {
                in_string_ = false;
                if (scalar_ && depth_ == 0) finish_value(out);
            }
            continue;
        }
        bool delim = c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':' || c == '"' ||
                     c == ' ' || c == '\t' || c == '\r' || c == '\n';
        if (in_literal_ && delim) {
            in_literal_ = false;
            if (scalar_ && depth_ == 0) {
                finish_value(out);
                --i;  // re-read the delimiter outside any value
                continue;
            }
        }
        if (uc >= 0x80 || (uc < 0x20 && c != '\t' && c != '\r' && c != '\n')) {
            char b[64];
            std::snprintf(b, sizeof b, "JSON parse error, stray '\\x%02x'", uc);
            fail(out, b);
            if (c == '\n') skipping_ = false;
            continue;
        }
        buf_ += c;
        switch (c) {
        case '{':
        case '[':
            ++tokens_;
            if (++depth_ > kMaxNesting) {
                fail(out, "JSON nesting depth limit exceeded");
                continue;
            }
            break;
        case '}':
        case ']':
            ++tokens_;
            if (--depth_ == 0) {
                finish_value(out);
                continue;
            }
            if (depth_ < 0) {
                fail(out, "JSON parse error, expecting value");
                continue;
            }
            break;
        case ',':
        case ':':
            ++tokens_;
            break;
        case '"':
            ++tokens_;
            in_string_ = true;
            break;
        case ' ': case '\t': case '\r': case '\n':
            break;
        default:
            if (!in_literal_) {
                in_literal_ = true;
                ++tokens_;
            }
        }
        if (tokens_ > kMaxTokens) fail(out, "JSON token count limit exceeded");
    }
}

}  // namespace armvm
