"""A libvirt domain that boots the Debian arm64 guest of scripts/fetch-guest
on an emulator (armvm or qemu-system-aarch64), and a driver for its serial
console through `virsh console` on a pty."""
import os
import pty
import re
import select
import shutil
import subprocess
import time

from linux_guest import MARKER, guest_dir

VIRSH = ["virsh", "-c", "qemu:///system"]


def virsh(*args, check=True, timeout=60):
    p = subprocess.run(VIRSH + list(args), capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"virsh {' '.join(args)}: {p.stderr.strip()}")
    return p


def domain_xml(name, emulator, files, gic=2, vcpus=1, pmu=None, cpu="cortex-a57", tap=None, extra=""):
    pmu_xml = "" if pmu is None else f"<pmu state='{'on' if pmu else 'off'}'/>"
    nic = (f"<interface type='ethernet'><target dev='{tap}' managed='yes'/><model type='virtio'/></interface>"
           if tap else "<interface type='user'><model type='virtio'/></interface>")
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>512</memory>
  <vcpu>{vcpus}</vcpu>
  <os>
    <type arch='aarch64' machine='virt'>hvm</type>
    <kernel>{files}/vmlinuz</kernel>
    <initrd>{files}/initramfs.cpio.gz</initrd>
    <cmdline>console=ttyAMA0</cmdline>
  </os>
  <features><gic version='{gic}'/>{pmu_xml}</features>
  <cpu mode='custom' match='exact'><model>{cpu}</model></cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{emulator}</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{files}/{name}.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    {nic}
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    {extra}
  </devices>
</domain>
"""


def copy_guest(dst):
    """The kernel and initramfs where the libvirt-qemu user can read them."""
    for f in ("vmlinuz", "initramfs.cpio.gz"):
        shutil.copyfile(os.path.join(guest_dir(), f), os.path.join(dst, f))
        os.chmod(os.path.join(dst, f), 0o644)


class Console:
    """`virsh console NAME` on a pty: send shell commands, read their output."""

    def __init__(self, name):
        self.master, slave = pty.openpty()
        self.p = subprocess.Popen(VIRSH + ["console", name, "--force"], stdin=slave, stdout=slave, stderr=slave,
                                  close_fds=True, start_new_session=True)
        os.close(slave)
        self.buf = b""
        self.n = 0
        # (virsh reads what is typed only once it is connected)
        self.read_until(rb"Escape character is [^\n]*\n", 60)
        time.sleep(0.5)  # (and has put its terminal in raw mode just after saying so)

    def read_until(self, pattern, timeout):
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; console: {self.buf[-2000:]!r}")
            r, _, _ = select.select([self.master], [], [], min(left, 1.0))
            if r:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"virsh console ended; console: {self.buf[-2000:]!r}")
                # (busybox's line editor asks where the cursor is, ESC[6n,
                # and goes on without an answer. It is not answered: an
                # answer that arrives after the editor has handed the line
                # over lands in the tty's queue before the next command,
                # where ^U cannot kill it once the shell has switched to
                # canonical mode: "\x1b[1;1Recho ..." was seen in CI.)
                self.buf += chunk

    def wait_ready(self, timeout=240):
        """Until init's marker, then a quiet shell: no echo, no prompt."""
        self.read_until(re.escape(MARKER), timeout)
        self.read_until(rb"# ", 60)
        self.cmd("stty -echo; PS1=''")

    def cmd(self, command, timeout=120):
        """Runs a shell command in the guest: its output (the shell echoes
        the command line; the output is what comes between two tags)."""
        self.n += 1
        tag = f"T{self.n}X"
        # ^U first: a stray byte typed before (nothing should be) is killed
        # in the editor and in the tty's canonical mode alike.
        os.write(self.master, b"\x15" + f"echo {tag}BEGIN; {command}; echo {tag}END$?\r".encode())
        self.read_until(rb"(?:^|[\r\n])" + tag.encode() + rb"BEGIN\r?\n", timeout)  # (a redrawn line starts with \r)
        m = self.read_until(rb"(?s)(.*?)" + tag.encode() + rb"END(\d+)", timeout)
        out = m.group(1).decode(errors="replace").replace("\r", "").strip("\n")
        assert m.group(2) == b"0", f"`{command}` exited {m.group(2)}: {out}"
        return out

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        os.close(self.master)
