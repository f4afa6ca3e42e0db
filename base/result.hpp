// Errors as values at subsystem boundaries (DESIGN.md "Errors").
// C++20 has no std::expected, so this is a deliberately small stand-in.
#pragma once
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace armvm {

// An error a user will read. `cls` is the QMP error class used when the
// error travels back over the monitor (GenericError, CommandNotFound,
// DeviceNotFound, ...); the command line ignores it.
struct Error {
    std::string msg;
    std::string cls = "GenericError";
};

inline Error make_error(std::string msg, std::string cls = "GenericError") {
    return Error{std::move(msg), std::move(cls)};
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error err) : v_(std::move(err)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { assert(ok()); return std::get<0>(v_); }
    const T& value() const& { assert(ok()); return std::get<0>(v_); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { assert(!ok()); return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }

// Propagate an error from an expression returning Result<...>.
#define ARMVM_TRY(expr)                                  \
    do {                                                 \
        auto armvm_try_r_ = (expr);                      \
        if (!armvm_try_r_.ok()) return armvm_try_r_.error(); \
    } while (0)

}  // namespace armvm
