"""qemu-xhci, the USB controller libvirt's default aarch64 domain always
has: its PCI configuration space, the xhci_hcd driver's view of it (the
controller's parameters, the USB 2 and USB 3 root hubs with their ports,
MSI-X) equal QEMU's, on the root bus and behind a pcie-root-port; UEFI
firmware (AAVMF's XhciDxe) drives it and hands it over to Linux. USB
devices on it (usb-kbd, usb-tablet, usb-storage) are QEMU's to the guest,
and the USB disk holds what the guest writes."""
import hashlib
import os
import re
import select
import shutil
import subprocess
import time

import pytest

from armvm_test import armvm_path, run_armvm
from linux_guest import Guest, outputs_on_both

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
    ours, theirs = outputs_on_both(armvm_path(), ["-cpu", "cortex-a57"] + CONFIGS[name], LINUX_VIEW)
    assert ours == theirs
    ports = "4" if name == "defaults" else "15"
    assert f"0002\n480\n{ports}\n 2.00\n0003\n5000\n{ports}\n 3.00\n" in ours
    assert "Host supports USB 3.0 SuperSpeed" in ours
    assert int(ours.splitlines()[-1]) >= 1  # its interrupts are MSI-X messages


def test_xhci_through_uefi_firmware(tmp_path):
    """AAVMF binds its xHCI driver to the controller (behind a root port, as
    libvirt places it) and its USB drivers to a keyboard, a tablet and a
    USB disk, and boots on; Linux then takes them over."""
    vars_ = tmp_path / "vars.fd"
    shutil.copyfile("/usr/share/AAVMF/AAVMF_VARS.fd", vars_)
    disk = tmp_path / "usb.img"
    disk.write_bytes(b"\0" * (64 << 20))
    extra = ["-cpu", "cortex-a57", "-drive", "if=pflash,unit=0,format=raw,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd",
             "-drive", f"if=pflash,unit=1,format=raw,file={vars_}", "-drive", f"if=none,id=st,format=raw,file={disk}"]
    extra += USB_DEVICES["libvirt"]
    with Guest(armvm_path(), extra, boot_timeout=300) as g:
        out = g.ok(LINUX_VIEW)
        assert "0002\n480\n15\n 2.00\n0003\n5000\n15\n 3.00\n" in out
        assert "Host supports USB 3.0 SuperSpeed" in out
        usb = g.ok(USB_VIEW)
        for want in ("product=QEMU USB Keyboard", "product=QEMU USB Tablet", "product=QEMU USB HARDDRIVE",
                     "Attached SCSI disk"):
            assert want in usb, want
        g.kill()


# Every USB device Linux found: its sysfs attributes and raw descriptors,
# the HID report descriptors, the input devices, the SCSI disk behind
# usb-storage, and what the kernel said (without timestamps, sorted: the
# devices enumerate in parallel).
USB_VIEW = (
    "sleep 2; cd /sys/bus/usb/devices; for d in *; do echo \"== $d\"; "
    "for f in idVendor idProduct bcdDevice manufacturer product serial speed version bDeviceClass bMaxPacketSize0 "
    "bNumConfigurations bNumInterfaces bmAttributes bMaxPower configuration devpath; do "
    "[ -e $d/$f ] && echo \"$f=$(cat $d/$f)\"; done; [ -e $d/descriptors ] && od -An -tx1 -v $d/descriptors; "
    "[ -e $d/bInterfaceClass ] && echo iface $(cat $d/bInterfaceClass $d/bInterfaceSubClass "
    "$d/bInterfaceProtocol $d/bNumEndpoints); done; "
    "for r in /sys/bus/hid/devices/*; do echo $r; od -An -tx1 -v $r/report_descriptor; done; "
    "cat /proc/bus/input/devices; for b in /sys/block/sd*; do echo $b; cat $b/device/vendor $b/device/model "
    "$b/device/rev $b/size $b/ro $b/removable; done; "
    "dmesg | grep -e ' usb [0-9]' -e 'sd [0-9]' -e 'scsi [0-9]' -e hid-generic | sed 's/^\\[[ 0-9.]*\\] //' | sort")

