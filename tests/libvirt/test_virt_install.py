"""The Debian 12 arm64 disk image (scripts/build-disk-image) imported the
way a user does it: `virt-install --import --boot uefi` with armvm as the
emulator, on the real libvirt 9.0. virt-install chooses everything from
armvm's domain capabilities (../shared/LIBVIRT-DEFAULT-DOMAIN.md: Secure
Boot AAVMF with a per-domain variable store, ACPI, 14 pcie-root-ports, a
qcow2 overlay on a qcow2 backing file, qemu-xhci, the guest agent's
channel, virtio-net/-balloon/-rng, a TPM 2.0 in swtpm), and the XML it
writes is used unedited. The domain boots through shim, GRUB and the
kernel to the login prompt on `virsh console`, the guest agent answers
libvirt, and its whole life works: `virsh reboot`, `virsh shutdown` (the
ACPI power button), `virsh start`, `virsh destroy`, `virsh undefine
--nvram`; a boot entry efibootmgr writes in the guest survives the
reboot and the restart, and the overlay passes `qemu-img check`."""
import json
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from armvm_test import armvm_path
from domain import Console, virsh
from libvirt_daemons import domain_daemons

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "armvm-import"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="libvirtd must run as root"),
    pytest.mark.skipif(not shutil.which("virt-install") or not shutil.which("swtpm")
                       or not os.path.exists("/usr/share/AAVMF/AAVMF_CODE.ms.fd"),
                       reason="virtinst, swtpm and qemu-efi-aarch64 come from scripts/install-deps"),
]


