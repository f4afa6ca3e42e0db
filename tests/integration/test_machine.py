"""The machine-level options that already have an effect."""
import os
import subprocess
import time

from armvm_test import Foreground, Qmp, armvm_path


def test_memory_backend_file_backs_guest_ram(tmp_path):
    ramfile = tmp_path / "guest.ram"
    v = Foreground(str(tmp_path), machine="virt,memory-backend=mach-virt.ram", extra=[
        "-S", "-object", f'{{"qom-type":"memory-backend-file","id":"mach-virt.ram","size":67108864,'
                         f'"mem-path":"{ramfile}","share":true}}'])
    try:
        q = v.qmp()
        assert q.ok("query-status")["status"] == "prelaunch"
        assert os.path.getsize(ramfile) == 64 << 20
        objs = {o["name"]: o["type"] for o in q.ok("qom-list", {"path": "/objects"})}
        assert objs["mach-virt.ram"] == "child<memory-backend-file>"
    finally:
        v.stop()


def test_memory_backend_size_mismatch(tmp_path):
    p = subprocess.run([armvm_path(), "-S", "-m", "128", "-machine", "virt,memory-backend=r", "-object",
                        "memory-backend-ram,id=r,size=64M"], capture_output=True, text=True, timeout=5)
    assert p.returncode == 1
    assert p.stderr == ("armvm: -m: memory size (134217728) does not match the size of memory-backend 'r' "
                        "(67108864)\n")


def test_server_wait_on_blocks_until_a_client_connects(tmp_path):
    sock = str(tmp_path / "w.sock")
    p = subprocess.Popen([armvm_path(), "-machine", "none", "-S", "-nodefaults", "-display", "none",
                          "-qmp", f"unix:{sock},server=on,wait=on", "-qmp",
                          f"unix:{tmp_path}/second.sock,server=on,wait=off"],
                         stderr=subprocess.PIPE, text=True)
    try:
        # The first monitor waits for its client before anything else exists.
        end = time.time() + 5
        while not os.path.exists(sock) and time.time() < end:
            time.sleep(0.01)
        time.sleep(0.2)
        assert not os.path.exists(tmp_path / "second.sock")
        q = Qmp.connect_unix(sock)
        q.negotiate()
        assert q.ok("query-status")["status"] == "prelaunch"
        q.ok("quit")
        assert p.wait(timeout=5) == 0
        assert "waiting for connection on: disconnected:unix:" in p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
