"""libvirt's default aarch64 domain (../shared/LIBVIRT-DEFAULT-DOMAIN.md:
what virt-install 4.1 writes and libvirt 9.0 turns into a command line),
run as libvirt runs it: Secure Boot AAVMF in pflash -blockdev nodes, 14
pcie-root-ports, qemu-xhci, virtio-serial with the guest-agent port, a
qcow2 overlay on a qcow2 backing file, virtio-net, virtio-balloon,
virtio-rng on an rng-random backend, a TPM 2.0 in swtpm, the serial
console on a pty, the monitor on a socket. The firmware starts, measures
into the TPM and reaches its boot manager; QMP sees every PCI device."""
import json
import os
import re
import shutil
import subprocess
import time
import tty

import pytest

from armvm_test import Qmp, armvm_path, run_armvm
from linux_guest import Guest
from test_tpm import Swtpm

CODE_MS = "/usr/share/AAVMF/AAVMF_CODE.ms.fd"
VARS_MS = "/usr/share/AAVMF/AAVMF_VARS.ms.fd"


def default_domain_argv(d, swtpm, mon):
    """The command line of LIBVIRT-DEFAULT-DOMAIN.md with this test's files
    (libvirt's fds for the monitor and the agent socket become paths); the
    disk is a qcow2 overlay on a blank qcow2. (tests/libvirt/
    test_virt_install.py has libvirt itself run it on the Debian image.)"""
    shutil.copyfile(VARS_MS, d / "VARS.fd")
    base = str(d / "base.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", base, "1G"], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2",
                    str(d / "disk.qcow2")], check=True)
    (d / "master-key.aes").write_bytes(os.urandom(32))
    j = json.dumps
    argv = [armvm_path(), "-name", "guest=default,debug-threads=on", "-S",
            "-object", j({"qom-type": "secret", "id": "masterKey0", "format": "raw", "file": str(d / "master-key.aes")}),
            "-blockdev", j({"driver": "file", "filename": CODE_MS, "node-name": "libvirt-pflash0-storage",
                            "auto-read-only": True, "discard": "unmap"}),
            "-blockdev", j({"node-name": "libvirt-pflash0-format", "read-only": True, "driver": "raw",
                            "file": "libvirt-pflash0-storage"}),
            "-blockdev", j({"driver": "file", "filename": str(d / "VARS.fd"), "node-name": "libvirt-pflash1-storage",
                            "auto-read-only": True, "discard": "unmap"}),
            "-blockdev", j({"node-name": "libvirt-pflash1-format", "read-only": False, "driver": "raw",
                            "file": "libvirt-pflash1-storage"}),
            "-machine", "virt-7.2,usb=off,gic-version=2,dump-guest-core=off,memory-backend=mach-virt.ram,"
                        "pflash0=libvirt-pflash0-format,pflash1=libvirt-pflash1-format",
            "-accel", "tcg", "-cpu", "cortex-a57", "-m", "1024",
            "-object", j({"qom-type": "memory-backend-ram", "id": "mach-virt.ram", "size": 1073741824}),
            "-overcommit", "mem-lock=off", "-smp", "2,sockets=2,cores=1,threads=1",
            "-uuid", "215ccec3-5b28-49fd-8082-4005a225806b", "-display", "none", "-no-user-config", "-nodefaults",
            "-chardev", f"socket,id=charmonitor,path={mon},server=on,wait=off",
            "-mon", "chardev=charmonitor,id=monitor,mode=control",
            "-rtc", "base=utc", "-no-shutdown", "-boot", "strict=on"]
    for i in range(14):
        port = {"driver": "pcie-root-port", "port": 8 + i, "chassis": 1 + i, "id": f"pci.{1 + i}", "bus": "pcie.0"}
        if i % 8 == 0:
            port["multifunction"] = True
        port["addr"] = f"0x{1 + i // 8}" + ("" if i % 8 == 0 else f".0x{i % 8}")
        argv += ["-device", j(port)]
    argv += ["-device", j({"driver": "qemu-xhci", "p2": 15, "p3": 15, "id": "usb", "bus": "pci.2", "addr": "0x0"}),
             "-device", j({"driver": "virtio-serial-pci", "id": "virtio-serial0", "bus": "pci.3", "addr": "0x0"}),
             "-blockdev", j({"driver": "file", "filename": base, "node-name": "libvirt-2-storage",
                             "auto-read-only": True, "discard": "unmap"}),
             "-blockdev", j({"node-name": "libvirt-2-format", "read-only": True, "driver": "qcow2",
                             "file": "libvirt-2-storage", "backing": None}),
             "-blockdev", j({"driver": "file", "filename": str(d / "disk.qcow2"), "node-name": "libvirt-1-storage",
                             "auto-read-only": True, "discard": "unmap"}),
             "-blockdev", j({"node-name": "libvirt-1-format", "read-only": False, "driver": "qcow2",
                             "file": "libvirt-1-storage", "backing": "libvirt-2-format"}),
             "-device", j({"driver": "virtio-blk-pci", "bus": "pci.4", "addr": "0x0", "drive": "libvirt-1-format",
                           "id": "virtio-disk0", "bootindex": 1}),
             "-netdev", j({"type": "user", "id": "hostnet0"}),
             "-device", j({"driver": "virtio-net-pci", "netdev": "hostnet0", "id": "net0", "mac": "52:54:00:1e:e0:8b",
                           "bus": "pci.1", "addr": "0x0"}),
             "-chardev", "pty,id=charserial0", "-serial", "chardev:charserial0",
             "-chardev", f"socket,id=charchannel0,path={d / 'agent.sock'},server=on,wait=off",
             "-device", j({"driver": "virtserialport", "bus": "virtio-serial0.0", "nr": 1, "chardev": "charchannel0",
                           "id": "channel0", "name": "org.qemu.guest_agent.0"}),
             "-chardev", f"socket,id=chrtpm,path={swtpm.sock}",
             "-tpmdev", "emulator,id=tpm-tpm0,chardev=chrtpm",
             "-device", j({"driver": "tpm-tis-device", "tpmdev": "tpm-tpm0", "id": "tpm0"}),
             "-audiodev", j({"id": "audio1", "driver": "none"}),
             "-device", j({"driver": "virtio-balloon-pci", "id": "balloon0", "bus": "pci.5", "addr": "0x0"}),
             "-object", j({"qom-type": "rng-random", "id": "objrng0", "filename": "/dev/urandom"}),
             "-device", j({"driver": "virtio-rng-pci", "rng": "objrng0", "id": "rng0", "bus": "pci.6", "addr": "0x0"}),
             "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
             "-msg", "timestamp=on"]
    return argv


