#include "accel/kvm/kvm.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/fault.hpp"

namespace armvm::kvm {

namespace {

// The kick's signal: a handler that does nothing (its arrival is what
// makes KVM_RUN return EINTR).
constexpr int kKickSignal = SIGUSR1;

void install_kick_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_handler = [](int) {};
        sigemptyset(&sa.sa_mask);
        ::sigaction(kKickSignal, &sa, nullptr);
    });
}

std::string err(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

std::atomic<int64_t> g_first_run_ns{0};

}  // namespace

int64_t first_run_ns() { return g_first_run_ns.load(); }

int kvm_ioctl(int fd, unsigned long req, unsigned long arg, const char* name) {
    if (fault_point(std::string("kvm:") + name)) {
        errno = EINVAL;
        return -1;
    }
    int r;
    do {
        r = ::ioctl(fd, req, arg);
    } while (r < 0 && errno == EINTR && req != KVM_RUN);
    return r;
}

// ---- /dev/kvm

Result<std::unique_ptr<Kvm>> Kvm::open(const char* path) {
    std::unique_ptr<Kvm> k(new Kvm);
    k->fd_ = ::open(path, O_RDWR | O_CLOEXEC);
    if (k->fd_ < 0) return make_error(err("Could not access KVM kernel module"));
    int v = kvm_ioctl(k->fd_, KVM_GET_API_VERSION, 0, "KVM_GET_API_VERSION");
    if (v != KVM_API_VERSION) return make_error("kvm version not supported: " + std::to_string(v));
    for (auto [cap, name] : {std::pair{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
                             std::pair{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"}})
        if (k->check_extension(cap) <= 0) return make_error(std::string("kvm does not support ") + name);
    int n = kvm_ioctl(k->fd_, KVM_GET_VCPU_MMAP_SIZE, 0, "KVM_GET_VCPU_MMAP_SIZE");
    if (n < static_cast<int>(sizeof(kvm_run))) return make_error(err("KVM_GET_VCPU_MMAP_SIZE"));
    k->run_size_ = static_cast<size_t>(n);
    return k;
}

Kvm::~Kvm() {
    if (fd_ >= 0) ::close(fd_);
}

int Kvm::check_extension(long cap) const {
    int r = kvm_ioctl(fd_, KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap), "KVM_CHECK_EXTENSION");
    return r < 0 ? 0 : r;
}

// ---- the VM

Result<std::unique_ptr<Vm>> Vm::create(Kvm& kvm, unsigned long type) {
    std::unique_ptr<Vm> vm(new Vm(kvm));
    vm->fd_ = kvm_ioctl(kvm.fd(), KVM_CREATE_VM, type, "KVM_CREATE_VM");
    if (vm->fd_ < 0) return make_error(err("failed to create a KVM VM"));
    ::fcntl(vm->fd_, F_SETFD, FD_CLOEXEC);
    // Dirty logging that the caller clears explicitly, where the kernel has
    // it; without it the classic log (cleared by reading) is used, silently.
    int caps = kvm.check_extension(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
    if (caps > 0) {
        kvm_enable_cap ec{};
        ec.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2;
        ec.args[0] = static_cast<uint64_t>(caps) & (KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET);
        vm->manual_protect_ =
            kvm_ioctl(vm->fd_, KVM_ENABLE_CAP, reinterpret_cast<unsigned long>(&ec), "KVM_ENABLE_CAP") == 0;
    }
    return vm;
}

Vm::~Vm() {
    if (fd_ >= 0) ::close(fd_);
}

Status Vm::add_memory(uint32_t slot, uint64_t gpa, uint64_t size, void* host, bool log_dirty) {
    kvm_userspace_memory_region r{};
    r.slot = slot;
    r.flags = log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0;
    r.guest_phys_addr = gpa;
    r.memory_size = size;
    r.userspace_addr = reinterpret_cast<uint64_t>(host);
    if (kvm_ioctl(fd_, KVM_SET_USER_MEMORY_REGION, reinterpret_cast<unsigned long>(&r),
                  "KVM_SET_USER_MEMORY_REGION") < 0)
        return make_error(err("KVM_SET_USER_MEMORY_REGION"));
    return ok_status();
}

Status Vm::set_ioeventfd(uint64_t addr, int fd, std::optional<uint32_t> match, unsigned match_size, bool assign) {
    kvm_ioeventfd e{};
    e.addr = addr;
    e.len = match ? match_size : 0;  // (0: any length, KVM_CAP_IOEVENTFD_ANY_LENGTH, Linux 4.1)
    e.datamatch = match.value_or(0);
    e.fd = fd;
    e.flags = (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN) | (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0);
    if (kvm_ioctl(fd_, KVM_IOEVENTFD, reinterpret_cast<unsigned long>(&e), "KVM_IOEVENTFD") < 0)
        return make_error(err("KVM_IOEVENTFD"));
    return ok_status();
}

Result<std::vector<uint64_t>> Vm::dirty_pages(uint32_t slot, uint64_t size) {
    uint64_t pages = (size + 4095) / 4096;
    std::vector<uint64_t> bits((pages + 63) / 64, 0);
    kvm_dirty_log log{};
    log.slot = slot;
    log.dirty_bitmap = bits.data();
    if (kvm_ioctl(fd_, KVM_GET_DIRTY_LOG, reinterpret_cast<unsigned long>(&log), "KVM_GET_DIRTY_LOG") < 0)
        return make_error(err("KVM_GET_DIRTY_LOG"));
    if (manual_protect_) {
        kvm_clear_dirty_log clear{};
        clear.slot = slot;
        clear.first_page = 0;
        clear.num_pages = static_cast<uint32_t>((pages + 63) / 64 * 64);  // (a multiple of 64, or the slot's end)
        if (clear.num_pages > pages) clear.num_pages = static_cast<uint32_t>(pages);
        std::vector<uint64_t> copy = bits;  // (the kernel may write the bitmap)
        clear.dirty_bitmap = copy.data();
        if (kvm_ioctl(fd_, KVM_CLEAR_DIRTY_LOG, reinterpret_cast<unsigned long>(&clear), "KVM_CLEAR_DIRTY_LOG") < 0)
            return make_error(err("KVM_CLEAR_DIRTY_LOG"));
    }
    return bits;
}

// ---- vCPUs

Result<std::unique_ptr<Vcpu>> Vcpu::create(Vm& vm, unsigned index, Bus& bus, Hooks hooks, std::mutex* bql) {
    install_kick_handler();
    std::unique_ptr<Vcpu> v(new Vcpu(index, bus, std::move(hooks), bql));
    v->fd_ = kvm_ioctl(vm.fd(), KVM_CREATE_VCPU, index, "KVM_CREATE_VCPU");
    if (v->fd_ < 0) return make_error(err("kvm_init_vcpu: KVM_CREATE_VCPU failed"));
    ::fcntl(v->fd_, F_SETFD, FD_CLOEXEC);
    v->run_size_ = vm.kvm().run_size();
    void* p = ::mmap(nullptr, v->run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd_, 0);
    if (p == MAP_FAILED) return make_error(err("kvm_init_vcpu: mmap'ing vcpu state failed"));
    v->run_ = static_cast<kvm_run*>(p);
    return v;
}

Vcpu::~Vcpu() {
    {
        std::lock_guard<std::mutex> g(m_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thr_.joinable()) {
        kick();
        thr_.join();
    }
    if (run_) ::munmap(run_, run_size_);
    if (fd_ >= 0) ::close(fd_);
}

void Vcpu::start() {
    std::unique_lock<std::mutex> lk(m_);
    thr_ = std::thread([this] { loop(); });
    cv_.wait(lk, [&] { return state_ != State::Created; });
}

Vcpu::State Vcpu::state() const {
    std::lock_guard<std::mutex> g(m_);
    return state_;
}

void Vcpu::kick() {
    __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
    cv_.notify_all();
    pthread_t t = thr_.native_handle();
    if (thr_.joinable() && tid_.load()) pthread_kill(t, kKickSignal);
}

template <typename Pred>
void Vcpu::wait(std::unique_lock<std::mutex>& lk, Pred pred) {
    // With the machine lock held by the caller, it is released while
    // waiting: the vCPU may need it for an MMIO exit before it can stop.
    bool held = bql_ && std::this_thread::get_id() != thr_.get_id();
    while (!pred()) {
        if (held) {
            lk.unlock();
            bql_->unlock();
            lk.lock();
            cv_.wait_for(lk, std::chrono::milliseconds(10), pred);
            lk.unlock();
            bql_->lock();
            lk.lock();
        } else {
            cv_.wait(lk, pred);
        }
    }
}

void Vcpu::resume() {
    {
        std::lock_guard<std::mutex> g(m_);
        want_run_ = true;
        halted_ = false;
    }
    cv_.notify_all();
}

void Vcpu::pause() {
    std::unique_lock<std::mutex> lk(m_);
    want_run_ = false;
    if (!thr_.joinable()) return;
    kick();
    if (std::this_thread::get_id() == thr_.get_id()) return;
    wait(lk, [&] { return state_ == State::Paused || state_ == State::Stopped; });
}

void Vcpu::async_run_on(std::function<void(Vcpu&)> fn) {
    {
        std::lock_guard<std::mutex> g(m_);
        work_.push_back(std::make_shared<Work>(Work{std::move(fn)}));
    }
    kick();
}

void Vcpu::run_on(const std::function<void(Vcpu&)>& fn) {
    if (!thr_.joinable() || std::this_thread::get_id() == thr_.get_id()) {
        fn(*this);
        return;
    }
    auto w = std::make_shared<Work>(Work{fn});
    std::unique_lock<std::mutex> lk(m_);
    work_.push_back(w);
    kick();
    wait(lk, [&] { return w->done || state_ == State::Stopped; });
}

void Vcpu::synchronize_state() {
    if (state_synced_) return;
    if (hooks_.get_state) hooks_.get_state(*this);
    gets_.fetch_add(1);
    state_synced_ = true;
}

void Vcpu::loop() {
    tid_.store(static_cast<pid_t>(::syscall(SYS_gettid)));
    std::string name = "CPU " + std::to_string(index_) + "/KVM";  // (QEMU's name; 15 bytes at most)
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    std::unique_lock<std::mutex> lk(m_);
    state_ = State::Paused;
    cv_.notify_all();
    while (!stop_) {
        // Clear the kick before looking at the queue and the run state:
        // a kick after this point makes the next KVM_RUN return at once.
        __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
        while (!work_.empty()) {
            auto w = work_.front();
            work_.pop_front();
            lk.unlock();
            w->fn(*this);
            lk.lock();
            w->done = true;
            cv_.notify_all();
        }
        if (stop_) break;
        if (!want_run_ || halted_) {
            if (state_ != State::Paused) {
                state_ = State::Paused;
                cv_.notify_all();
            }
            cv_.wait(lk, [&] { return stop_ || !work_.empty() || (want_run_ && !halted_); });
            continue;
        }
        state_ = State::Running;
        lk.unlock();
        if (state_dirty_) {
            if (hooks_.put_state) hooks_.put_state(*this);
            puts_.fetch_add(1);
            state_dirty_ = false;
        }
        if (g_first_run_ns.load(std::memory_order_relaxed) == 0) {
            timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t zero = 0;
            g_first_run_ns.compare_exchange_strong(zero, int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec);
        }
        int r = kvm_ioctl(fd_, KVM_RUN, 0, "KVM_RUN");
        int e = errno;
        state_synced_ = false;
        bool go_on = true;
        if (r < 0) {
            if (e != EINTR && e != EAGAIN) {
                if (hooks_.failed) hooks_.failed(*this, std::string("KVM_RUN: ") + std::strerror(e));
                go_on = false;
            }
        } else {
            exits_.fetch_add(1);
            go_on = handle_exit();
        }
        lk.lock();
        if (!go_on) want_run_ = false;
    }
    state_ = State::Stopped;
    cv_.notify_all();
}

bool Vcpu::handle_exit() {
    kvm_run& r = *run_;
    switch (r.exit_reason) {
    case KVM_EXIT_MMIO: {
        mmio_exits_.fetch_add(1);
        unsigned len = r.mmio.len;
        if (len == 0 || len > 8) return true;
        if (r.mmio.is_write) {
            uint64_t v = 0;
            std::memcpy(&v, r.mmio.data, len);
            (void)bus_.write(r.mmio.phys_addr, len, v, MemAttrs{static_cast<int>(index_), -1});  // (an access to nothing is ignored)
        } else {
            uint64_t v = 0;
            if (!bus_.read(r.mmio.phys_addr, len, v, MemAttrs{static_cast<int>(index_), -1})) v = 0;
            std::memcpy(r.mmio.data, &v, len);
        }
        return true;
    }
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_HLT: {
        // (no in-kernel interrupt controller: wait for a kick)
        std::lock_guard<std::mutex> g(m_);
        halted_ = true;
        return true;
    }
    case KVM_EXIT_FAIL_ENTRY:
    case KVM_EXIT_INTERNAL_ERROR:
        if (hooks_.failed)
            hooks_.failed(*this, "KVM: guest cannot run (exit reason " + std::to_string(r.exit_reason) + ")");
        return false;
    default:
        if (hooks_.exit && hooks_.exit(*this, r)) return true;
        if (hooks_.failed) hooks_.failed(*this, "KVM: unhandled exit reason " + std::to_string(r.exit_reason));
        return false;
    }
}

}  // namespace armvm::kvm