@pytest.fixture(scope="module")
def rig():
    r = subprocess.run([os.path.join(ROOT, "scripts", "build-disk-image"), "--print-path"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    image = r.stdout.strip().splitlines()[-1]
    with domain_daemons() as d:
        try:
            # (where the libvirt-qemu user can read it: root's home is closed)
            base = os.path.join(d.dir, "debian-12-arm64.qcow2")
            shutil.copyfile(image, base)
            yield d, d.install_emulator(armvm_path()), base
        finally:
            virsh("destroy", NAME, check=False)
            virsh("undefine", "--nvram", NAME, check=False)


def state():
    return virsh("domstate", NAME).stdout.strip()


def wait_state(want, timeout):
    end = time.time() + timeout
    while state() != want:
        assert time.time() < end, f"{NAME} is '{state()}', not '{want}', after {timeout} s"
        time.sleep(0.5)


def login(c, timeout=900):
    """From the console to a root shell that echoes nothing: the output of
    each command is then what Console.cmd returns."""
    c.read_until(rb"armvm-guest login: ", timeout)
    os.write(c.master, b"root\r")
    c.read_until(rb"Password: ", 60)
    os.write(c.master, b"root\r")
    c.read_until(rb"root@armvm-guest:~# ", 120)
    os.write(c.master, b"stty -echo; PS1=''\r")
    time.sleep(1)


def gcmd(c, command, **kw):
    """c.cmd without the lines the image's work service prints on the
    console at each boot ("ARMVM-WORK ..."): they may come in the middle of
    a command's output."""
    return "\n".join(l for l in c.cmd(command, **kw).splitlines() if not l.startswith("ARMVM-WORK"))


def agent(cmd):
    out = virsh("qemu-agent-command", NAME, json.dumps({"execute": cmd}), "--timeout", "60", timeout=120).stdout
    return json.loads(out)["return"]


def test_virt_install_imports_the_image_and_virsh_runs_its_life(rig):
    d, emu, base = rig
    overlay = os.path.join(d.dir, NAME + ".qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay], check=True)
    t0 = time.time()
    # LIBVIRT-DEFAULT-DOMAIN.md's command, with armvm as the emulator.
    r = subprocess.run(["virt-install", "--connect", "qemu:///system", "--name", NAME, "--import",
                        "--arch", "aarch64", "--machine", "virt", "--virt-type", "qemu",
                        "--boot", f"uefi,emulator={emu}", "--osinfo", "debian11", "--memory", "1024",
                        "--vcpus", "2", "--disk", f"path={overlay},bus=virtio", "--network", "user",
                        "--graphics", "none", "--noautoconsole"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert state() == "running"
    xml = ET.fromstring(virsh("dumpxml", NAME).stdout)
    assert xml.findtext("./devices/emulator") == emu
    loader = xml.find("./os/loader")
    assert loader.text == "/usr/share/AAVMF/AAVMF_CODE.ms.fd" and loader.get("type") == "pflash"
    assert xml.find("./os/nvram").get("template") == "/usr/share/AAVMF/AAVMF_VARS.ms.fd"
    nvram = xml.findtext("./os/nvram")
    assert os.path.exists(nvram)
    assert xml.find("./features/acpi") is not None
    assert xml.find("./devices/tpm/backend").get("type") == "emulator"
    assert len(xml.findall("./devices/controller[@model='pcie-root-port']")) == 14
    assert xml.find("./devices/disk/backingStore/source").get("file") == base
    cmdline = open(f"/var/log/libvirt/qemu/{NAME}.log").read()
    assert '"driver":"tpm-tis-device"' in cmdline and '"driver":"qemu-xhci"' in cmdline

    c = Console(NAME)
    try:
        login(c)
        print(f"virt-install to a root shell: {time.time() - t0:.1f} s")
        assert gcmd(c, "od -An -t u1 /sys/firmware/efi/efivars/SecureBoot-* | awk '{print $NF}'") == "1"
        assert gcmd(c, "systemd-detect-virt") == "qemu"
        gcmd(c, "efibootmgr --create --disk /dev/vda --part 1 --label ArmvmEntry "
              "--loader '\\EFI\\debian\\shimaa64.efi' >/dev/null")
        gcmd(c, "echo before-reboot > /root/mark; sync")
        # libvirt talks to the guest agent on its channel.
        gcmd(c, "systemctl is-active qemu-guest-agent", timeout=120)
        osinfo = agent("guest-get-osinfo")
        assert osinfo["id"] == "debian" and osinfo["version-id"] == "12", osinfo

        # virsh reboot: the ACPI power button, the guest shuts down, and
        # libvirt resets the machine (-no-shutdown) instead of ending it.
        pid = open(f"/run/libvirt/qemu/{NAME}.pid").read().strip()
        virsh("reboot", NAME, "--mode", "acpi")
        login(c)
        assert open(f"/run/libvirt/qemu/{NAME}.pid").read().strip() == pid  # the same process
        assert gcmd(c, "cat /root/mark") == "before-reboot"
        assert gcmd(c, "efibootmgr | grep -c ArmvmEntry") == "1"
        assert float(gcmd(c, "cut -d' ' -f1 /proc/uptime")) < 600

        # virsh shutdown: the guest powers off and the domain ends.
        virsh("shutdown", NAME, "--mode", "acpi")
        wait_state("shut off", 300)
    finally:
        c.close()
    assert "ArmvmEntry".encode("utf-16-le") in open(nvram, "rb").read()

    # virsh start: the variables the guest wrote are the firmware's again.
    virsh("start", NAME)
    c = Console(NAME)
    try:
        login(c)
        assert gcmd(c, "efibootmgr | grep -c ArmvmEntry") == "1"
        assert gcmd(c, "cat /root/mark") == "before-reboot"
    finally:
        c.close()
    virsh("destroy", NAME)
    assert state() == "shut off"
    virsh("undefine", "--nvram", NAME)
    assert not os.path.exists(nvram)
    assert virsh("domstate", NAME, check=False).returncode != 0
    chk = subprocess.run(["qemu-img", "check", overlay], capture_output=True, text=True)
    assert chk.returncode == 0 and "No errors were found" in chk.stdout, chk.stdout + chk.stderr
    assert re.search(r"backing file: \S+", subprocess.run(["qemu-img", "info", overlay], capture_output=True,
                                                          text=True).stdout)
