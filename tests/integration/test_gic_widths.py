"""The GICv2 distributor at the widths the architecture allows (byte and
word accesses to IPRIORITYR and ITARGETSR, banked SGI/PPI targets, byte
reads of the set-enable registers), read back as on qemu-system-aarch64,
except where QEMU departs from the GIC architecture: bits of ITARGETSR for
CPU interfaces that do not exist are RAZ/WI (GICv2 spec 4.3.12), which
QEMU keeps (it masks with 8 CPUs whatever the machine has)."""
import subprocess

import pytest

import guest_build
from armvm_test import armvm_path

pytestmark = pytest.mark.skipif(not guest_build.available(), reason="needs aarch64-linux-gnu-gcc and qemu-system-aarch64")


def run(emu, elf):
    r = subprocess.run([emu, "-M", "virt", "-cpu", "cortex-a57", "-smp", "2", "-display", "none", "-nodefaults",
                        "-serial", "stdio", "-kernel", elf], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return dict(line.rsplit(" ", 1) for line in r.stdout.splitlines())


def test_gicv2_distributor_byte_and_word_accesses(tmp_path):
    elf = guest_build.build("gic_bytes", str(tmp_path))
    ours, theirs = run(armvm_path(), elf), run("qemu-system-aarch64", elf)
    assert ours["IPRIORITYR8 word"] == "0x0000000040302010"
    assert ours["ITARGETSR0 word"] == "0x0000000001010101"
    # two CPUs: CPU interfaces 2-7 do not exist, their target bits are RAZ/WI
    assert ours["ITARGETSR8 word"] == "0x0000000003030201"
    assert ours["ITARGETSR8 byte3"] == "0x0000000000000003"
    assert theirs["ITARGETSR8 word"] == "0x00000000ff030201"  # (QEMU's departure, see above)
    for k in ("ITARGETSR8 word", "ITARGETSR8 byte3"):
        del ours[k], theirs[k]
    assert ours == theirs
