#include <catch2/catch.hpp>

#include "base/json.hpp"
#include "monitor/json_stream.hpp"

using namespace armvm;

namespace {
std::vector<JsonStream::Item> feed(JsonStream& s, std::string_view d) {
    std::vector<JsonStream::Item> out;
    s.feed(d, out);
    return out;
}
}  // namespace

TEST_CASE("json stream: values end where braces balance", "[json]") {
    JsonStream s;
    auto a = feed(s, R"({"a":{"b":[1,2]}}{"c":"}"})");
    REQUIRE(a.size() == 2);
    CHECK(a[0].ok);
    CHECK(a[0].value["a"]["b"][1] == 2);
    CHECK(a[1].value["c"] == "}");
}

TEST_CASE("json stream: values split across reads", "[json]") {
    JsonStream s;
    CHECK(feed(s, R"({"exec)").empty());
    CHECK(feed(s, "ute\":\n\"x\\\"").empty());
    auto a = feed(s, R"(y"})");
    REQUIRE(a.size() == 1);
    CHECK(a[0].value["execute"] == "x\"y");
}

TEST_CASE("json stream: scalars at top level", "[json]") {
    JsonStream s;
    auto a = feed(s, "42\n\"s\" true\n");
    REQUIRE(a.size() == 3);
    CHECK(a[0].value == 42);
    CHECK(a[1].value == "s");
    CHECK(a[2].value == true);
}

TEST_CASE("json stream: errors resynchronise at the newline", "[json]") {
    JsonStream s;
    auto a = feed(s, std::string(1100, '[') + "]]]\n{\"ok\":1}");
    REQUIRE(a.size() == 2);
    CHECK_FALSE(a[0].ok);
    CHECK(a[0].error == "JSON nesting depth limit exceeded");
    CHECK(a[1].ok);
    CHECK(a[1].value["ok"] == 1);
}

TEST_CASE("json stream: stray closing bracket and bytes", "[json]") {
    JsonStream s;
    auto a = feed(s, "}\xff{}");
    REQUIRE(a.size() == 3);
    CHECK(a[0].error == "JSON parse error, expecting value");
    CHECK(a[1].error == "JSON parse error, stray '\\xff'");
    CHECK(a[2].ok);
}

TEST_CASE("json stream: syntax errors inside a value", "[json]") {
    JsonStream s;
    auto a = feed(s, "{bad}\n{\"x\":1}");
    REQUIRE(a.size() == 2);
    CHECK_FALSE(a[0].ok);
    CHECK(a[0].error.rfind("JSON parse error, ", 0) == 0);
    CHECK(a[1].ok);
}

TEST_CASE("qmp text: QEMU's separators and escaping", "[json]") {
    Json j = {{"return", {{"a", 1}, {"b", Json::array({1, "x"})}}}, {"id", "\xc3\xa9\x01"}};
    CHECK(to_qmp_text(j) == R"({"return": {"a": 1, "b": [1, "x"]}, "id": "\u00e9\u0001"})");
    // Invalid UTF-8 is replaced, not thrown.
    CHECK(to_qmp_text(Json("\xff")) == R"("\ufffd")");
}
