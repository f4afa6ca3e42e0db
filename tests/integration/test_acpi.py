"""ACPI as QEMU's virt gives it (-machine acpi=on, the default): the tables,
the RSDP and the loader script in fw_cfg are byte for byte QEMU's (and so
are the SMBIOS tables and entry point); UEFI
firmware (AAVMF) installs them and Linux boots on ACPI instead of the
device tree, finds the same tables (only the firmware's own DSDT address
differs), the UART, virtio-mmio and PCIe devices through them, and the
power button on the Generic Event Device (QMP system_powerdown); the
firmware installs the SMBIOS tables as on QEMU (/sys/class/dmi/id)."""
import os
import re
import shutil

import pytest

from armvm_test import Qmp, armvm_path
from linux_guest import Guest

AAVMF_CODE = "/usr/share/AAVMF/AAVMF_CODE.fd"
AAVMF_VARS = "/usr/share/AAVMF/AAVMF_VARS.fd"

READ_FW_CFG = ("cd /sys/firmware/qemu_fw_cfg/by_name; for f in etc/acpi/rsdp etc/acpi/tables etc/table-loader "
               "etc/smbios/smbios-tables etc/smbios/smbios-anchor; "
               "do echo \"== $f\"; if [ -e $f/raw ]; then sha256sum < $f/raw; cat $f/size; fi; done")

FW_CFG_CONFIGS = {
    "gicv2-2cpus": ["-M", "virt", "-cpu", "cortex-a57", "-smp", "2", "-uuid", "215ccec3-5b28-49fd-8082-4005a225806b"],
    "gicv3-4cpus-pci": ["-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-smp", "4",
                        "-device", "virtio-rng-pci"],
    # (not its=off: QEMU 7.2 then still lists an ITS in the MADT and IORT
    # that is not there; armvm lists none)
    "gicv3-no-highmem-threads": ["-M", "virt,gic-version=3,highmem=off", "-cpu", "cortex-a57,pmu=off",
                                        "-smp", "4,sockets=2,cores=1,threads=2"],
    "acpi-off": ["-M", "virt,acpi=off", "-cpu", "cortex-a57"],
}


@pytest.mark.parametrize("name", list(FW_CFG_CONFIGS))
def test_acpi_tables_in_fw_cfg_are_qemus(name):
    extra = FW_CFG_CONFIGS[name]
    with Guest(armvm_path(), extra) as g:
        ours = g.ok(READ_FW_CFG)
        g.kill()
    with Guest("qemu-system-aarch64", extra) as q:
        theirs = q.ok(READ_FW_CFG)
        q.kill()
    assert ours == theirs
    # (the ACPI files are there, or with acpi=off not there, on both; SMBIOS always)
    assert ours.count("  -") == (2 if name == "acpi-off" else 5), ours


def uefi_args(tmp_path):
    vars_ = tmp_path / "vars.fd"
    shutil.copyfile(AAVMF_VARS, vars_)
    return ["-drive", f"if=pflash,unit=0,format=raw,readonly=on,file={AAVMF_CODE}",
            "-drive", f"if=pflash,unit=1,format=raw,file={vars_}"]


DUMP_TABLES = ("cd /sys/firmware/acpi/tables; for t in *; do if [ -f $t ]; then echo \"$t $(od -An -v -tx1 $t | "
               "tr -d ' \\n')\"; fi; done")


def tables(guest):
    out = {}
    for line in guest.ok(DUMP_TABLES, timeout=60).splitlines():
        sig, hexdata = line.split(" ", 1)
        out[sig] = bytearray.fromhex(hexdata)
    return out


DMI = ("cd /sys/class/dmi/id; cat sys_vendor product_name product_version chassis_vendor chassis_type "
       "product_uuid bios_vendor")


def without_firmware_addresses(t):
    """The tables with what the firmware chose masked: the FADT's DSDT
    addresses (where it put the DSDT) and, with them, its checksum."""
    t = dict(t)
    f = bytearray(t["FACP"])
    f[9] = 0
    f[40:44] = bytes(4)
    f[140:148] = bytes(8)
    t["FACP"] = f
    return t


