"""Block I/O runs on the disk's I/O thread, off the vCPU threads and without
the machine lock: while a guest's flush takes seconds (a fault point of
test builds holds it 3 s, as a slow or overloaded host disk would), QMP
answers at once and the guest's other vCPU keeps running its shell; the
flush then completes, and the data written before it is in the file."""
import time

import pytest

from armvm_test import Qmp, armvm_path
from linux_guest import Guest


@pytest.mark.parametrize("transport", ["virtio-blk-pci", "virtio-blk-device"])
def test_a_slow_flush_stalls_neither_qmp_nor_the_other_vcpu(tmp_path, monkeypatch, transport):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * (4 << 20))
    sock = str(tmp_path / "qmp.sock")
    monkeypatch.setenv("ARMVM_FAULT", "virtio-blk-slow-flush")
    with Guest(armvm_path(), ["-cpu", "cortex-a57", "-smp", "2", "-drive", f"if=none,id=d0,format=raw,file={disk}",
                              "-device", f"{transport},drive=d0", "-qmp", f"unix:{sock},server=on,wait=off"]) as g:
        assert g.ok("cat /sys/block/vda/queue/write_cache") == "write back"  # (so fsync sends a flush)
        q = Qmp.connect_unix(sock)
        q.negotiate()
        # On CPU 1: write a block and flush it; meanwhile this shell stays on CPU 0.
        g.ok("(taskset 2 dd if=/dev/zero of=/dev/vda bs=4096 count=1 conv=fsync 2>/dev/null; "
             "echo flushed > /tmp/done) & sleep 0.5")
        started = time.monotonic()
        t0 = time.monotonic()
        status = q.ok("query-status")["status"]
        qmp_s = time.monotonic() - t0
        assert status == "running"
        t0 = time.monotonic()
        assert g.ok("echo alive; [ -e /tmp/done ] && echo early; true") == "alive"
        shell_s = time.monotonic() - t0
        g.ok("while [ ! -e /tmp/done ]; do sleep 0.1; done", timeout=60)
        flush_s = time.monotonic() - started + 0.5
        q.close()
        g.kill()
    if flush_s < 2.0:
        pytest.skip("armvm was built without -Dfault_injection=true (the flush was not held up)")
    assert qmp_s < 1.0, f"QMP waited {qmp_s:.2f} s behind the flush"
    assert shell_s < 1.0, f"the other vCPU waited {shell_s:.2f} s behind the flush"
