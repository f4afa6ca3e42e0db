"""-daemonize failure paths: the parent always finishes, with the daemon's
message and status 1, and leaves nothing behind."""
import os
import time

from armvm_test import Daemon, reap_orphans, run_armvm, stderr_lines, zombie_children


def check_failed(tmp_path, d, p, expect_line):
    assert p.returncode == 1, p
    assert d.elapsed < 1.0
    assert stderr_lines(p) == [expect_line]
    assert not os.path.exists(d.sock)
    assert not os.path.exists(d.pidfile)
    # Exactly one orphan: the daemon. The middle process was reaped by the
    # parent (else it would be re-parented here too).
    orphans = reap_orphans(expect=1)
    assert len(orphans) == 1, orphans
    assert list(orphans.values())[0] != 0
    assert zombie_children() == []


def test_unreadable_kernel(tmp_path):
    d = Daemon(str(tmp_path), extra=["-machine", "virt", "-kernel", "/nonexistent/Image"])
    d.args[d.args.index("none,accel=kvm:tcg")] = "virt,accel=tcg"
    p = d.start()
    check_failed(tmp_path, d, p, "armvm: -kernel /nonexistent/Image: could not load kernel "
                 "'/nonexistent/Image': No such file or directory")


def test_pidfile_in_missing_directory(tmp_path):
    d = Daemon(str(tmp_path))
    d.pidfile = str(tmp_path / "missing" / "qmp.pid")
    d.args[d.args.index("-pidfile") + 1] = d.pidfile
    p = d.start()
    check_failed(tmp_path, d, p, f"armvm: -pidfile {d.pidfile}: cannot create PID file: "
                 f"Could not create '{d.pidfile}': No such file or directory")


def test_socket_in_missing_directory(tmp_path):
    d = Daemon(str(tmp_path))
    bad = str(tmp_path / "missing" / "qmp.sock")
    spec = f"unix:{bad},server=on,wait=off"
    d.args[d.args.index("-qmp") + 1] = spec
    p = d.start()
    check_failed(tmp_path, d, p, f"armvm: -qmp {spec}: Failed to bind socket to {bad}: No such file or directory")


def test_daemon_dying_before_ready(tmp_path):
    """Fault point compiled into test builds: the daemon SIGKILLs itself
    before it reports ready."""
    probe_pid = tmp_path / "probe.pid"
    probe = run_armvm(["-machine", "none", "-S", "-nodefaults", "-display", "none", "-daemonize",
                       "-pidfile", str(probe_pid)], env={"ARMVM_FAULT": "daemon-die-before-ready"})
    if probe.returncode == 0:
        # No fault points in this build: the daemon is up; do not leave it behind.
        import os
        import signal
        import pytest
        os.kill(int(probe_pid.read_text()), signal.SIGTERM)
        pytest.skip("armvm was built without -Dfault_injection=true")
    reap_orphans(expect=1)
    d = Daemon(str(tmp_path))
    t0 = time.time()
    p = run_armvm(d.args, env={"ARMVM_FAULT": "daemon-die-before-ready"})
    d.elapsed = time.time() - t0
    check_failed(tmp_path, d, p, "armvm: -daemonize: the daemon exited before it was ready")


def test_failure_after_pidfile_removes_it(tmp_path):
    d = Daemon(str(tmp_path))
    t0 = time.time()
    p = run_armvm(d.args, env={"ARMVM_FAULT": "fail-after-pidfile"})
    d.elapsed = time.time() - t0
    if p.returncode == 0:
        d.kill()
        import pytest
        pytest.skip("armvm was built without -Dfault_injection=true")
    check_failed(tmp_path, d, p, "armvm: injected failure after the pidfile")