USB_DEVICES = {
    "root-bus": ["-M", "virt", "-device", "qemu-xhci,id=usb", "-device", "usb-kbd,id=kbd", "-device", "usb-tablet",
                 "-device", "usb-storage,drive=st"],
    # as libvirt places them: the controller behind a root port, the
    # devices with bus= and port= (a string in libvirt's JSON)
    "libvirt": ["-M", "virt,gic-version=3", "-smp", "2",
                "-device", "pcie-root-port,port=9,chassis=2,id=pci.2,bus=pcie.0,addr=0x1",
                "-device", '{"driver":"qemu-xhci","p2":15,"p3":15,"id":"usb","bus":"pci.2","addr":"0x0"}',
                "-device", '{"driver":"usb-tablet","id":"input0","bus":"usb.0","port":"1"}',
                "-device", '{"driver":"usb-storage","bus":"usb.0","port":"3","drive":"st","id":"usb-disk0"}',
                "-device", '{"driver":"usb-kbd","id":"input1","bus":"usb.0","port":"2"}'],
}


@pytest.mark.parametrize("name", list(USB_DEVICES))
def test_usb_devices_as_linux_sees_them_are_qemus(tmp_path, name):
    """usb-kbd and usb-tablet (high speed, on USB 2 ports) and usb-storage
    (SuperSpeed, on a USB 3 port): enumerated, configured and bound to
    usbhid/hid-generic and usb-storage/sd, each exactly as on QEMU."""
    disk = tmp_path / "usb.img"
    disk.write_bytes(b"\0" * (64 << 20))
    extra = ["-cpu", "cortex-a57", "-drive", f"if=none,id=st,format=raw,file={disk}"] + USB_DEVICES[name]
    ours, theirs = outputs_on_both(armvm_path(), extra, USB_VIEW)
    assert ours == theirs
    for want in ("product=QEMU USB Keyboard", "product=QEMU USB Tablet", "product=QEMU USB HARDDRIVE",
                 "speed=5000", "Attached SCSI disk", "QEMU HARDDISK", "131072"):
        assert want in ours, want


def test_usb_storage_reads_and_writes_the_disk(tmp_path):
    """The guest reads what the host wrote on the disk and writes what the
    host then finds there; a read-only drive is write-protected."""
    disk = tmp_path / "usb.img"
    pattern = bytes(range(256)) * 4096  # 1 MiB
    disk.write_bytes(pattern + b"\0" * (15 << 20))
    ro = tmp_path / "ro.img"
    ro.write_bytes(b"\xaa" * (1 << 20))
    extra = ["-cpu", "cortex-a57", "-device", "qemu-xhci", "-drive", f"if=none,id=st,format=raw,file={disk}",
             "-device", "usb-storage,drive=st",
             "-drive", f"if=none,id=ro,format=raw,readonly=on,file={ro}", "-device", "usb-storage,drive=ro"]
    with Guest(armvm_path(), extra) as g:
        g.ok("sleep 2")
        devs = {g.ok(f"cat /sys/block/{b}/size"): b for b in ("sda", "sdb")}
        rw, rodev = devs["32768"], devs["2048"]
        assert g.ok(f"dd if=/dev/{rw} bs=64k count=16 2>/dev/null | md5sum").split()[0] == \
            hashlib.md5(pattern).hexdigest()
        g.ok(f"echo armvm-usb-write > /tmp/w; dd if=/tmp/w of=/dev/{rw} bs=512 seek=4096 conv=fsync 2>/dev/null")
        assert g.ok(f"cat /sys/block/{rodev}/ro") == "1"
        assert "Write Protect is on" in g.ok("dmesg")
        assert g.poweroff() == 0
    data = disk.read_bytes()
    assert data[:1 << 20] == pattern
    assert data[4096 * 512:4096 * 512 + 16] == b"armvm-usb-write\n"
    assert ro.read_bytes() == b"\xaa" * (1 << 20)


