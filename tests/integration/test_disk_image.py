"""A Debian 12 arm64 disk image (scripts/build-disk-image: GPT, an EFI
system partition with shim and GRUB at the removable path, ext4 root,
systemd) boots on armvm with QEMU's own command line for it: Debian's
AAVMF in the two flash banks, the image as a qcow2 overlay on
virtio-blk-pci, a virtio-net-pci NIC; through firmware, shim, GRUB, the
kernel and its initramfs to a systemd login on the serial console. The
image's armvm-work.service does real work (checksums, gzip and xz
compression, dpkg and apt queries) and its results equal QEMU's; a file
written before poweroff is on the disk after; qemu-img check is clean.
The kernel runs on armvm's ACPI tables (and, from -bios QEMU_EFI.fd with
acpi=off, on the device tree); the same image boots from -bios
u-boot.bin. (tests/libvirt/test_virt_install.py imports the same image
with virt-install: Secure Boot, the guest agent, UEFI variables that
survive a restart, the ACPI power button.)"""
import os
import re
import select
import shutil
import subprocess
import time

import pytest

from armvm_test import armvm_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AAVMF_CODE = "/usr/share/AAVMF/AAVMF_CODE.fd"
AAVMF_VARS = "/usr/share/AAVMF/AAVMF_VARS.fd"


@pytest.fixture(scope="module")
def image():
    r = subprocess.run([os.path.join(ROOT, "scripts", "build-disk-image"), "--print-path"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


class Console:
    """The emulator with its serial console on stdio."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = b""
        self.t0 = time.monotonic()

    def wait_for(self, pattern, timeout):
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while not rx.search(self.out):
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; console:\n"
                                     f"{self.out[-3000:].decode(errors='replace')}")
            r, _, _ = select.select([self.p.stdout], [], [], min(left, 1.0))
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError(f"the emulator ended (rc={self.p.wait()}): "
                                         f"{self.p.stderr.read().decode(errors='replace')}\n"
                                         f"{self.out[-3000:].decode(errors='replace')}")
                self.out += chunk
        return time.monotonic() - self.t0

    def send(self, text):
        self.p.stdin.write(text.encode())
        self.p.stdin.flush()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def boot_argv(emu, tmp_path, image, tag):
    overlay = tmp_path / f"{tag}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", image, "-F", "qcow2", str(overlay)], check=True)
    vars_ = tmp_path / f"{tag}-vars.fd"
    shutil.copyfile(AAVMF_VARS, vars_)
    # QEMU's command line for such an image, as a user writes it.
    return overlay, [emu, "-M", "virt", "-cpu", "cortex-a57", "-smp", "2", "-m", "1024", "-nographic",
                     "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={AAVMF_CODE}",
                     "-drive", f"if=pflash,format=raw,unit=1,file={vars_}",
                     "-drive", f"if=none,id=hd0,file={overlay}", "-device", "virtio-blk-pci,drive=hd0",
                     "-nic", "user,model=virtio-net-pci"]


WORK = re.compile(rb"ARMVM-WORK (\S+) (\S+)")


def work_results(out):
    return {m.group(1).decode(): m.group(2).decode() for m in WORK.finditer(out)}


def qemu_results(tmp_path, image):
    """QEMU's results for this image (run once, kept in the image cache)."""
    cache = os.path.join(os.path.dirname(image), "qemu-work-results")
    version = open(os.path.join(os.path.dirname(image), "version")).read()
    if os.path.exists(cache):
        lines = open(cache).read().split("\n", 2)
        if len(lines) == 3 and lines[0] == version.replace("\n", " "):
            return dict(ln.split(" ", 1) for ln in lines[2].splitlines() if ln)
    _, argv = boot_argv("qemu-system-aarch64", tmp_path, image, "qemu")
    c = Console(argv)
    try:
        c.wait_for(rb"ARMVM-WORK done \S+\r?\n", 900)
    finally:
        c.kill()
    res = work_results(c.out)
    with open(cache + ".tmp", "w") as fh:
        fh.write(version.replace("\n", " ") + "\n\n" + "".join(f"{k} {v}\n" for k, v in res.items()))
    os.replace(cache + ".tmp", cache)
    return res


@pytest.mark.skipif(not os.path.exists(AAVMF_CODE), reason="qemu-efi-aarch64 comes from scripts/install-deps")
def test_debian_disk_image_boots_through_uefi_and_grub_to_a_login_and_works_as_under_qemu(tmp_path, image):
    expected = qemu_results(tmp_path, image)
    assert expected.get("done") == "aarch64", expected
    overlay, argv = boot_argv(armvm_path(), tmp_path, image, "armvm")
    c = Console(argv)
    try:
        c.wait_for(rb"Loading Linux", 120)  # GRUB, from shim, from the firmware
        c.wait_for(rb"EFI stub: Booting Linux Kernel", 60)
        login = c.wait_for(rb"armvm-guest login: ", 600)
        print(f"armvm: firmware to login prompt {login:.1f} s")
        c.wait_for(rb"ARMVM-WORK done \S+\r?\n", 900)
        assert work_results(c.out) == expected
        # Log in; a file written before poweroff must be on the disk after.
        c.send("root\n")
        c.wait_for(rb"Password: ", 60)
        c.send("root\n")
        c.wait_for(rb"root@armvm-guest:~# ", 120)
        # The kernel runs on ACPI (AAVMF installed armvm's tables).
        c.send("echo acpi-$(ls /sys/firmware/acpi/tables | grep -c -x 'APIC\\|DBG2\\|DSDT\\|FACP\\|GTDT\\|IORT"
               "\\|MCFG\\|PPTT\\|SPCR')-tables\n")
        c.wait_for(rb"acpi-\d+-tables", 60)
        assert b"acpi-9-tables" in c.out, c.out[-2000:]
        c.send("echo armvm-persisted-$((6*7)) > /root/persist.txt; sync; echo wrote-$((1+1))\n")
        c.wait_for(rb"wrote-2", 60)
        c.send("poweroff\n")
        assert c.p.wait(180) == 0
    finally:
        c.kill()
    r = subprocess.run(["qemu-img", "check", str(overlay)], capture_output=True, text=True)
    assert r.returncode == 0 and "No errors were found" in r.stdout, r.stdout
    raw = tmp_path / "root.raw"
    # the root file system: partition 2 (from 65 MiB on)
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(overlay), str(tmp_path / "disk.raw")], check=True)
    subprocess.run(["dd", f"if={tmp_path / 'disk.raw'}", f"of={raw}", "bs=1M", "skip=65", "status=none",
                    "conv=sparse"], check=True)
    got = subprocess.run(["debugfs", "-R", "cat /root/persist.txt", str(raw)], capture_output=True, text=True)
    assert got.stdout == "armvm-persisted-42\n", got.stderr


