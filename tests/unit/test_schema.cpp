#include <catch2/catch.hpp>

#include "monitor/dispatch.hpp"
#include "monitor/schema.hpp"

using namespace armvm;

TEST_CASE("schema: argument errors use QEMU's wording", "[schema]") {
    Schema s;
    s.enumeration("Kind", {"a", "b"});
    s.object("Inner", {{"name", "str"}});
    s.object("Args", {{"n", "int"}, {"*k", "Kind"}, {"*inner", "Inner"}, {"*list", "[Inner]"}});
    CHECK(s.check_args("Args", Json{{"n", 1}}).ok());
    CHECK(s.check_args("Args", Json::object()).error().msg == "Parameter 'n' is missing");
    CHECK(s.check_args("Args", Json{{"n", "1"}}).error().msg ==
          "Invalid parameter type for 'n', expected: integer");
    CHECK(s.check_args("Args", Json{{"n", 1}, {"z", 1}}).error().msg == "Parameter 'z' is unexpected");
    CHECK(s.check_args("Args", Json{{"n", 1}, {"k", "c"}}).error().msg ==
          "Parameter 'k' does not accept value 'c'");
    CHECK(s.check_args("Args", Json{{"n", 1}, {"inner", Json::object()}}).error().msg ==
          "Parameter 'inner.name' is missing");
    CHECK(s.check_args("Args", Json{{"n", 1}, {"list", Json::array({Json{{"name", 2}}})}}).error().msg ==
          "Invalid parameter type for 'list[0].name', expected: string");
    CHECK(s.check_args("Args", Json{{"n", 1}, {"inner", 3}}).error().msg ==
          "Invalid parameter type for 'inner', expected: object");
}

TEST_CASE("schema: introspection format", "[schema]") {
    Schema s;
    s.object("Ret", {{"a", "str"}, {"*b", "[int]"}});
    s.command("cmd", "", "Ret", {"feat"});
    Json in = s.introspect();
    auto find = [&](const std::string& n) {
        for (const auto& e : in)
            if (e["name"] == n) return e;
        return Json();
    };
    CHECK(find("cmd") == Json{{"name", "cmd"}, {"meta-type", "command"}, {"arg-type", "q_empty"},
                              {"ret-type", "Ret"}, {"features", {"feat"}}});
    CHECK(find("Ret")["members"][1] == Json{{"name", "b"}, {"type", "[int]"}, {"default", nullptr}});
    CHECK(find("[int]") == Json{{"name", "[int]"}, {"meta-type", "array"}, {"element-type", "int"}});
    CHECK(find("bool")["json-type"] == "boolean");
    CHECK_FALSE(s.self_check());
}

TEST_CASE("schema: the real command table is consistent", "[schema]") {
    const CommandTable& t = command_table();
    auto problem = t.schema().self_check();
    INFO(problem.value_or(""));
    CHECK_FALSE(problem);
    for (const auto& name : t.schema().command_names()) CHECK(t.find(name) != nullptr);
}
