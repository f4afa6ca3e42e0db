"""Builds the bare-metal test programs of tests/guest/ with Debian's
aarch64-linux-gnu-gcc."""
import os
import shutil
import subprocess

GUEST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "guest")
CC = "aarch64-linux-gnu-gcc"
CFLAGS = ["-O2", "-ffreestanding", "-nostdlib", "-mgeneral-regs-only", "-mstrict-align", "-static",
          "-Wall", "-Wextra", "-Werror", "-Wl,--build-id=none,--no-warn-rwx-segments"]


def available():
    return shutil.which(CC) is not None and shutil.which("qemu-system-aarch64") is not None


def build(name, outdir):
    out = os.path.join(outdir, name + ".elf")
    if not os.path.exists(out):
        subprocess.run([CC] + CFLAGS + ["-T", os.path.join(GUEST, "link.ld"), "-o", out,
                                        os.path.join(GUEST, "start.S"), os.path.join(GUEST, "lib.c"),
                                        os.path.join(GUEST, name + ".c")], check=True)
    return out


def build_raw(name, outdir):
    """The program as a raw binary (linked at RAM + 0x80000, where QEMU
    loads a raw -kernel)."""
    out = os.path.join(outdir, name + ".bin")
    if not os.path.exists(out):
        subprocess.run(["aarch64-linux-gnu-objcopy", "-O", "binary", build(name, outdir), out], check=True)
    return out
