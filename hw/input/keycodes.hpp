// Key names and numbers as QMP gives them (QEMU's QKeyCode names, and
// "number" keys: XT scancodes, 0x80 | code for the 0xe0-prefixed ones, as
// libvirt's send-key sends), translated to USB HID usages (page 7).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace armvm {

std::optional<uint8_t> qcode_to_hid(const std::string& qcode);
std::optional<uint8_t> qnum_to_hid(int64_t number);
// The QKeyCode names armvm knows, for the QMP schema.
std::vector<std::string> qcode_names();

}  // namespace armvm