def test_usb_device_errors_are_qemus():
    for args in (["-device", "usb-kbd"],
                 ["-device", "qemu-xhci,id=usb", "-device", "usb-kbd,bus=nope.0"],
                 ["-device", "qemu-xhci,id=usb", "-device", "usb-kbd,port=1", "-device", "usb-tablet,port=1"],
                 ["-device", "qemu-xhci,id=usb", "-device", "usb-kbd,port=9"],
                 ["-device", "qemu-xhci,id=usb", "-device", "usb-storage"],
                 ["-device", "qemu-xhci,id=usb", "-device", "usb-storage,drive=nope"],
                 ["-device", "qemu-xhci", "-device", "usb-kbd,bus=usb.0"],
                 ["-device", "qemu-xhci,id=usb", "-device", "usb-kbd,bogus=1"]):
        ours = run_armvm(["-M", "virt", "-nodefaults", "-display", "none", "-S"] + args)
        theirs = subprocess.run(["qemu-system-aarch64", "-M", "virt", "-nodefaults", "-display", "none", "-S"] + args,
                                capture_output=True, text=True, timeout=20)
        assert ours.returncode == 1, args
        assert ours.stderr.replace("armvm:", "qemu-system-aarch64:") == theirs.stderr.splitlines(True)[0], args


