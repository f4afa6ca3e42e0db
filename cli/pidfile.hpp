// -pidfile: written by the daemon, close-on-exec, held under an fcntl
// write lock for the process's life (a second instance fails), removed on
// exit.
#pragma once
#include <memory>
#include <string>

#include "base/result.hpp"

namespace armvm {

class Pidfile {
public:
    static Result<std::unique_ptr<Pidfile>> create(const std::string& path);
    ~Pidfile();
    Pidfile(const Pidfile&) = delete;
    Pidfile& operator=(const Pidfile&) = delete;

private:
    Pidfile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
    std::string path_;
    int fd_;
};

}  // namespace armvm
