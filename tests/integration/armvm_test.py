"""Helpers for tests that run the real armvm binary and talk real QMP."""
import ctypes
import json
import os
import signal
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def armvm_path():
    p = os.environ.get("ARMVM")
    if p:
        return os.path.abspath(p)
    for d in ("build-test", "build"):
        cand = os.path.join(ROOT, d, "armvm")
        if os.path.exists(cand):
            return cand
    raise RuntimeError("armvm is not built; run scripts/test")


PROBE_ARGS = ["-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=kvm:tcg"]


def become_subreaper(on=True):
    """Orphaned daemons get re-parented to this process, so tests can reap
    them and see their exit status (and prove no zombie is left). Turned
    off around libvirtd: it must reap its own probe daemons (a zombie
    answers kill(pid, 0), and libvirt waits for the pid to vanish)."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0)


def zombie_children():
    me = os.getpid()
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            out.append(int(pid))
    return out


def reap_orphans(expect, timeout=3.0):
    """Reap children re-parented to this subreaper; waits until `expect`
    have been reaped, then a little longer for any extra. Returns
    {pid: exit status}."""
    got = {}
    end = time.time() + timeout
    settle = None
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid = 0
        if pid:
            got[pid] = os.waitstatus_to_exitcode(st)
            continue
        now = time.time()
        if len(got) >= expect and settle is None:
            settle = now + 0.1
        if (settle is not None and now > settle) or now > end:
            return got
        time.sleep(0.01)


def wait_pid(pid, timeout=5.0):
    """Reap a re-parented daemon; returns its exit status or None."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            r, st = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if r == pid:
            return os.waitstatus_to_exitcode(st)
        time.sleep(0.01)
    return None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stderr_lines(p):
    """stderr without the accelerator fall-back notes that QEMU prints too."""
    lines = p.stderr.strip().splitlines()
    out = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and lines[i + 1].startswith("armvm: falling back to "):
            i += 2
            continue
        out.append(lines[i])
        i += 1
    return out


def run_armvm(args, timeout=10, env=None, **kw):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([armvm_path()] + args, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=e, **kw)


class Qmp:
    """A minimal QMP client that checks the wire format as it reads."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.events = []
        self.sock.settimeout(10)

    @classmethod
    def connect_unix(cls, path, timeout=5.0):
        end = time.time() + timeout
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return cls(s)
            except OSError:
                s.close()
                if time.time() > end:
                    raise
                time.sleep(0.02)

    def read_line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("monitor closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        assert b"\n" not in line, "a reply line contains a bare newline"
        return json.loads(line)

    def greeting(self):
        g = self.read_line()
        assert "QMP" in g, g
        return g

    def send_raw(self, data):
        self.sock.sendall(data)

    def reply(self):
        while True:
            msg = self.read_line()
            if "event" in msg:
                self.events.append(msg)
                continue
            return msg

    def cmd_raw(self, data):
        self.send_raw(data)
        return self.reply()

    def cmd(self, name, args=None, **kw):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        req.update(kw)
        return self.cmd_raw(json.dumps(req).encode() + b"\n")

    def ok(self, name, args=None):
        r = self.cmd(name, args)
        assert "return" in r, f"{name}: {r}"
        return r["return"]

    def negotiate(self):
        self.greeting()
        assert self.cmd("qmp_capabilities") == {"return": {}}

    def wait_event(self, name, timeout=5.0):
        end = time.time() + timeout
        self.sock.settimeout(timeout)
        while time.time() < end:
            for i, e in enumerate(self.events):
                if e["event"] == name:
                    return self.events.pop(i)
            self.events.append(self.read_line())
        raise TimeoutError(name)

    def close(self):
        self.sock.close()


class Daemon:
    """armvm started with -daemonize the way libvirt probes it."""

    def __init__(self, tmp, extra=None, sock_spelling="server=on,wait=off"):
        self.sock = os.path.join(tmp, "qmp.monitor")
        self.pidfile = os.path.join(tmp, "qmp.pid")
        self.args = PROBE_ARGS + ["-qmp", f"unix:{self.sock},{sock_spelling}", "-pidfile", self.pidfile,
                                  "-daemonize"] + (extra or [])

    def start(self):
        t0 = time.time()
        self.proc = run_armvm(self.args)
        self.elapsed = time.time() - t0
        return self.proc

    def pid(self):
        with open(self.pidfile) as f:
            return int(f.read().strip())

    def kill(self):
        try:
            pid = self.pid()
        except (OSError, ValueError):
            return
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            wait_pid(pid)


class Foreground:
    """armvm in the foreground (as libvirt runs domains) with one QMP socket."""

    def __init__(self, tmp, extra=None, machine="none"):
        self.sock = os.path.join(tmp, "qmp.sock")
        self.args = ["-machine", machine, "-nodefaults", "-display", "none",
                     "-qmp", f"unix:{self.sock},server=on,wait=off"] + (extra or [])
        self.proc = subprocess.Popen([armvm_path()] + self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def qmp(self):
        q = Qmp.connect_unix(self.sock)
        q.negotiate()
        return q

    def wait(self, timeout=5):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        out, err = self.proc.communicate()
        return err


def hmp_outputs(emu, args, commands, sock, cwd=None, transform=None):
    """Starts `emu` with `args` and a QMP socket at `sock` (removed first),
    runs each HMP command line through human-monitor-command, quits and
    waits for the exit; the outputs (each through `transform` if given)."""
    if os.path.exists(sock):
        os.unlink(sock)
    p = subprocess.Popen([emu] + list(args) + ["-qmp", f"unix:{sock},server=on,wait=off"], cwd=cwd,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        q = Qmp.connect_unix(str(sock), timeout=20)
        q.negotiate()
        out = []
        for c in commands:
            text = q.ok("human-monitor-command", {"command-line": c})
            out.append(transform(text) if transform else text)
        q.ok("quit")
        assert p.wait(20) == 0
        return out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


class MonitorSocket:
    """A human monitor's unix socket (-monitor unix:...): connects (waiting
    for the emulator to listen), sends keys, reads up to a marker."""

    def __init__(self, path, timeout=5.0):
        end = time.time() + timeout
        while True:
            self.s = socket.socket(socket.AF_UNIX)
            try:
                self.s.connect(str(path))
                break
            except OSError:
                self.s.close()
                if time.time() > end:
                    raise
                time.sleep(0.05)
        self.s.settimeout(10)

    def send(self, data):
        self.s.sendall(data)

    def until(self, marker=b"(qemu) "):
        got = b""
        while not got.endswith(marker):
            chunk = self.s.recv(65536)
            assert chunk, got
            got += chunk
        return got

    def rest(self):
        """Everything until the emulator closes the connection."""
        got = b""
        while True:
            chunk = self.s.recv(65536)
            if not chunk:
                return got
            got += chunk
