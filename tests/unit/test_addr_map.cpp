// AddrMap (the CPU's blocks by physical address): every find, insert and
// extract agrees with std::unordered_map over random operations on keys
// that collide in the table (one page's words, and pages 2^k apart), the
// objects keep their addresses while the table grows and shifts, and a
// moved-from map is empty.
#include <catch2/catch.hpp>

#include <random>
#include <unordered_map>
#include <vector>

#include "cpu-arm64/addr_map.hpp"

using armvm::AddrMap;

TEST_CASE("AddrMap matches std::unordered_map over random inserts, finds and extracts") {
    struct Obj {
        uint64_t key;
        int serial;
    };
    AddrMap<Obj> m;
    std::unordered_map<uint64_t, std::pair<const Obj*, int>> ref;  // key -> where it lives, its serial
    std::mt19937_64 rng(7);
    auto key = [&] {
        switch (rng() % 3) {
        case 0: return 0x40000000ull + 4 * (rng() % 1024);             // one 4 KiB page
        case 1: return 0x40000000ull + (rng() % 64) * (1ull << 17) + 8;  // 128 KiB apart
        default: return 0x40000000ull + 4 * (rng() % (1u << 20));
        }
    };
    int serial = 0;
    for (int step = 0; step < 200000; ++step) {
        uint64_t k = key();
        auto r = ref.find(k);
        Obj* f = m.find(k);
        REQUIRE((f != nullptr) == (r != ref.end()));
        if (f) {
            REQUIRE(f == r->second.first);  // (it never moved)
            REQUIRE(f->key == k);
            REQUIRE(f->serial == r->second.second);
        }
        if (rng() % 5 < 3) {
            if (!f) {
                Obj& o = m.insert(k, Obj{k, ++serial});
                ref[k] = {&o, serial};
            }
        } else if (f) {
            auto out = m.extract(k);
            REQUIRE(out.get() == r->second.first);
            ref.erase(r);
            REQUIRE(m.find(k) == nullptr);
        } else {
            REQUIRE(m.extract(k) == nullptr);
        }
        REQUIRE(m.size() == ref.size());
    }
    size_t seen = 0;
    m.for_each([&](uint64_t k, const Obj& o) {
        ++seen;
        REQUIRE(ref.at(k).first == &o);
    });
    REQUIRE(seen == ref.size());
    // Every key is still found after all the shifting.
    for (auto& [k, v] : ref) REQUIRE(m.find(k) == v.first);

    AddrMap<Obj> moved(std::move(m));
    REQUIRE(m.size() == 0);
    REQUIRE(m.find(ref.begin()->first) == nullptr);
    REQUIRE(moved.size() == ref.size());
    for (auto& [k, v] : ref) REQUIRE(moved.find(k) == v.first);
    moved.clear();
    REQUIRE(moved.size() == 0);
    REQUIRE(moved.find(ref.begin()->first) == nullptr);
    moved.insert(8, Obj{8, 1});  // usable again after clear
    REQUIRE(moved.find(8)->serial == 1);
}
