"""The virt board's CFI flash banks (0x0 and 0x04000000, 64 MiB each): a
bare-metal program drives the Intel command set and prints what it reads;
the output and the backing file afterwards equal qemu-system-aarch64's.
Debian's UEFI firmware (AAVMF) boots from them to its shell, its variable
store written back to the file."""
import os
import shutil
import subprocess
import time

import pytest

import guest_build
from armvm_test import armvm_path

pytestmark = pytest.mark.skipif(not guest_build.available(), reason="scripts/install-deps installs the cross compiler")

AAVMF_CODE = "/usr/share/AAVMF/AAVMF_CODE.fd"
AAVMF_VARS = "/usr/share/AAVMF/AAVMF_VARS.fd"
QEMU_EFI = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"


def run_prog(emu, elf, image):
    p = subprocess.run([emu, "-M", "virt", "-cpu", "cortex-a57", "-nographic", "-nodefaults", "-serial", "stdio",
                        "-kernel", elf, "-drive", f"if=pflash,unit=1,file={image},format=raw"],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode()


def test_flash_commands_and_file_as_qemu(tmp_path):
    elf = guest_build.build("pflash", str(tmp_path))
    pattern = bytes(range(256)) * (64 * 4096)
    ours, ref = tmp_path / "ours.img", tmp_path / "ref.img"
    ours.write_bytes(pattern)
    ref.write_bytes(pattern)
    out = run_prog(armvm_path(), elf, ours)
    assert out == run_prog("qemu-system-aarch64", elf, ref)
    assert "manufacturer 0x0000000000890089" in out and out.endswith("done\n")
    assert ours.read_bytes() == ref.read_bytes()  # programmed, erased and buffered bytes written back
    data = ours.read_bytes()
    assert data[0x100:0x104] == bytes.fromhex("78563412") and data[0x40000:0x80000] == b"\xff" * 0x40000


def to_shell(argv, timeout=120):
    """Runs firmware until its UEFI shell prompt; returns the seconds."""
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    t0, out = time.monotonic(), b""
    try:
        os.set_blocking(p.stdout.fileno(), False)
        while time.monotonic() - t0 < timeout and b"Shell>" not in out:
            chunk = p.stdout.read()
            if chunk:
                out += chunk
            elif p.poll() is not None:
                break
            else:
                time.sleep(0.05)
        assert b"Shell>" in out, out[-2000:]
        return time.monotonic() - t0, out
    finally:
        p.kill()
        p.wait()


@pytest.mark.skipif(not os.path.exists(AAVMF_CODE), reason="qemu-efi-aarch64 (AAVMF) comes from scripts/install-deps")
@pytest.mark.parametrize("form", ["drive", "machine-pflash-blockdev"])
def test_aavmf_boots_to_its_shell_from_the_flash_banks(tmp_path, form):
    vars_ = tmp_path / "vars.fd"
    shutil.copyfile(AAVMF_VARS, vars_)
    if form == "drive":
        flash = ["-M", "virt", "-drive", f"if=pflash,unit=0,format=raw,readonly=on,file={AAVMF_CODE}",
                 "-drive", f"if=pflash,unit=1,format=raw,file={vars_}"]
    else:  # libvirt 9's form
        flash = ["-blockdev", f'{{"driver":"file","filename":"{AAVMF_CODE}","node-name":"libvirt-pflash0-storage",'
                              '"auto-read-only":true,"discard":"unmap"}',
                 "-blockdev", '{"node-name":"libvirt-pflash0-format","read-only":true,"driver":"raw",'
                              '"file":"libvirt-pflash0-storage"}',
                 "-blockdev", f'{{"driver":"file","filename":"{vars_}","node-name":"libvirt-pflash1-storage",'
                              '"auto-read-only":true,"discard":"unmap"}',
                 "-blockdev", '{"node-name":"libvirt-pflash1-format","read-only":false,"driver":"raw",'
                              '"file":"libvirt-pflash1-storage"}',
                 "-machine", "virt-7.2,usb=off,pflash0=libvirt-pflash0-format,pflash1=libvirt-pflash1-format"]
    secs, out = to_shell([armvm_path(), "-cpu", "cortex-a57", "-m", "512", "-nographic", "-nodefaults",
                          "-serial", "stdio"] + flash)
    print(f"AAVMF to its shell: {secs:.1f} s")
    assert b"UEFI Interactive Shell" in out
    # the variable store is the firmware's, written back to the file
    assert vars_.read_bytes() != open(AAVMF_VARS, "rb").read()


@pytest.mark.skipif(not os.path.exists(QEMU_EFI), reason="qemu-efi-aarch64 comes from scripts/install-deps")
def test_bios_qemu_efi_boots_to_its_shell():
    secs, out = to_shell([armvm_path(), "-M", "virt", "-cpu", "cortex-a57", "-m", "512", "-nographic", "-nodefaults",
                          "-serial", "stdio", "-bios", QEMU_EFI])
    assert b"UEFI Interactive Shell" in out


@pytest.mark.parametrize("args", [
    ["-drive", "if=pflash,unit=1,file=SMALL,format=raw"],
    ["-drive", "if=pflash,unit=2,file=SMALL,format=raw"],
    ["-drive", "if=pflash,unit=0,file=BIG,format=raw", "-bios", QEMU_EFI],
    ["-M", "virt,pflash0=nope"],
    ["-blockdev", "driver=file,filename=BIG,node-name=f1", "-M", "virt,pflash1=f1",
     "-drive", "if=pflash,unit=1,file=SMALL,format=raw"],
    ["-blockdev", "driver=file,filename=BIG,node-name=f0", "-M", "virt,pflash0=f0", "-bios", QEMU_EFI],
])
def test_flash_option_errors_are_qemus(tmp_path, args):
    small, big = tmp_path / "small.img", tmp_path / "big.img"
    small.write_bytes(b"\0" * 1000000)
    with open(big, "wb") as f:
        f.truncate(64 << 20)
    args = [a.replace("SMALL", str(small)).replace("BIG", str(big)) for a in args]
    base = ["-nodefaults", "-display", "none"] + ([] if "-M" in args else ["-M", "virt"])
    ours = subprocess.run([armvm_path()] + base + args, capture_output=True, text=True, timeout=20)
    ref = subprocess.run(["qemu-system-aarch64"] + base + args, capture_output=True, text=True, timeout=20)
    assert ours.returncode == 1 and ref.returncode == 1
    assert ours.stderr.replace("armvm: ", "") == ref.stderr.replace("qemu-system-aarch64: ", "")


@pytest.mark.skipif(not os.path.exists(AAVMF_CODE) or not shutil.which("mformat"),
                    reason="AAVMF and mtools come from scripts/install-deps")
def test_uefi_runs_a_script_from_a_fat_disk_on_virtio_blk_pci(tmp_path):
    """AAVMF finds a FAT file system on a virtio-blk-pci disk (its legacy
    I/O BAR at I/O address 0, where edk2 puts it), runs startup.nsh from
    it, and `reset -s` powers the machine off — as under QEMU."""
    esp = tmp_path / "esp.img"
    with open(esp, "wb") as f:
        f.truncate(64 << 20)
    subprocess.run(["mformat", "-i", str(esp), "::"], check=True)
    nsh = tmp_path / "startup.nsh"
    nsh.write_bytes(b"echo armvm-uefi-disk-ok\r\nreset -s\r\n")
    subprocess.run(["mcopy", "-i", str(esp), str(nsh), "::/startup.nsh"], check=True)

    def boot(emu):
        vars_ = tmp_path / f"{emu.split('/')[-1]}-vars.fd"
        shutil.copyfile(AAVMF_VARS, vars_)
        p = subprocess.run([emu, "-M", "virt", "-cpu", "cortex-a57", "-m", "512", "-nographic", "-nodefaults",
                            "-serial", "stdio",
                            "-drive", f"if=pflash,unit=0,format=raw,readonly=on,file={AAVMF_CODE}",
                            "-drive", f"if=pflash,unit=1,format=raw,file={vars_}",
                            "-drive", f"if=none,id=esp,file={esp},format=raw,readonly=on",
                            "-device", "virtio-blk-pci,drive=esp"], capture_output=True, timeout=180)
        return p.returncode, p.stdout.count(b"armvm-uefi-disk-ok")
    assert boot(armvm_path()) == boot("qemu-system-aarch64") == (0, 2)  # (the echo, and the script's own line)
