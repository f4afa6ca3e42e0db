#include <catch2/catch.hpp>

#include "base/keyval.hpp"

using namespace armvm;

TEST_CASE("keyval: implied first key, pairs and escapes", "[keyval]") {
    auto d = parse_keyval("virt,gic-version=3,append=a,,b", {"type", false});
    REQUIRE(d.ok());
    CHECK(d->dict["type"] == "virt");
    CHECK(d->dict["gic-version"] == "3");
    CHECK(d->dict["append"] == "a,b");
    CHECK_FALSE(d->help);
}

TEST_CASE("keyval: ,, escapes a comma in the implied value too", "[keyval]") {
    auto d = parse_keyval("/tmp/a,,b.sock,server=on", {"path", false});
    REQUIRE(d.ok());
    CHECK(d->dict["path"] == "/tmp/a,b.sock");
    CHECK(d->dict["server"] == "on");
}

TEST_CASE("keyval: legacy bare flags", "[keyval]") {
    auto d = parse_keyval("/x.sock,server,nowait", {"path", false});
    REQUIRE(d.ok());
    CHECK(d->dict["server"] == "on");
    CHECK(d->dict["wait"] == "off");
}

TEST_CASE("keyval: help anywhere", "[keyval]") {
    CHECK(parse_keyval("help", {"type", false})->help);
    CHECK(parse_keyval("?", {"type", false})->help);
    CHECK(parse_keyval("virt,help", {"type", false})->help);
}

TEST_CASE("keyval: later keys win", "[keyval]") {
    auto d = parse_keyval("a=1,a=2", {"", false});
    REQUIRE(d.ok());
    CHECK(d->dict["a"] == "2");
}

TEST_CASE("keyval: empty parameter names are errors", "[keyval]") {
    auto d = parse_keyval("virt,=3", {"type", false});
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().msg == "Invalid parameter ''");
}

TEST_CASE("keyval: JSON form keeps types", "[keyval][json]") {
    auto d = parse_keyval(R"({"driver":"virtio-blk-device","bootindex":1,"share":true})", {"driver", true});
    REQUIRE(d.ok());
    CHECK(d->dict["driver"] == "virtio-blk-device");
    CHECK(d->dict["bootindex"] == 1);
    CHECK(d->dict["share"] == true);
}

TEST_CASE("keyval: JSON form errors", "[keyval][json]") {
    auto bad = parse_keyval("{bad", {"driver", true});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().msg.rfind("JSON parse error, ", 0) == 0);
    auto arr = parse_keyval("[1]", {"driver", true});
    REQUIRE(arr.ok());  // '[' is not the JSON form: a key=value text
    auto notobj = parse_keyval("{\"a\":1} x", {"driver", true});
    CHECK_FALSE(notobj.ok());
}

TEST_CASE("keyval: booleans", "[keyval]") {
    for (const char* t : {"on", "yes", "true", "y"}) CHECK(*parse_bool_value("k", Json(t)));
    for (const char* f : {"off", "no", "false", "n"}) CHECK_FALSE(*parse_bool_value("k", Json(f)));
    CHECK(*parse_bool_value("k", Json(true)));
    auto e = parse_bool_value("pmu", Json("maybe"));
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().msg == "Parameter 'pmu' expects 'on' or 'off'");
    CHECK_FALSE(parse_bool_value("pmu", Json(1)).ok());
}

TEST_CASE("keyval: sizes", "[keyval]") {
    CHECK(*parse_size_value("size", Json("512"), 'M') == 512ull << 20);
    CHECK(*parse_size_value("size", Json("1G"), 'M') == 1ull << 30);
    CHECK(*parse_size_value("size", Json("1.5G"), 'M') == 3ull << 29);
    CHECK(*parse_size_value("size", Json("4096")) == 4096);
    CHECK(*parse_size_value("size", Json("64k")) == 65536);
    CHECK(*parse_size_value("size", Json("2MB")) == 2ull << 20);
    CHECK(*parse_size_value("size", Json(uint64_t{12345})) == 12345);
    for (const char* bad : {"", "foo", "1X", "-1", "1.5", "99999999999E"}) {
        auto r = parse_size_value("size", Json(bad));
        INFO(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().msg ==
              "Parameter 'size' expects a non-negative number below 2^64 (optional suffix k, M, G, T, P or E)");
    }
}

TEST_CASE("keyval: OptReader reports the first unread key", "[keyval]") {
    auto d = parse_keyval("a=1,b=on,c=x", {"", false});
    REQUIRE(d.ok());
    OptReader r(d->dict);
    CHECK(r.uint("a").value() == std::optional<uint64_t>(1));
    CHECK(r.boolean("b").value() == std::optional<bool>(true));
    auto st = r.finish();
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().msg == "Invalid parameter 'c'");
    CHECK(r.finish("Property 'x.%s' not found").error().msg == "Property 'x.c' not found");
}
