"""armvm for arm64 hosts (where KVM runs it): scripts/build-arm64 cross-builds
a static binary against a private sysroot of Debian's arm64 packages; run
under qemu-aarch64 (user mode) here, it boots a bare-metal guest on its TCG
exactly as the host build does. It is also what the nested KVM rig runs."""
import os
import subprocess

import guest_build
from armvm_test import armvm_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_static_arm64_armvm_builds_and_runs_guests(tmp_path):
    out = os.path.join(ROOT, "build-arm64")
    subprocess.run([os.path.join(ROOT, "scripts", "build-arm64"), out], check=True, timeout=1500,
                   capture_output=True)
    arm64 = os.path.join(out, "armvm")
    with open(arm64, "rb") as f:
        elf = f.read()
    assert elf[:4] == b"\x7fELF" and int.from_bytes(elf[18:20], "little") == 183  # EM_AARCH64
    # statically linked: no program header asks for an interpreter (PT_INTERP)
    phoff, phentsize, phnum = (int.from_bytes(elf[32:40], "little"), int.from_bytes(elf[54:56], "little"),
                               int.from_bytes(elf[56:58], "little"))
    assert all(int.from_bytes(elf[phoff + i * phentsize:phoff + i * phentsize + 4], "little") != 3
               for i in range(phnum))
    v = subprocess.run(["qemu-aarch64", arm64, "-version"], capture_output=True, text=True, timeout=30)
    assert v.returncode == 0 and v.stdout.startswith("QEMU emulator version 7.2.0 (armvm ")
    for prog in ("hello", "mmu"):
        elf = guest_build.build(prog, str(tmp_path))
        args = ["-M", "virt", "-nographic", "-nodefaults", "-serial", "stdio", "-cpu", "cortex-a57", "-kernel", elf]
        ours = subprocess.run(["qemu-aarch64", arm64] + args, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        host = subprocess.run([armvm_path()] + args, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout == host.stdout and ours.stdout
    # no libslirp in the static build: a clear refusal
    r = subprocess.run(["qemu-aarch64", arm64, "-M", "virt", "-S", "-display", "none", "-nodefaults",
                        "-netdev", "user,id=n"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "built without user-mode networking" in r.stderr
