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


def build(name, outdir, defines=()):
    """tests/guest/NAME.c as outdir/NAME.elf: general registers only at -O2
    unless the file's first line gives its flags ("// guest-cflags: ...");
    start.S and lib.c are always built that way. `defines`: extra -D
    options (for example a smaller workload)."""
    out = os.path.join(outdir, name + "".join("_" + d.replace("=", "") for d in defines) + ".elf")
    if not os.path.exists(out):
        src = os.path.join(GUEST, name + ".c")
        with open(src) as fh:
            first = fh.readline()
        base = ["-O2", "-mgeneral-regs-only"]
        prog = first.split(":", 1)[1].split() if first.startswith("// guest-cflags:") else base
        common = [f for f in CFLAGS if f not in base and not f.startswith("-Wl,")]
        obj = out[:-4] + ".o"
        subprocess.run([CC] + common + prog + ["-D" + d for d in defines] + ["-c", "-o", obj, src], check=True)
        subprocess.run([CC] + CFLAGS + ["-T", os.path.join(GUEST, "link.ld"), "-o", out,
                                        os.path.join(GUEST, "start.S"), os.path.join(GUEST, "lib.c"), obj],
                       check=True)
    return out


def build_raw(name, outdir):
    """The program as a raw binary (linked at RAM + 0x80000, where QEMU
    loads a raw -kernel)."""
    out = os.path.join(outdir, name + ".bin")
    if not os.path.exists(out):
        subprocess.run(["aarch64-linux-gnu-objcopy", "-O", "binary", build(name, outdir), out], check=True)
    return out


def build_firmware(outdir):
    """tests/guest/firmware.S as a raw image linked at 0 (for -bios)."""
    out = os.path.join(outdir, "firmware.bin")
    if not os.path.exists(out):
        elf = out[:-4] + ".elf"
        subprocess.run([CC, "-nostdlib", "-static", "-Wl,-Ttext=0", "-Wl,--build-id=none", "-o", elf,
                        os.path.join(GUEST, "firmware.S")], check=True)
        subprocess.run(["aarch64-linux-gnu-objcopy", "-O", "binary", elf, out], check=True)
    return out
