"""Boots the Debian arm64 kernel with the busybox initramfs of
scripts/fetch-guest on an emulator (armvm or qemu-system-aarch64) and
drives its shell on the serial console: run a command, get its output and
exit status."""
import os
import re
import select
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MARKER = b"ARMVM-GUEST-READY"
_cache = None


def guest_dir():
    """The cache folder with vmlinuz and initramfs.cpio.gz (fetched once)."""
    global _cache
    if _cache is None:
        out = subprocess.run([os.path.join(ROOT, "scripts", "fetch-guest"), "--print-dir"], check=True,
                             capture_output=True, text=True).stdout
        _cache = out.strip().splitlines()[-1]
    return _cache


class Guest:
    def __init__(self, emu, extra, append="console=ttyAMA0 quiet", memory="512", boot_timeout=180, kernel=None,
                 pass_fds=(), env=None):
        g = guest_dir()
        self.argv = [emu, "-M", "virt", "-m", memory, "-nographic", "-nodefaults", "-serial", "stdio",
                     "-kernel", kernel or os.path.join(g, "vmlinuz"), "-initrd", os.path.join(g, "initramfs.cpio.gz"),
                     "-append", append] + list(extra)
        self.p = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, pass_fds=pass_fds, env=env)
        self.buf = b""
        self.log = b""
        t0 = time.monotonic()
        self._read_until(lambda: MARKER in self.buf, boot_timeout, "the init's ready marker")
        self.boot_seconds = time.monotonic() - t0
        self.buf = self.buf[self.buf.index(MARKER) + len(MARKER):]
        self.n = 0
        # The shell's prompt, and no terminal line editing surprises.
        self.cmd("stty -echo 2>/dev/null; PS1=''")

    def _read_until(self, done, timeout, what):
        end = time.monotonic() + timeout
        while not done():
            left = end - time.monotonic()
            if left <= 0:
                self.kill()
                raise AssertionError(f"timed out waiting for {what}; console:\n{self.log[-3000:].decode(errors='replace')}")
            r, _, _ = select.select([self.p.stdout], [], [], min(left, 1.0))
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    err = self.p.stderr.read().decode(errors="replace")
                    raise AssertionError(f"the emulator ended (rc={self.p.wait()}) waiting for {what}; stderr: "
                                         f"{err}\nconsole:\n{self.log[-3000:].decode(errors='replace')}")
                self.buf += chunk
                self.log += chunk

    def cmd(self, command, timeout=120):
        """Runs `command` in the guest shell: (output text, exit status)."""
        self.n += 1
        tag = f"__armvm_done_{self.n}__"
        self.p.stdin.write(f"{command}; echo {tag}$?\n".encode())
        self.p.stdin.flush()
        # (the tag may follow output without a final newline; the echoed
        # command line has "$?" after it, not digits)
        pat = re.compile(re.escape(tag.encode()) + rb"(\d+)\r?\n")
        self._read_until(lambda: pat.search(self.buf), timeout, f"`{command}` to finish")
        m = pat.search(self.buf)
        out, self.buf = self.buf[:m.start()], self.buf[m.end():]
        text = out.decode(errors="replace").replace("\r", "")
        # (the terminal may echo the command line itself)
        lines = [ln for ln in text.split("\n") if tag not in ln]
        return "\n".join(lines).strip("\n"), int(m.group(1))

    def ok(self, command, timeout=120):
        out, rc = self.cmd(command, timeout)
        assert rc == 0, f"`{command}` exited {rc}: {out}"
        return out

    def poweroff(self, timeout=60):
        """`poweroff -f` in the guest; the emulator's exit status."""
        self.p.stdin.write(b"poweroff -f\n")
        self.p.stdin.flush()
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("the emulator did not exit after poweroff")

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            f.close()


def outputs_on_both(emu, extra, script, **kw):
    """`script`'s output in the guest on `emu` (armvm) and on
    qemu-system-aarch64, each booted with the same `extra` arguments."""
    out = []
    for e in (emu, "qemu-system-aarch64"):
        with Guest(e, extra, **kw) as g:
            out.append(g.ok(script))
            g.kill()
    return tuple(out)
