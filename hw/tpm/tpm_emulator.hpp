// A TPM 2.0 in swtpm (QEMU's "-tpmdev emulator"): swtpm's control channel
// (a unix socket: big-endian commands CMD_SET_DATAFD, CMD_GET_CAPABILITY,
// CMD_STOP, CMD_SET_BUFFERSIZE, CMD_INIT, CMD_SET_LOCALITY,
// CMD_GET_TPMESTABLISHED, CMD_SHUTDOWN) and a data channel (one end of a
// socket pair handed over with CMD_SET_DATAFD) that carries the TPM
// commands and their responses. QEMU's exchange, in QEMU's order.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace armvm {

class TpmEmulator {
public:
    // Connects to swtpm's control socket at `path`, hands it the data
    // channel and checks that it is a TPM 2.0.
    static Result<std::unique_ptr<TpmEmulator>> connect(const std::string& path);
    ~TpmEmulator();

    // The TPM's power-on (machine reset): stop, agree on the buffer size,
    // init.
    Status startup();
    // One command (blocking; called on the TPM's worker thread): its
    // response, or a TPM_RC_FAILURE response if swtpm went away.
    std::vector<uint8_t> execute(const std::vector<uint8_t>& command, uint8_t locality);
    bool established();
    uint32_t buffer_size() const { return buffer_size_; }

private:
    TpmEmulator() = default;
    // A control command: `in` after the command code, `out_len` bytes back
    // (the first four: swtpm's result code, 0 for success).
    Result<std::vector<uint8_t>> control(uint32_t cmd, const std::vector<uint8_t>& in, size_t out_len, int pass_fd = -1);

    int ctrl_ = -1, data_ = -1;
    int locality_ = -1;
    uint32_t buffer_size_ = 4096;
};

}  // namespace armvm
