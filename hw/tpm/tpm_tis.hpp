// The TPM Interface Specification's FIFO interface at an MMIO address
// (TCG PC Client Platform TPM Profile, TIS 1.3 for TPM 2.0): QEMU's
// "tpm-tis-device" on the virt board's platform bus. Five localities of
// 4 KiB (access, interrupt, status with burst count, data FIFO,
// interface ID, DID/VID), one active at a time; a command is written into
// the FIFO, started with tpmGo, run by the backend (swtpm) on the TPM's
// own thread, and its response read back. No interrupt line (the device
// tree gives none, as QEMU's): drivers poll the status register.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/event_loop.hpp"
#include "hw/core/mmio.hpp"
#include "hw/tpm/tpm_emulator.hpp"

namespace armvm {

class TpmTis : public MmioDevice {
public:
    static constexpr uint64_t kSize = 0x5000;
    TpmTis(std::unique_ptr<TpmEmulator> backend, EventLoop& loop);
    ~TpmTis() override;

    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;
    void reset_enter() override;

private:
    enum class State { Idle, Ready, Reception, Execution, Completion };
    uint32_t read_reg(unsigned loc, unsigned reg);  // a dword, at reg & ~3
    uint8_t fifo_read();
    void fifo_write(uint8_t b);
    void write_sts(uint32_t v);
    void write_access(unsigned loc, uint8_t v);
    uint32_t burst() const;
    void execute();
    void worker();
    void done();  // (loop thread, BQL held) the response is in
    void drop_job();

    std::unique_ptr<TpmEmulator> backend_;
    EventLoop& loop_;
    int active_ = -1;            // the active locality
    uint8_t pending_ = 0;        // localities that asked for use
    State state_ = State::Idle;
    uint32_t sts_ = 0;
    bool abort_ = false;         // commandReady during execution
    std::vector<uint8_t> cmd_, resp_;
    size_t rw_ = 0;              // response bytes read
    uint32_t int_enable_[5] = {}, int_status_[5] = {};
    uint8_t int_vector_[5] = {};
    bool established_ = false;

    // The command in flight, handed to the worker (BQL held on both sides
    // of the hand-over; the worker runs the backend without it).
    std::mutex m_;
    std::condition_variable cv_;
    bool job_ = false, stop_ = false;
    std::vector<uint8_t> job_cmd_, job_resp_;
    uint8_t job_loc_ = 0;
    std::shared_ptr<TpmTis*> self_;  // the loop's completion task holds it weakly
    std::thread thread_;
};

}  // namespace armvm