def test_uefi_firmware_finds_a_usb_disk_as_on_qemu(tmp_path):
    """AAVMF's USB mass storage driver reads the disk through the xHCI and
    offers it as a boot option (a blank disk: nothing to load from it)."""
    lines = {}
    for emu in ("qemu-system-aarch64", armvm_path()):
        vars_ = tmp_path / "vars.fd"
        shutil.copyfile("/usr/share/AAVMF/AAVMF_VARS.fd", vars_)
        disk = tmp_path / "usb.img"
        disk.write_bytes(b"\0" * (64 << 20))
        p = subprocess.Popen([emu, "-M", "virt", "-cpu", "cortex-a57", "-m", "512", "-nographic", "-nodefaults",
                              "-serial", "stdio", "-drive",
                              "if=pflash,unit=0,format=raw,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd",
                              "-drive", f"if=pflash,unit=1,format=raw,file={vars_}", "-device", "qemu-xhci",
                              "-device", "usb-kbd", "-drive", f"if=none,id=st,format=raw,file={disk}",
                              "-device", "usb-storage,drive=st"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out = b""
        try:
            end = time.time() + 240
            while b"EFI Internal Shell" not in out and time.time() < end:
                if select.select([p.stdout], [], [], 1)[0]:
                    out += p.stdout.read1(65536)
        finally:
            p.kill()
            p.wait()
        lines[emu] = re.findall(rb"BdsDxe: failed to load Boot0001 [^\r\n]*", out)
    assert lines[armvm_path()] == lines["qemu-system-aarch64"]
    assert b'"UEFI QEMU QEMU USB HARDDRIVE 1-0000:00:01.0-2" from PciRoot(0x0)/Pci(0x1,0x0)/USB(0x1,0x0)' in \
        lines[armvm_path()][0]


def _input_events(emu, tmp_path):
    """Boot with a USB keyboard and tablet; type through QMP send-key (a key
    name, and a number as libvirt's send-key gives it) and move and click
    through input-send-event; return the evdev events the guest read."""
    from armvm_test import Qmp
    sock = str(tmp_path / f"{os.path.basename(emu)}.qmp")
    extra = ["-cpu", "cortex-a57", "-device", "qemu-xhci", "-device", "usb-kbd", "-device", "usb-tablet",
             "-qmp", f"unix:{sock},server=on,wait=off"]
    with Guest(emu, extra) as g:
        q = Qmp.connect_unix(sock)
        q.negotiate()
        g.ok("sleep 2")
        found = {}
        for line in g.ok("for e in /sys/class/input/event*; do echo ${e##*/} $(cat $e/device/name); done").splitlines():
            ev, name = line.split(" ", 1)
            found[name] = ev
        # Both devices read from the start (one background job each), all
        # the input sent, then both recordings read back.
        # (in subshells: not the shell's jobs, whose end it would report)
        g.ok(f"(cat /dev/input/{found['QEMU QEMU USB Keyboard']} > /tmp/kbd & echo $! > /tmp/k.pid); "
             f"(cat /dev/input/{found['QEMU QEMU USB Tablet']} > /tmp/tablet & echo $! > /tmp/t.pid); sleep 1")
        for cmd, args in (
                ("send-key", {"keys": [{"type": "qcode", "data": "shift"}, {"type": "qcode", "data": "a"}]}),
                ("send-key", {"keys": [{"type": "number", "data": 0x30}], "hold-time": 50}),
                ("input-send-event", {"events": [{"type": "abs", "data": {"axis": "x", "value": 16384}},
                                                 {"type": "abs", "data": {"axis": "y", "value": 8192}}]}),
                ("input-send-event", {"events": [{"type": "btn", "data": {"down": True, "button": "left"}}]}),
                ("input-send-event", {"events": [{"type": "btn", "data": {"down": False, "button": "left"}}]})):
            assert q.ok(cmd, args) == {}
            time.sleep(0.5)
        # The readers are orphans of the shell (PID 1 here): wait until it
        # has reaped both, or their SIGCHLD can end its next read of the
        # console (ash exits as on EOF; seen once on QEMU's run).
        g.ok("sleep 1; kill $(cat /tmp/k.pid) $(cat /tmp/t.pid); "
             "while [ -e /proc/$(cat /tmp/k.pid) ] || [ -e /proc/$(cat /tmp/t.pid) ]; do sleep 0.1; done")
        out = {}
        for dev in ("kbd", "tablet"):
            raw = bytes.fromhex(g.ok(f"od -An -tx1 -v /tmp/{dev}").replace(" ", "").replace("\n", ""))
            # struct input_event on arm64: a 16-byte time, type, code, value
            out[dev] = [(int.from_bytes(raw[i + 16:i + 18], "little"), int.from_bytes(raw[i + 18:i + 20], "little"),
                         int.from_bytes(raw[i + 20:i + 24], "little", signed=True)) for i in range(0, len(raw), 24)]
        q.close()
        g.kill()
    return out


def test_qmp_input_reaches_the_guest_as_on_qemu(tmp_path):
    ours = _input_events(armvm_path(), tmp_path)
    theirs = _input_events("qemu-system-aarch64", tmp_path)
    assert ours == theirs
    EV_KEY, EV_ABS = 1, 3
    keys = [(c, v) for t, c, v in ours["kbd"] if t == EV_KEY]
    assert keys == [(42, 1), (30, 1), (30, 0), (42, 0), (48, 1), (48, 0)]  # shift+a, then b
    assert (EV_ABS, 0, 16384) in ours["tablet"] and (EV_ABS, 1, 8192) in ours["tablet"]
    assert [(c, v) for t, c, v in ours["tablet"] if t == EV_KEY] == [(0x110, 1), (0x110, 0)]


@pytest.mark.parametrize("emu", ["armvm", "qemu-system-aarch64"])
def test_usb_devices_hot_plug_and_unplug_over_qmp(tmp_path, emu):
    """device_add of a USB disk and keyboard while the guest runs: the
    guest enumerates them; device_del: DEVICE_DELETED at once, the guest
    sees them go, and the disk's -drive goes with its device (as QEMU)."""
    from armvm_test import Qmp
    sock = str(tmp_path / "qmp.sock")
    disk = tmp_path / "hot.img"
    disk.write_bytes(b"armvm-hot-usb\n" + b"\0" * ((8 << 20) - 14))
    extra = ["-cpu", "cortex-a57", "-device", "qemu-xhci,id=usb", "-qmp", f"unix:{sock},server=on,wait=off",
             "-drive", f"if=none,id=hd,format=raw,file={disk}"]
    with Guest(armvm_path() if emu == "armvm" else emu, extra) as g:
        q = Qmp.connect_unix(sock)
        q.negotiate()
        assert g.ok("ls /sys/block | grep -c sd || true") == "0"
        assert q.ok("device_add", {"driver": "usb-storage", "drive": "hd", "id": "stick", "bus": "usb.0"}) == {}
        assert q.ok("device_add", {"driver": "usb-kbd", "id": "kbd"}) == {}
        g.ok("for i in $(seq 100); do [ -e /sys/block/sda ] && break; sleep 0.1; done")
        assert g.ok("head -c 14 /dev/sda") == "armvm-hot-usb"
        g.ok("for i in $(seq 100); do grep -q 'USB Keyboard' /proc/bus/input/devices && break; sleep 0.1; done")
        assert "QEMU QEMU USB Keyboard" in g.ok("cat /proc/bus/input/devices")
        paths = [p["name"] for p in q.ok("qom-list", {"path": "/machine/peripheral"})]
        assert "stick" in paths and "kbd" in paths
        assert q.ok("device_del", {"id": "stick"}) == {}
        # (the SCSI disk inside the USB one first)
        assert q.wait_event("DEVICE_DELETED", 10)["data"] == {"path": "/machine/peripheral/stick/stick.0/legacy[0]"}
        assert q.wait_event("DEVICE_DELETED", 10)["data"] == {"device": "stick", "path": "/machine/peripheral/stick"}
        g.ok("for i in $(seq 100); do [ -e /sys/block/sda ] || break; sleep 0.1; done")
        assert g.ok("ls /sys/block | grep -c sd || true") == "0"
        assert "disconnect" in g.ok("dmesg | grep 'USB disconnect' || true")
        assert "hd" not in [b["device"] for b in q.ok("query-block")]  # (the -drive went with it)
        assert q.cmd("device_del", {"id": "stick"})["error"]["class"] == "DeviceNotFound"
        assert q.ok("device_del", {"id": "kbd"}) == {}
        q.wait_event("DEVICE_DELETED", 10)
        q.close()
        assert g.poweroff() == 0


def test_usb_disks_boot_order_and_removable_media_are_qemus(tmp_path):
    """bootindex on usb-storage puts QEMU's OpenFirmware path (controller,
    port, SCSI disk) in fw_cfg's bootorder; removable=on makes a removable
    SCSI disk (libvirt passes removable=off)."""
    for n in ("a", "b"):
        (tmp_path / f"{n}.img").write_bytes(b"\0" * (16 << 20))
    extra = ["-cpu", "cortex-a57", "-device", "pcie-root-port,id=pci.2,chassis=2,addr=0x3",
             "-device", "qemu-xhci,id=usb,bus=pci.2",
             "-drive", f"if=none,id=a,format=raw,file={tmp_path / 'a.img'}",
             "-device", "usb-storage,drive=a,bootindex=1,port=2,removable=on",
             "-drive", f"if=none,id=b,format=raw,file={tmp_path / 'b.img'}",
             "-device", "usb-storage,drive=b,bootindex=2,removable=off"]
    script = ("cat /sys/firmware/qemu_fw_cfg/by_name/bootorder/raw; echo; sleep 2; cat /sys/block/sd*/removable; "
              "dmesg | grep 'Attached SCSI' | sed 's/^.*\\] //' | sort")
    ours, theirs = outputs_on_both(armvm_path(), extra, script)
    assert ours == theirs
    assert "/pci@ffffffffffffffff/pci-bridge@3/usb@0/storage@2/channel@0/disk@0,0" in ours
    assert "Attached SCSI removable disk" in ours
