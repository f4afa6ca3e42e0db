"""libvirt's capability probe command line (INCIDENTS.md #1)."""
import os
import time

import pytest

from armvm_test import Daemon, Qmp, pid_alive, reap_orphans, stderr_lines, wait_pid, zombie_children


@pytest.mark.parametrize("spelling", ["server=on,wait=off", "server,nowait"])
def test_probe_daemonizes_and_quits_cleanly(tmp_path, spelling):
    d = Daemon(str(tmp_path), sock_spelling=spelling)
    p = d.start()
    assert p.returncode == 0, p.stderr
    assert d.elapsed < 1.0
    pid = d.pid()
    assert pid != p.args and pid_alive(pid)
    # The socket listens before the parent exits: libvirt connects once.
    t0 = time.time()
    q = Qmp.connect_unix(d.sock, timeout=0)
    g = q.greeting()
    assert time.time() - t0 < 0.5
    assert g["QMP"]["version"]["qemu"]["major"] >= 7
    q.cmd("qmp_capabilities")
    assert q.cmd("quit") == {"return": {}}
    ev = q.wait_event("SHUTDOWN")
    assert ev["data"] == {"guest": False, "reason": "host-qmp-quit"}
    # The only process re-parented to us is the daemon, exiting 0.
    assert reap_orphans(expect=1) == {pid: 0}
    assert not os.path.exists(d.sock)
    assert not os.path.exists(d.pidfile)
    assert zombie_children() == []


def test_probe_daemon_output_is_detached(tmp_path):
    """The daemon's stdout/stderr must not hold the caller's pipes open
    (libvirt waits for EOF on them): run() returning at all proves it."""
    d = Daemon(str(tmp_path))
    p = d.start()
    assert p.returncode == 0
    pid = d.pid()
    fds = {os.readlink(f"/proc/{pid}/fd/{n}") for n in ("0", "1", "2")}
    assert fds == {"/dev/null"}
    os.kill(pid, 15)
    assert wait_pid(pid) == 0
    assert not os.path.exists(d.pidfile) and not os.path.exists(d.sock)


def test_sigterm_emits_shutdown_host_signal(tmp_path):
    d = Daemon(str(tmp_path))
    assert d.start().returncode == 0
    q = Qmp.connect_unix(d.sock)
    q.negotiate()
    pid = d.pid()
    os.kill(pid, 15)
    ev = q.wait_event("SHUTDOWN")
    assert ev["data"] == {"guest": False, "reason": "host-signal"}
    assert set(ev["timestamp"]) == {"seconds", "microseconds"}
    assert wait_pid(pid) == 0
    assert not os.path.exists(d.pidfile) and not os.path.exists(d.sock)


def test_pidfile_is_locked_against_a_second_instance(tmp_path):
    d = Daemon(str(tmp_path))
    assert d.start().returncode == 0
    try:
        other = Daemon(str(tmp_path))
        other.sock = os.path.join(str(tmp_path), "other.sock")
        other.args[other.args.index("-qmp") + 1] = f"unix:{other.sock},server=on,wait=off"
        t0 = time.time()
        p = other.start()
        assert p.returncode == 1
        assert time.time() - t0 < 1.0
        assert stderr_lines(p) == [
            f"armvm: -pidfile {d.pidfile}: cannot create PID file: "
            "Cannot lock pid file: it is held by another running process"]
        assert not os.path.exists(other.sock)
        # The first daemon still owns its pidfile.
        assert pid_alive(d.pid())
    finally:
        d.kill()
