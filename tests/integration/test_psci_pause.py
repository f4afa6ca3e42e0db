"""PSCI power state is not the VM's run state: while CPUs keep powering
each other on and off (tests/guest/psci_hammer.c), QMP stop, system_reset
and cont come in, and no CPU runs while the VM is stopped (the guest's
work counter, read through HMP's xp, stands still), for either thread
model; the VM stays responsive and runs again after cont."""
import re
import subprocess
import time

import pytest

import guest_build
from armvm_test import Qmp, armvm_path

pytestmark = pytest.mark.skipif(not guest_build.available(), reason="needs aarch64-linux-gnu-gcc and qemu-system-aarch64")


@pytest.mark.parametrize("thread", ["multi", "single"])
def test_no_cpu_runs_while_the_vm_is_stopped(tmp_path, thread):
    elf = guest_build.build("psci_hammer", str(tmp_path))
    sym = subprocess.run(["aarch64-linux-gnu-nm", elf], capture_output=True, text=True).stdout
    work = int(re.search(r"^([0-9a-f]+) [Bb] work$", sym, re.M).group(1), 16)
    sock = tmp_path / "q.sock"
    p = subprocess.Popen([armvm_path(), "-M", "virt", "-cpu", "cortex-a57", "-smp", "4", "-accel", f"tcg,thread={thread}",
                          "-display", "none", "-nodefaults", "-serial", "null", "-kernel", elf,
                          "-qmp", f"unix:{sock},server=on,wait=off"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        q = Qmp.connect_unix(str(sock), timeout=20)
        q.negotiate()

        def counter():
            out = q.ok("human-monitor-command", {"command-line": f"xp /1xg {work:#x}"})
            return int(out.split()[1], 16)
        moved = 0
        for i in range(40):
            time.sleep(0.02)
            q.ok("stop")
            before = counter()
            time.sleep(0.03)
            assert counter() == before, f"round {i}: a CPU ran while the VM was stopped"
            if i % 4 == 1:
                q.ok("system_reset")  # (the program starts again: the counter from 0)
                before = counter()
                time.sleep(0.02)
                assert counter() == before, f"round {i}: a CPU ran after a reset while stopped"
            if i % 8 == 5:
                q.ok("system_reset")  # while running too
            q.ok("cont")
            time.sleep(0.03)
            moved += counter() != before
        assert moved > 30  # it does run between the stops
        assert q.ok("query-status")["status"] == "running"
        q.ok("quit")
        assert p.wait(20) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
