"""The generic timer's interrupt reaches a CPU that busy-waits (no WFI),
in a loop reading the counter and in a compiled loop counting in memory:
every sample's interrupt comes while the loop still runs, on armvm as on
qemu-system-aarch64. (How late it comes is scripts/bench-timer's.)"""
import subprocess

import pytest

import guest_build
from armvm_test import armvm_path

pytestmark = pytest.mark.skipif(not guest_build.available(), reason="needs aarch64-linux-gnu-gcc and qemu-system-aarch64")


@pytest.mark.parametrize("emu", ["armvm", "qemu-system-aarch64"])
@pytest.mark.parametrize("smp", ["1", "2"])
def test_timer_interrupt_reaches_a_busy_cpu(tmp_path, emu, smp):
    elf = guest_build.build("timer_latency", str(tmp_path))
    r = subprocess.run([armvm_path() if emu == "armvm" else emu, "-M", "virt", "-cpu", "cortex-a57", "-smp", smp,
                        "-display", "none", "-nodefaults", "-serial", "stdio", "-kernel", elf],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == "ok", r.stdout
    for line in lines[:2]:
        assert len(line.split(":")[1].split()) == 10  # ten samples, each a number of ticks