@pytest.mark.parametrize("gic", [2, 3])
def test_linux_boots_on_acpi_through_uefi_as_on_qemu(tmp_path, gic):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * (4 << 20))
    sock = str(tmp_path / "qmp.sock")
    extra = ["-M", f"virt,gic-version={gic}", "-cpu", "cortex-a57", "-smp", "2" if gic == 2 else "4",
             "-uuid", "215ccec3-5b28-49fd-8082-4005a225806b",
             "-drive", f"if=none,id=d0,format=raw,file={disk}", "-device", "virtio-blk-device,drive=d0",
             "-device", "virtio-rng-pci"]
    with Guest("qemu-system-aarch64", extra + uefi_args(tmp_path), boot_timeout=300) as q:
        theirs = tables(q)
        their_irqchips = q.ok("cat /proc/interrupts | grep -o 'ITS-MSI\\|GICv2m-PCI-MSI\\|GICv2\\|GICv3' | sort -u")
        their_dmi = q.ok(DMI)
        q.kill()
    with Guest(armvm_path(), extra + uefi_args(tmp_path) + ["-qmp", f"unix:{sock},server=on,wait=off"],
               boot_timeout=300) as g:
        # The kernel took ACPI, not the device tree (the EFI stub's tree has
        # only /chosen).
        assert g.ok("ls /proc/device-tree 2>/dev/null | grep -c @ ; true") == "0"
        ours = tables(g)
        assert sorted(ours) == sorted(theirs) == ["APIC", "DBG2", "DSDT", "FACP", "GTDT", "IORT", "MCFG", "PPTT",
                                                  "SPCR"]
        assert without_firmware_addresses(ours) == without_firmware_addresses(theirs)
        log = g.ok("dmesg")
        assert not re.search(r"ACPI (BIOS )?(Error|Warning)|AE_[A-Z_]+", log), log
        assert "ACPI: SPCR: console: pl011,mmio,0x9000000" in log
        # The devices, found through the DSDT: the disk on virtio-mmio,
        # the PCIe function (its MSIs through the IORT's ITS or the MADT's
        # v2m frame), the power button.
        assert g.ok("cat /sys/block/vda/size") == str(4 << 11)
        assert g.ok("cat /sys/bus/pci/devices/0000:00:01.0/vendor /sys/bus/pci/devices/0000:00:01.0/device") == \
            "0x1af4\n0x1005"
        assert g.ok("cat /proc/interrupts | grep -o 'ITS-MSI\\|GICv2m-PCI-MSI\\|GICv2\\|GICv3' | sort -u") == \
            their_irqchips
        assert "Power Button" in g.ok("cat /proc/bus/input/devices")
        # SMBIOS, installed by the firmware: what dmidecode and
        # systemd-detect-virt read.
        assert g.ok(DMI) == their_dmi
        assert "QEMU\nQEMU Virtual Machine\nvirt-7.2\nQEMU" in their_dmi
        # system_powerdown: the GED's event, _EVT's notify, the button's key.
        q = Qmp.connect_unix(sock)
        q.negotiate()
        assert q.ok("system_powerdown") == {}
        assert g.p.wait(60) == 0
        assert b"reboot: Power down" in g.log + g.p.stdout.read()
        q.close()


def test_acpi_off_or_no_firmware_keeps_the_pl061_power_button(tmp_path):
    """With acpi=off, firmware boots the guest on the device tree, which has
    the PL061 and gpio-keys again (as QEMU's)."""
    sock = str(tmp_path / "qmp.sock")
    with Guest(armvm_path(), ["-M", "virt,acpi=off", "-cpu", "cortex-a57"] + uefi_args(tmp_path) +
               ["-qmp", f"unix:{sock},server=on,wait=off"], boot_timeout=300) as g:
        assert g.ok("[ -d /sys/firmware/acpi/tables ] && echo acpi || echo none") == "none"
        assert g.ok("cat /proc/device-tree/pl061@9030000/compatible | tr '\\0' ' '") .strip() == "arm,pl061 arm,primecell"
        assert "gpio-keys" in g.ok("cat /proc/bus/input/devices")
        q = Qmp.connect_unix(sock)
        q.negotiate()
        assert q.ok("system_powerdown") == {}
        assert g.p.wait(60) == 0
        q.close()


@pytest.mark.parametrize("args,pl061", [
    (["-bios", "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"], False),
    (["-M", "virt,acpi=off", "-bios", "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"], True),
    (["-no-acpi", "-bios", "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"], True),
    ([], True),
])
def test_the_device_tree_has_the_pl061_as_qemus_does(tmp_path, args, pl061):
    import subprocess
    for emu in (armvm_path(), "qemu-system-aarch64"):
        dtb = tmp_path / "x.dtb"
        argv = [emu, "-M", f"virt,dumpdtb={dtb}", "-cpu", "cortex-a57", "-nographic"] + args
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (emu, r.stderr)
        text = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", str(dtb)], capture_output=True, text=True).stdout
        assert ("pl061@9030000" in text) == pl061, emu
        assert ("gpio-keys" in text) == pl061, emu
        os.unlink(dtb)
