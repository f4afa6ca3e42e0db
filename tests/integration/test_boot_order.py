"""The firmware's boot settings in fw_cfg (what edk2 and U-Boot read):
`bootorder` from the devices' bootindex (OpenFirmware paths for virtio-pci
behind root ports and on the root bus, and for virtio-mmio), "HALT" with
-boot strict=on, etc/boot-menu-wait and etc/boot-fail-wait from -boot;
read by a Linux guest through /sys/firmware/qemu_fw_cfg and compared with
QEMU's."""
import subprocess

import pytest

from armvm_test import armvm_path
from linux_guest import Guest

READ = ("cd /sys/firmware/qemu_fw_cfg/by_name; for f in bootorder etc/boot-menu-wait etc/boot-fail-wait "
        "bios-geometry; do echo \"== $f\"; [ -e $f/raw ] && od -An -tx1 $f/raw; done")


def configs(tmp_path):
    d1, d2 = tmp_path / "d1.img", tmp_path / "d2.img"
    for d in (d1, d2):
        d.write_bytes(b"\0" * 65536)
    return {
        "none": [],
        "libvirt-like": [
            "-device", "pcie-root-port,port=8,chassis=1,id=pci.1,bus=pcie.0,multifunction=on,addr=0x1",
            "-device", "pcie-root-port,port=9,chassis=2,id=pci.2,bus=pcie.0,addr=0x1.0x1",
            "-drive", f"file={d1},format=raw,if=none,id=disk0",
            "-device", "virtio-blk-pci,bus=pci.2,addr=0x0,drive=disk0,id=virtio-disk0,bootindex=1",
            "-netdev", "user,id=hostnet0",
            "-device", "virtio-net-pci,netdev=hostnet0,id=net0,bus=pci.1,addr=0x0,bootindex=2",
            "-boot", "strict=on"],
        "mixed": [
            "-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0,bootindex=7",
            "-device", "pcie-root-port,id=rp1,chassis=1,port=8,bus=pcie.0,addr=0x1.0x3,multifunction=on",
            "-netdev", "user,id=n1", "-device", "virtio-net-pci,netdev=n1,bus=rp1,bootindex=0",
            "-drive", f"if=none,id=d2,file={d2},format=raw",
            "-device", "virtio-blk-pci,drive=d2,addr=0x3.0x2,multifunction=on,bootindex=5",
            "-drive", f"if=none,id=d1,file={d1},format=raw", "-device", "virtio-blk-device,drive=d1,bootindex=6",
            "-boot", "menu=on,splash-time=3000,reboot-timeout=5000"],
    }


@pytest.mark.parametrize("name", ["none", "libvirt-like", "mixed"])
def test_firmware_boot_settings_in_fw_cfg_are_qemus(tmp_path, name):
    extra = ["-cpu", "cortex-a57"] + configs(tmp_path)[name]
    with Guest(armvm_path(), extra) as g:
        ours = g.ok(READ)
        g.kill()
    with Guest("qemu-system-aarch64", extra) as q:
        theirs = q.ok(READ)
        q.kill()
    assert ours == theirs
    if name == "libvirt-like":
        text = bytes(int(x, 16) for x in ours.split("== etc/boot-menu-wait")[0].split()[2:]).decode()
        assert text == ("/pci@ffffffffffffffff/pci-bridge@1,1/scsi@0/disk@0,0\n"
                        "/pci@ffffffffffffffff/pci-bridge@1/ethernet@0/ethernet-phy@0\nHALT\0")


def test_a_bootindex_used_twice_is_refused_as_qemu_does(tmp_path):
    d1, d2 = tmp_path / "d1.img", tmp_path / "d2.img"
    for d in (d1, d2):
        d.write_bytes(b"\0" * 65536)
    args = ["-M", "virt", "-nodefaults", "-display", "none",
            "-drive", f"if=none,id=a,file={d1},format=raw", "-device", "virtio-blk-pci,drive=a,bootindex=1",
            "-drive", f"if=none,id=b,file={d2},format=raw", "-device", "virtio-blk-pci,drive=b,bootindex=1"]
    ours = subprocess.run([armvm_path()] + args, capture_output=True, text=True, timeout=20)
    ref = subprocess.run(["qemu-system-aarch64"] + args, capture_output=True, text=True, timeout=20)
    assert ours.returncode == ref.returncode == 1
    assert ours.stderr.replace("armvm: ", "") == ref.stderr.replace("qemu-system-aarch64: ", "")
