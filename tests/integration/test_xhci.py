"""qemu-xhci, the USB controller libvirt's default aarch64 domain always
has: its PCI configuration space, the xhci_hcd driver's view of it (the
controller's parameters, the USB 2 and USB 3 root hubs with their ports,
MSI-X) equal QEMU's, on the root bus and behind a pcie-root-port; UEFI
firmware (AAVMF's XhciDxe) drives it and hands it over to Linux."""
import shutil

import pytest

from armvm_test import armvm_path
from linux_guest import Guest

LINUX_VIEW = ("d=$(grep -l 0x000d /sys/bus/pci/devices/*/device | head -1); d=${d%/device}; "
              "echo $d; cat $d/vendor $d/class $d/subsystem_vendor $d/subsystem_device; "
              "od -An -tx1 -v $d/config | md5sum; "
              "dmesg | grep -i 'xhci\\|usb' | sed 's/^\\[[ 0-9.]*\\] //'; "
              "for u in usb1 usb2; do cat /sys/bus/usb/devices/$u/idProduct /sys/bus/usb/devices/$u/speed "
              "/sys/bus/usb/devices/$u/maxchild /sys/bus/usb/devices/$u/version; done; "
              "grep -c 'MSI.*xhci_hcd' /proc/interrupts")

CONFIGS = {
    "root-bus-gicv2": ["-M", "virt", "-device", "qemu-xhci,p2=15,p3=15,id=usb"],
    "root-port-gicv3": ["-M", "virt,gic-version=3", "-smp", "2",
                        "-device", "pcie-root-port,port=9,chassis=2,id=pci.2,bus=pcie.0,addr=0x1",
                        "-device", '{"driver":"qemu-xhci","p2":15,"p3":15,"id":"usb","bus":"pci.2","addr":"0x0"}'],
    "defaults": ["-M", "virt", "-device", "qemu-xhci"],
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_xhci_as_linux_sees_it_is_qemus(name):
    extra = ["-cpu", "cortex-a57"] + CONFIGS[name]
    with Guest(armvm_path(), extra) as g:
        ours = g.ok(LINUX_VIEW)
        g.kill()
    with Guest("qemu-system-aarch64", extra) as q:
        theirs = q.ok(LINUX_VIEW)
        q.kill()
    assert ours == theirs
    ports = "4" if name == "defaults" else "15"
    assert f"0002\n480\n{ports}\n 2.00\n0003\n5000\n{ports}\n 3.00\n" in ours
    assert "Host supports USB 3.0 SuperSpeed" in ours
    assert int(ours.splitlines()[-1]) >= 1  # its interrupts are MSI-X messages


def test_xhci_through_uefi_firmware(tmp_path):
    """AAVMF binds its xHCI driver to the controller (behind a root port, as
    libvirt places it) and boots on; Linux then takes it over."""
    vars_ = tmp_path / "vars.fd"
    shutil.copyfile("/usr/share/AAVMF/AAVMF_VARS.fd", vars_)
    extra = ["-cpu", "cortex-a57", "-drive", "if=pflash,unit=0,format=raw,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd",
             "-drive", f"if=pflash,unit=1,format=raw,file={vars_}"] + CONFIGS["root-port-gicv3"]
    with Guest(armvm_path(), extra, boot_timeout=300) as g:
        out = g.ok(LINUX_VIEW)
        assert "0002\n480\n15\n 2.00\n0003\n5000\n15\n 3.00\n" in out
        assert "Host supports USB 3.0 SuperSpeed" in out
        g.kill()
