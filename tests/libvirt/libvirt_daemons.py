"""Start Debian's virtlogd and libvirtd as root without systemd
(LIBVIRT.md §7), and stop them by pid."""
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

from armvm_test import become_subreaper

QEMU_CONF = "/etc/libvirt/qemu.conf"
NO_NAMESPACES = "\nnamespaces = []  # armvm tests: no private /dev in this sandbox\n"


class LibvirtDaemons:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="armvm-libvirt-")
        os.chmod(self.dir, 0o755)
        self.pids = []

    def _start(self, argv, pidfile):
        subprocess.run(argv + ["--daemon", "--pid-file", pidfile], check=True, timeout=30)
        end = time.time() + 10
        while time.time() < end:
            try:
                with open(pidfile) as f:
                    pid = int(f.read().strip())
                self.pids.append(pid)
                return pid
            except (OSError, ValueError):
                time.sleep(0.05)
        raise RuntimeError(f"{argv[0]} did not write {pidfile}")

    def start(self):
        if subprocess.run(["pgrep", "-x", "libvirtd"], capture_output=True).returncode == 0:
            raise RuntimeError("a libvirtd is already running; stop it first")
        self._start(["virtlogd"], os.path.join(self.dir, "virtlogd.pid"))
        self._start(["libvirtd"], os.path.join(self.dir, "libvirtd.pid"))
        self._wait_answering()

    @staticmethod
    def _wait_answering():
        end = time.time() + 20
        while time.time() < end:
            r = subprocess.run(["virsh", "-c", "qemu:///system", "version"], capture_output=True, timeout=30)
            if r.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("libvirtd does not answer")

    @staticmethod
    def _terminate(pid, timeout):
        """SIGTERM, then SIGKILL if it is still there after `timeout` s."""
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        end = time.time() + timeout
        while time.time() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def restart_libvirtd(self):
        """Stops libvirtd by its pid and starts a new one (domains keep running)."""
        pidfile = os.path.join(self.dir, "libvirtd.pid")
        with open(pidfile) as f:
            pid = int(f.read().strip())
        self._terminate(pid, 20)
        self.pids.remove(pid)
        try:
            os.unlink(pidfile)
        except FileNotFoundError:
            pass
        self._start(["libvirtd"], pidfile)
        self._wait_answering()

    def install_emulator(self, src):
        """A copy the libvirt-qemu user can execute, with a fresh ctime so
        libvirt probes it for real instead of using a cached result."""
        dst = os.path.join(self.dir, "armvm")
        shutil.copy2(src, dst)
        os.chmod(dst, 0o755)
        return dst

    def stop(self):
        for pid in reversed(self.pids):
            self._terminate(pid, 10)
        self.pids = []
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def domain_daemons():
    """The daemons, set up to run domains here: qemu.conf without a private
    /dev namespace (LIBVIRT.md §7: virsh start fails here with one) and
    this process no subreaper (libvirt's daemonized children are not ours)
    while they run; both restored after."""
    with open(QEMU_CONF) as f:
        saved = f.read()
    with open(QEMU_CONF, "a") as f:
        f.write(NO_NAMESPACES)
    become_subreaper(False)
    d = LibvirtDaemons()
    try:
        d.start()
        yield d
    finally:
        d.stop()
        with open(QEMU_CONF, "w") as f:
            f.write(saved)
        become_subreaper(True)