@pytest.mark.parametrize("bios", ["/usr/share/qemu-efi-aarch64/QEMU_EFI.fd", "/usr/lib/u-boot/qemu_arm64/u-boot.bin"],
                         ids=["qemu-efi-acpi-off", "u-boot"])
def test_the_image_boots_from_bios_firmware_too(tmp_path, image, bios):
    """-bios QEMU_EFI.fd (edk2, here with acpi=off: the kernel gets the
    device tree through UEFI) and -bios u-boot.bin (U-Boot's distro boot
    finds EFI/BOOT/BOOTAA64.EFI) boot the same image to its login prompt."""
    if not os.path.exists(bios):
        pytest.skip(f"{bios} comes from scripts/install-deps")
    _, argv = boot_argv(armvm_path(), tmp_path, image, "bios")
    # the same command line with -bios for the two flash banks
    keep, skip = [], False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a == "-drive" and "if=pflash" in argv[i + 1]:
            skip = True
            continue
        keep.append(a)
    c = Console(keep + ["-bios", bios] + (["-machine", "acpi=off"] if "EFI" in bios else []))
    try:
        c.wait_for(rb"Loading Linux", 180)
        t = c.wait_for(rb"armvm-guest login: ", 600)
        print(f"armvm -bios {os.path.basename(bios)}: to the login prompt {t:.1f} s")
    finally:
        c.kill()