def serial_pty(p):
    """The serial console's pty, as libvirt finds it (armvm's stderr)."""
    err = b""
    end = time.time() + 10
    while b"redirected to" not in err and time.time() < end:
        err += os.read(p.stderr.fileno(), 4096)
    pty = re.search(rb"char device redirected to (\S+) \(label charserial0\)", err).group(1).decode()
    fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)  # (as virsh console: no echo of the guest's output back into it)
    return fd


def read_until(fd, pattern, timeout, out=b""):
    import select
    rx = re.compile(pattern)
    end = time.time() + timeout
    while not rx.search(out):
        if time.time() > end:
            raise AssertionError(f"timed out waiting for {pattern!r}: {out[-2000:]!r}")
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            out += os.read(fd, 65536)
    return out


class DefaultDomain:
    """The domain running under armvm as libvirt runs it: its swtpm, QMP
    monitor (negotiated) and serial pty; ended and cleaned up on exit."""

    def __init__(self, d):
        self.swtpm = Swtpm(d)
        mon = str(d / "monitor.sock")
        self.p = subprocess.Popen(default_domain_argv(d, self.swtpm, mon), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.fd = None
        try:
            self.q = Qmp.connect_unix(mon, timeout=30)
            self.q.negotiate()
            self.fd = serial_pty(self.p)
        except BaseException:
            self.__exit__()
            raise

    def __enter__(self):
        return self

    def quit(self):
        assert self.q.ok("quit") == {}
        assert self.p.wait(30) == 0

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        self.swtpm.stop()


@pytest.mark.skipif(not os.path.exists(CODE_MS) or not shutil.which("swtpm"),
                    reason="qemu-efi-aarch64 and swtpm come from scripts/install-deps")
def test_libvirts_default_domain_runs_its_firmware(tmp_path):
    with DefaultDomain(tmp_path) as dom:
        q = dom.q
        assert q.ok("query-status")["status"] == "prelaunch"
        dom.swtpm.commands()
        assert q.ok("cont") == {}
        # Secure Boot AAVMF runs (measuring into the TPM) and, with nothing
        # bootable on the blank disk, ends in its boot manager.
        read_until(dom.fd, rb"BdsDxe", 240)
        # The devices libvirt placed, behind the root ports the firmware
        # numbered.
        found = {}

        def walk(devs):
            for dv in devs:
                found[dv.get("qdev_id", "")] = (dv["bus"], dv["slot"], dv["function"], dv["id"]["vendor"],
                                                dv["id"]["device"])
                if "pci_bridge" in dv:
                    walk(dv["pci_bridge"].get("devices", []))
        for bus in q.ok("query-pci"):
            walk(bus["devices"])
        assert sum(1 for k in found if k.startswith("pci.")) == 14
        assert found["usb"][3:] == (0x1b36, 0x000d)
        for dev, vendor in [("virtio-disk0", 0x1af4), ("net0", 0x1af4), ("virtio-serial0", 0x1af4),
                            ("balloon0", 0x1af4), ("rng0", 0x1af4)]:
            assert found[dev][3] == vendor, found
        cmds = dom.swtpm.commands()
        assert "00000144" in cmds and cmds.count("00000182") >= 5, cmds  # Startup, PCR extends
        dom.quit()


def test_virtio_rng_reads_an_rng_random_backend(tmp_path):
    with Guest(armvm_path(), ["-cpu", "cortex-a57", "-object", "rng-random,id=r0,filename=/dev/urandom",
                              "-device", "virtio-rng-pci,rng=r0"]) as g:
        assert g.ok("cat /sys/class/misc/hw_random/rng_current") == "virtio_rng.0"
        assert len(set(g.ok("head -c 64 /dev/hwrng | od -An -v -tx1").split())) > 16
        g.kill()
    for args, msg in [
        (["-object", "rng-random,id=r0,filename=/dev/nope", "-device", "virtio-rng-pci,rng=r0"],
         "Could not open '/dev/nope': No such file or directory"),
        (["-device", "virtio-rng-pci,rng=r9"], "-device virtio-rng-pci,rng=r9: Device 'r9' not found"),
        (["-object", "memory-backend-ram,id=m,size=1M", "-device", "virtio-rng-pci,rng=m"],
         "-device virtio-rng-pci,rng=m: Invalid parameter type for 'rng', expected: rng-backend"),
    ]:
        r = run_armvm(["-M", "virt", "-nodefaults", "-display", "none"] + args)
        assert r.returncode == 1 and r.stderr == f"armvm: {msg}\n", (args, r.stderr)
        q = subprocess.run(["qemu-system-aarch64", "-M", "virt", "-nodefaults", "-display", "none"] + args,
                           capture_output=True, text=True, timeout=20)
        assert q.stderr.splitlines()[0] == f"qemu-system-aarch64: {msg}", q.stderr
