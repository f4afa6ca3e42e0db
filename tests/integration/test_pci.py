"""PCIe on the virt board: Debian's kernel (its pci-host-generic, pcieport
and the virtio_pci module) finds the same functions with the same
configuration space as under qemu-system-aarch64, takes MSI-X through the
GICv2m frame or the GICv3 ITS (INTx with its=off), and the virtio-pci devices
move real data: a disk behind a pcie-root-port, the network through slirp."""
import functools
import hashlib
import http.server
import re
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from armvm_test import armvm_path, run_armvm
from linux_guest import Guest

# One of each virtio-pci device on the root bus, and some behind root
# ports. virtio-net-pci carries iPXE's option ROM (QEMU's default romfile,
# its PCI IDs made the device's: 1af4:1041 in the file, 1af4:1000 for a
# transitional NIC), a virtio-rng-pci one from a file given (as it is).
DEVICES = ["-device", "virtio-blk-pci,drive=hd", "-device", "virtio-rng-pci", "-device", "virtio-serial-pci",
           "-device", "virtio-balloon-pci", "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
           "-device", "pcie-root-port,id=rp1,chassis=1", "-device", "virtio-rng-pci,bus=rp1",
           "-device", "pcie-root-port,id=rp2,chassis=2", "-netdev", "user,id=n1",
           "-device", "virtio-net-pci,netdev=n1,bus=rp2,disable-legacy=on",
           "-device", "virtio-rng-pci,romfile=/usr/lib/ipxe/qemu/efi-virtio.rom,romsize=524288"]

# Every function: IDs, resources (the ROM's among them), configuration
# space, and the ROM's bytes as the guest reads them through the BAR.
DUMP = ("for d in /sys/bus/pci/devices/*; do echo \"== ${d##*/} $(cat $d/vendor $d/device $d/class)\"; "
        "grep -v '0x0000000000000000 0x0000000000000000' $d/resource; od -A x -t x1 -v $d/config | head -16; "
        "if [ -e $d/rom ]; then echo 1 > $d/rom; echo rom $(md5sum < $d/rom) $(wc -c < $d/rom); "
        "echo 0 > $d/rom; fi; done")

# The holes of the MSI-X BARs (BAR 0 of a bridge, BAR 1 of the others)
# after the table, after the PBA and at the end: as on QEMU, the window
# answers there (all-ones), not the device.
HOLES = ("for d in /sys/bus/pci/devices/*; do n=2; grep -q 0x0604 $d/class && n=1; "
         "b=$(sed -n ${n}p $d/resource | cut -d' ' -f1); [ $((b)) = 0 ] && continue; "
         "echo ${d##*/} $(for o in 0x40 0x808 0xffc; do devmem $((b + o)) 32; done); done")


def flat_views(text):
    """info mtree -f's views, without their numbers (QEMU's order is a
    hash table's)."""
    blocks = [b.strip("\r\n") for b in re.split(r"FlatView #\d+\r?\n", text) if b.strip()]
    return sorted(blocks)


def tree_blocks(text):
    """info mtree's blocks (an address space or those sharing a root, a
    region an alias showed), sorted: QEMU prints the spaces in a hash
    table's order."""
    return sorted(b.strip("\r\n") for b in re.split(r"\r?\n\r?\n", text) if b.strip())


def pci_view(emu, extra, tmp_path):
    from armvm_test import Qmp
    disk = tmp_path / f"{emu.split('/')[-1]}.img"
    disk.write_bytes(b"\0" * (8 << 20))
    sock = str(tmp_path / f"{emu.split('/')[-1]}-view.qmp")
    args = ["-cpu", "cortex-a57", "-drive", f"if=none,id=hd,file={disk},format=raw",
            "-qmp", f"unix:{sock},server=on,wait=off"] + extra
    with Guest(emu, args) as g:
        dump = g.ok(DUMP)
        holes = g.ok(HOLES)
        irqs = g.ok("cat /proc/interrupts")
        virtio = g.ok("ls /sys/bus/virtio/devices")
        q = Qmp.connect_unix(sock)
        q.negotiate()
        query = q.ok("query-pci")
        mtree = q.ok("human-monitor-command", {"command-line": "info mtree -f"})
        tree = q.ok("human-monitor-command", {"command-line": "info mtree"})
        qtree = q.ok("human-monitor-command", {"command-line": "info qtree"})
        q.close()
        g.poweroff()
    # The interrupt line byte (0x3c) holds the Linux IRQ number the kernel
    # wrote there: Linux's numbering, not the device's (query-pci's "irq").
    dump = re.sub(r"^(000030( [0-9a-f]{2}){12}) [0-9a-f]{2}", r"\1 ..", dump, flags=re.M)
    return dump, irqs, virtio, json_dumps(query), holes, flat_views(mtree), (tree_blocks(tree), qtree)


def test_pci_functions_and_config_space_match_qemu(tmp_path):
    ours, irqs, virtio, query, holes, mtree, tree = pci_view(armvm_path(), DEVICES, tmp_path)
    ref, ref_irqs, ref_virtio, ref_query, ref_holes, ref_mtree, ref_tree = pci_view("qemu-system-aarch64", DEVICES,
                                                                                   tmp_path)
    assert ours == ref
    # The memory map the vCPUs see, BARs and their register blocks among
    # the board's regions (HMP info mtree -f), and what the guest reads in
    # a BAR's holes.
    assert mtree == ref_mtree
    # The tree: the windows as aliases onto the bus's regions (the root
    # ports' too), each BAR a region holding its blocks.
    (tree, qtree), (ref_tree, ref_qtree) = tree, ref_tree
    assert tree == ref_tree
    assert any(b.startswith("memory-region: pci_bridge_pci") and "virtio-pci-notify-virtio-net" in b for b in tree)
    # info qtree: each device's lines (BARs where the guest put them, the
    # settled properties: addresses, MACs, vectors, ROMs) as QEMU's.
    from test_hmp import qtree_own_lines
    own, ref_own = qtree_own_lines(qtree), qtree_own_lines(ref_qtree)
    assert [d for d, _ in own] == [d for d, _ in ref_own]
    for (dev, lines), (_, ref_lines) in zip(own, ref_own):
        assert set(lines) <= set(ref_lines), (dev, set(lines) - set(ref_lines))
    assert "bar 4: mem at 0x8000000000 [0x8000003fff]" in qtree.replace("\r", "")
    assert holes == ref_holes and "0xFFFFFFFF" in holes
    # query-pci: the same functions, BARs where the guest put them, bridges
    strip_irq = lambda text: re.sub(r'"irq": \d+', '"irq": N', text)
    assert strip_irq(query) == strip_irq(ref_query)
    assert virtio == ref_virtio == "  ".join(f"virtio{i}" for i in range(8))
    # MSI-X through the GICv2m frame: the same vectors, by requester ID.
    msi = lambda text: sorted(re.findall(r"MSI (\d+) Edge\s+(\S+)", text))
    assert msi(irqs) == msi(ref_irqs) and len(msi(irqs)) >= 10
    assert "00:00.0" in ours and "01:00.0" in ours


def test_disk_behind_a_root_port_and_network_through_slirp_on_pci(tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * (16 << 20))
    (tmp_path / "hello.txt").write_text("hello over pci\n")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        fwd = s.getsockname()[1]
    try:
        with Guest(armvm_path(), ["-smp", "2", "-drive", f"if=none,id=d0,file={disk},format=raw",
                                  "-device", "pcie-root-port,id=rp0,chassis=1,port=16,addr=2",
                                  "-device", "virtio-blk-pci,drive=d0,bus=rp0",
                                  "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{fwd}-:8080",
                                  "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:aa:bb:cc"]) as g:
            assert g.ok("cat /sys/bus/pci/devices/0000:01:00.0/device") == "0x1042"  # modern-only behind the port
            assert g.ok("cat /sys/block/vda/size") == str((16 << 20) // 512)
            g.ok("dd if=/dev/urandom of=/tmp/r bs=1k count=2000 2>/dev/null; "
                 "dd if=/tmp/r of=/dev/vda bs=1k seek=1024 conv=fsync 2>/dev/null")
            md5 = g.ok("md5sum /tmp/r").split()[0]
            g.ok("echo 3 > /proc/sys/vm/drop_caches")
            assert g.ok("dd if=/dev/vda bs=1k skip=1024 count=2000 2>/dev/null | md5sum").split()[0] == md5
            assert g.ok("cat /sys/class/net/eth0/address") == "52:54:00:aa:bb:cc"
            g.ok("ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2")
            assert g.ok(f"wget -q -O - http://10.0.2.2:{srv.server_address[1]}/hello.txt") == "hello over pci"
            g.ok("mkdir -p /www; echo served over pci > /www/index.html; httpd -p 8080 -h /www")
            assert urllib.request.urlopen(f"http://127.0.0.1:{fwd}/index.html", timeout=30).read() == \
                b"served over pci\n"
            irqs = g.ok("cat /proc/interrupts")
            assert re.search(r"MSI \d+ Edge\s+virtio\d-req\.0", irqs), irqs
            assert g.poweroff() == 0
    finally:
        srv.shutdown()
    data = disk.read_bytes()
    assert hashlib.md5(data[1024 * 1024:1024 * 1024 + 2000 * 1024]).hexdigest() == md5


@pytest.mark.parametrize("smp", [1, 4])
def test_gicv3_its_takes_msi_x_as_qemus(tmp_path, smp):
    """GICv3 with its ITS (QEMU's default its=on): every MSI-X vector is an
    ITS-MSI LPI, the same vectors and hardware IRQ numbers (requester ID <<
    11 | vector) as under QEMU; virtio-blk-pci has a request queue per vCPU;
    the disk moves data on every CPU's queue."""
    def view(emu):
        disk = tmp_path / "disk.img"
        disk.write_bytes(b"\0" * (8 << 20))
        args = ["-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-smp", str(smp),
                "-drive", f"file={disk},format=raw,if=virtio", "-device", "virtio-rng-pci",
                "-device", "pcie-root-port,id=rp1,chassis=1", "-device", "virtio-rng-pci,bus=rp1"]
        with Guest(emu, args) as g:
            assert "PCI/MSI: /intc@8000000/its@8080000 domain created" in g.ok("dmesg")
            queues = g.ok("ls /sys/block/vda/mq | wc -l")
            # Write from every CPU, then read it back through the page cache's misses.
            g.ok(f"for c in $(seq 0 {smp - 1}); do taskset -c $c dd if=/dev/urandom of=/dev/vda bs=4k "
                 "seek=$((c * 64)) count=64 conv=fsync 2>/dev/null; done")
            md5 = g.ok(f"dd if=/dev/vda bs=4k count={64 * smp} 2>/dev/null | md5sum").split()[0]
            g.ok("echo 3 > /proc/sys/vm/drop_caches")
            assert g.ok(f"dd if=/dev/vda bs=4k count={64 * smp} 2>/dev/null | md5sum").split()[0] == md5
            assert g.ok("head -c 64 /dev/hwrng | wc -c") == "64"
            irqs = g.ok("cat /proc/interrupts")
            assert g.poweroff() == 0
        data = disk.read_bytes()[:64 * 4096 * smp]
        assert hashlib.md5(data).hexdigest() == md5
        return queues, sorted(re.findall(r"ITS-MSI (\d+) Edge\s+(\S+)", irqs)), irqs
    queues, msis, irqs = view(armvm_path())
    ref_queues, ref_msis, _ = view("qemu-system-aarch64")
    assert queues == ref_queues == str(smp)
    assert msis == ref_msis and len(msis) >= 7, irqs
    # The request queues' interrupts arrived (each queue has its own vector).
    counts = {name: sum(map(int, line.split()[1:1 + smp])) for line in irqs.splitlines()
              if "ITS-MSI" in line for name in [line.split()[-1]]}
    assert sum(n for name, n in counts.items() if "-req." in name) > 0, irqs


@pytest.mark.parametrize("smp", [1, 4])
def test_gicv3_without_its_uses_intx_and_if_virtio_is_on_pci(tmp_path, smp):
    """GICv3 with its=off: the devices fall back to INTx on SPIs 3-6,
    swizzled by slot; -drive if=virtio is a virtio-blk-pci, after the
    -device ones (as QEMU places them)."""
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"armvm-pci-intx\n" + b"\0" * ((4 << 20) - 15))
    with Guest(armvm_path(), ["-M", "virt,gic-version=3,its=off", "-smp", str(smp), "-drive", f"file={disk},format=raw,if=virtio",
                              "-device", "virtio-rng-pci"]) as g:
        assert g.ok("cat /sys/bus/pci/devices/0000:00:01.0/device") == "0x1005"
        assert g.ok("cat /sys/bus/pci/devices/0000:00:02.0/device") == "0x1001"
        assert g.ok("head -c 15 /dev/vda") == "armvm-pci-intx"
        assert g.ok("head -c 64 /dev/hwrng | wc -c") == "64"
        irqs = g.ok("cat /proc/interrupts")
        # slot 1 INTA -> SPI 4 (INTID 36), slot 2 INTA -> SPI 5 (INTID 37)
        assert re.search(r"GICv3\s+36 Level\s+virtio0", irqs) and re.search(r"GICv3\s+37 Level\s+virtio1", irqs), irqs
        assert g.poweroff() == 0


@pytest.mark.parametrize("args,message", [
    (["-device", "virtio-rng-pci,addr=3", "-device", "virtio-rng-pci,addr=3"],
     "-device virtio-rng-pci,addr=3: PCI: slot 3 function 0 not available for virtio-rng-pci, in use by "
     "virtio-rng-pci,id=(null)"),
    (["-device", "virtio-rng-pci,id=r0", "-device", "pcie-root-port,addr=0"],
     "-device pcie-root-port,addr=0: PCI: slot 0 function 0 not available for pcie-root-port, in use by "
     "gpex-root,id=(null)"),
    (["-device", "virtio-rng-pci,bus=nope"], "-device virtio-rng-pci,bus=nope: Bus 'nope' not found"),
    (["-device", "virtio-rng-pci,bogus=1"], "-device virtio-rng-pci,bogus=1: Property 'virtio-rng-pci.bogus' not found"),
])
def test_pci_placement_errors_are_qemus(args, message):
    p = run_armvm(["-M", "virt", "-nodefaults", "-display", "none"] + args, timeout=20)
    assert p.returncode == 1
    assert p.stderr.strip() == "armvm: " + message


@pytest.mark.parametrize("net", [["-nic", "user,model=virtio-net-pci,mac=52:54:00:01:02:03"],
                                 ["-net", "nic,macaddr=52:54:00:01:02:03", "-net", "user"],
                                 ["-nic", "user,mac=52:54:00:01:02:03"]],
                         ids=["nic-model", "net-nic-net-user", "nic-default-model"])
def test_shorthand_disk_and_nic_options_make_pci_devices(tmp_path, net):
    """-hda and -nic / -net nic -net user, as the command lines people copy
    use them: a virtio-blk-pci disk and a virtio-net-pci NIC on slirp."""
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"armvm-hda\n" + b"\0" * ((1 << 20) - 10))
    (tmp_path / "hello.txt").write_text("hello shorthand\n")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with Guest(armvm_path(), ["-hda", str(disk)] + net) as g:
            devices = g.ok("cat /sys/bus/pci/devices/*/device").split()
            assert sorted(devices) == ["0x0008", "0x1000", "0x1001"]
            assert g.ok("head -c 9 /dev/vda") == "armvm-hda"
            assert g.ok("cat /sys/class/net/eth0/address") == "52:54:00:01:02:03"
            g.ok("ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2")
            assert g.ok(f"wget -q -O - http://10.0.2.2:{srv.server_address[1]}/hello.txt") == "hello shorthand"
            assert g.poweroff() == 0
    finally:
        srv.shutdown()


def test_device_help_lists_the_devices_in_qemus_shape():
    def listing(out):
        cat, got = None, {}
        for line in out.splitlines():
            if line.endswith(" devices:"):
                cat = line
            elif line.startswith("name "):
                got[line] = cat
        return got
    ours = listing(run_armvm(["-device", "help"]).stdout)
    q = subprocess.run(["qemu-system-aarch64", "-M", "virt", "-device", "help"], capture_output=True, text=True)
    ref = listing(q.stdout + q.stderr)
    assert len(ours) == 28
    for line, cat in ours.items():
        assert ref.get(line) == cat, line
    # -device NAME,help: each property line as QEMU prints it (armvm lists
    # the properties it implements)
    for line in ours:
        name = line.split('"')[1]
        mine = run_armvm(["-device", f"{name},help"]).stdout.splitlines()
        theirs = subprocess.run(["qemu-system-aarch64", "-M", "virt", "-device", f"{name},help"],
                                capture_output=True, text=True).stdout.splitlines()
        assert mine[0] == theirs[0] == f"{name} options:"
        assert len(mine) > 1 or name.startswith("virtio-rng"), name
        for prop in mine[1:]:
            assert prop in theirs, (name, prop)
    # and the alias works
    p = run_armvm(["-M", "virt", "-nodefaults", "-display", "none", "-device", "virtio-rng,bogus=1"])
    assert p.stderr.strip() == "armvm: -device virtio-rng,bogus=1: Property 'virtio-rng-pci.bogus' not found"


def hotplug_session(emu, tmp_path):
    """Boot with two empty root ports; over QMP add a disk and a NIC while
    the guest runs, use them, unplug both; return what was seen."""
    from armvm_test import Qmp
    sock = str(tmp_path / f"{emu.split('/')[-1]}.qmp")
    disk = tmp_path / f"{emu.split('/')[-1]}-hot.img"
    disk.write_bytes(b"armvm-hotplug\n" + b"\0" * ((4 << 20) - 14))
    seen = {}
    with Guest(emu, ["-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-smp", "2",
                     "-qmp", f"unix:{sock},server=on,wait=off",
                     "-device", "pcie-root-port,id=rp1,chassis=1,port=16,addr=2",
                     "-device", "pcie-root-port,id=rp2,chassis=2,port=17,addr=3"]) as g:
        q = Qmp.connect_unix(sock)
        q.negotiate()
        assert g.ok("ls /sys/bus/pci/devices | wc -l") == "3"
        q.ok("blockdev-add", {"driver": "file", "filename": str(disk), "node-name": "hot-file"})
        q.ok("blockdev-add", {"driver": "raw", "file": "hot-file", "node-name": "hot"})
        q.ok("device_add", {"driver": "virtio-blk-pci", "bus": "rp1", "drive": "hot", "id": "disk1"})
        q.ok("netdev_add", {"type": "user", "id": "hn"})
        q.ok("device_add", {"driver": "virtio-net-pci", "bus": "rp2", "netdev": "hn", "id": "nic1",
                            "mac": "52:54:00:00:00:42"})
        # The guest's pciehp finds them (presence detect + attention button).
        g.ok("for i in $(seq 100); do [ -b /dev/vda ] && [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done")
        seen["disk"] = g.ok("head -c 13 /dev/vda")
        g.ok("echo written-while-hotplugged | dd of=/dev/vda bs=512 seek=8 conv=fsync 2>/dev/null")
        seen["mac"] = g.ok("cat /sys/class/net/eth0/address")
        g.ok("ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0")
        seen["ping"] = g.ok("ping -c 1 -W 5 10.0.2.2 >/dev/null && echo reachable || echo unreachable")
        seen["devices"] = sorted(g.ok("cat /sys/bus/pci/devices/*/device").split())
        seen["busy"] = q.cmd("blockdev-del", {"node-name": "hot"}).get("error", {}).get("class")
        # Unplug: the guest gets the attention button, waits its 5 s and
        # powers the slots off; then DEVICE_DELETED.
        q.ok("device_del", {"id": "disk1"})
        again = q.cmd("device_del", {"id": "disk1"})
        seen["again"] = again.get("error", {}).get("desc")
        q.ok("device_del", {"id": "nic1"})
        events = [q.wait_event("DEVICE_DELETED", timeout=30)["data"] for _ in range(4)]
        seen["events"] = sorted(json_dumps(e) for e in events)
        g.ok("for i in $(seq 50); do [ -b /dev/vda ] || break; sleep 0.1; done")
        seen["after"] = g.ok("ls /dev/vda 2>&1 | grep -c 'No such' ; ls /sys/bus/pci/devices | wc -l")
        q.ok("blockdev-del", {"node-name": "hot"})
        q.ok("blockdev-del", {"node-name": "hot-file"})
        q.ok("netdev_del", {"id": "hn"})
        seen["gone"] = q.cmd("device_del", {"id": "disk1"})["error"]["class"]
        seen["root"] = q.cmd("device_del", {"id": "rp1"})["error"]["desc"]
        assert g.poweroff() == 0
        q.close()
    seen["file"] = disk.read_bytes()[8 * 512:8 * 512 + 24]
    return seen


def json_dumps(o):
    import json
    return json.dumps(o, sort_keys=True)


def test_hotplug_and_unplug_of_a_disk_and_a_nic_over_qmp(tmp_path):
    ours = hotplug_session(armvm_path(), tmp_path)
    ref = hotplug_session("qemu-system-aarch64", tmp_path)
    assert ours["disk"] == "armvm-hotplug"
    assert ours["mac"] == "52:54:00:00:00:42" and ours["ping"] == "reachable"
    assert ours["devices"] == ["0x0008", "0x000c", "0x000c", "0x1041", "0x1042"]
    assert ours["file"] == b"written-while-hotplugged"
    assert ours["after"] == "1\n3"
    assert ours == ref


HOTPLUG_CASES = [
    ("device_add", {"driver": "virtio-rng-pci"}),
    ("device_add", {"driver": "virtio-rng-pci", "bus": "pcie.0"}),
    ("device_add", {"driver": "virtio-rng-pci", "bus": "rp1", "addr": "1"}),
    ("device_add", {"driver": "virtio-rng-device"}),
    ("device_add", {"driver": "pcie-root-port", "id": "rp3", "chassis": 3}),
    ("device_add", {"driver": "virtio-rng-pci", "bus": "rp2"}),
    ("device_add", {"driver": "virtio-rng-pci", "bus": "rp1", "id": "rng0"}),
    ("device_add", {"driver": "virtio-blk-pci", "bus": "rp1", "drive": "nope"}),
    ("device_add", {"driver": "nonesuch"}),
    ("device_add", {"driver": "virtio-rng-pci", "bus": "nobus"}),
    ("device_del", {"id": "mm"}),
    ("device_del", {"id": "rp1"}),
    ("device_del", {"id": "nobody"}),
    ("device_add", {"driver": "virtio-blk-pci", "bus": "rp4", "drive": "d0", "id": "b1"}),
    ("device_del", {"id": "b1"}),
    ("blockdev-add", {"driver": "raw", "file": "nope", "node-name": "x"}),
    ("blockdev-add", {"driver": "file", "filename": "/nonexistent/x", "node-name": "x"}),
    ("blockdev-del", {"node-name": "zzz"}),
    ("netdev_add", {"type": "user", "id": "n1"}),
    ("netdev_add", {"type": "user", "id": "n1"}),
    ("netdev_del", {"id": "n9"}),
    ("netdev_del", {"id": "n1"}),
    # a refused device_add leaves its id and its drive free
    ("device_add", {"driver": "virtio-blk-pci", "drive": "d0", "id": "b2"}),
    ("device_add", {"driver": "virtio-blk-pci", "bus": "rp4", "drive": "d0", "id": "b2"}),
]


def hotplug_replies(emu, tmp_path):
    """Hot-plug requests before the guest runs (-S): every reply, and the
    DEVICE_DELETED events of the one device whose slot is powered off
    (nobody booted to power it on), which goes at once."""
    from armvm_test import Qmp
    sock = str(tmp_path / f"{emu.split('/')[-1]}-err.qmp")
    disk = tmp_path / "e.img"
    disk.write_bytes(b"\0" * (1 << 20))
    p = subprocess.Popen([emu, "-M", "virt", "-cpu", "cortex-a57", "-nodefaults", "-display", "none", "-S",
                          "-qmp", f"unix:{sock},server=on,wait=off",
                          "-device", "pcie-root-port,id=rp1,chassis=1", "-device", "pcie-root-port,id=rp2,chassis=2",
                          "-device", "pcie-root-port,id=rp4,chassis=4",
                          "-device", "virtio-rng-pci,id=rng0,bus=rp2",
                          "-drive", f"if=none,id=d0,file={disk},format=raw", "-device", "virtio-rng-device,id=mm"],
                         stderr=subprocess.PIPE)
    try:
        q = Qmp.connect_unix(sock)
        q.negotiate()
        replies = [q.cmd(name, args) for name, args in HOTPLUG_CASES]
        events = [q.wait_event("DEVICE_DELETED", 5)["data"] for _ in range(2)]
        q.close()
    finally:
        p.kill()
        p.wait()
    return replies, events


def test_hotplug_replies_and_errors_are_qemus(tmp_path):
    ours = hotplug_replies(armvm_path(), tmp_path)
    ref = hotplug_replies("qemu-system-aarch64", tmp_path)
    for case, a, b in zip(HOTPLUG_CASES, ours[0], ref[0]):
        assert a == b, case
    assert ours[1] == ref[1] == [{"path": "/machine/peripheral/b1/virtio-backend"},
                                 {"device": "b1", "path": "/machine/peripheral/b1"}]


def balloon_session(emu, tmp_path):
    from armvm_test import Qmp
    sock = str(tmp_path / f"{emu.split('/')[-1]}-balloon.qmp")
    seen = {}
    with Guest(emu, ["-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-qmp", f"unix:{sock},server=on,wait=off",
                     "-device", "pcie-root-port,id=rp1,chassis=1", "-device", "virtio-balloon-pci,id=balloon0,bus=rp1"],
               memory="512") as g:
        q = Qmp.connect_unix(sock)
        q.negotiate()
        seen["before"] = q.ok("query-balloon")
        total = int(g.ok("grep MemTotal /proc/meminfo").split()[1])
        q.ok("balloon", {"value": 384 << 20})
        seen["event"] = q.wait_event("BALLOON_CHANGE", timeout=30)["data"]
        end = time.time() + 30
        while time.time() < end and q.ok("query-balloon")["actual"] != 384 << 20:
            time.sleep(0.2)
        seen["after"] = q.ok("query-balloon")
        seen["shrunk_kib"] = total - int(g.ok("grep MemTotal /proc/meminfo").split()[1])
        q.ok("qom-set", {"path": "/machine/peripheral/balloon0", "property": "guest-stats-polling-interval",
                         "value": 1})
        seen["interval"] = q.ok("qom-get", {"path": "/machine/peripheral/balloon0",
                                            "property": "guest-stats-polling-interval"})
        time.sleep(2.5)
        stats = q.ok("qom-get", {"path": "/machine/peripheral/balloon0", "property": "guest-stats"})
        seen["stat_names"] = sorted(stats["stats"])
        seen["total_reported"] = stats["stats"]["stat-total-memory"] > 0 and stats["last-update"] > 0
        seen["errors"] = [q.cmd("balloon", {"value": 0})["error"],
                          q.cmd("qom-set", {"path": "/machine/peripheral/balloon0",
                                            "property": "guest-stats-polling-interval", "value": -1})["error"],
                          q.cmd("qom-get", {"path": "/machine/peripheral/nobody", "property": "x"})["error"]]
        q.ok("balloon", {"value": 512 << 20})
        q.close()
        assert g.poweroff() == 0
    return seen


def test_balloon_over_qmp_and_qom_as_qemu(tmp_path):
    """virtio-balloon-pci: QMP balloon shrinks the guest (BALLOON_CHANGE,
    query-balloon), and the statistics libvirt polls through qom-set /
    qom-get arrive, as under QEMU."""
    ours = balloon_session(armvm_path(), tmp_path)
    ref = balloon_session("qemu-system-aarch64", tmp_path)
    assert ours["before"] == {"actual": 512 << 20}
    assert ours["event"] == {"actual": 384 << 20} or ours["event"]["actual"] < 512 << 20
    assert ours["after"] == {"actual": 384 << 20}
    assert ours["shrunk_kib"] == 128 * 1024
    assert ours["total_reported"]
    assert ours == ref


def pci_slots(emu, args, tmp_path):
    from armvm_test import Qmp
    sock = str(tmp_path / f"{emu.split('/')[-1]}-slots.qmp")
    p = subprocess.Popen([emu, "-M", "virt", "-cpu", "cortex-a57", "-display", "none", "-S",
                          "-qmp", f"unix:{sock},server=on,wait=off"] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        q = Qmp.connect_unix(sock)
        q.negotiate()
        devs = q.ok("query-pci")[0]["devices"]
        q.close()
    finally:
        p.kill()
        p.wait()
    return [(d["slot"], d["function"], d["id"]["device"]) for d in devs]


@pytest.mark.parametrize("args", [
    [],
    ["-device", "virtio-rng-pci"],
    ["-device", "virtio-rng-pci", "-nic", "user"],
    ["-device", "virtio-rng-pci", "-netdev", "user,id=n", "-net", "nic,netdev=n"],
    ["-device", "virtio-rng-pci", "-netdev", "user,id=n"],
    ["-nodefaults", "-device", "virtio-rng-pci"],
    ["-nodefaults", "-device", "virtio-rng-pci-non-transitional", "-device", "virtio-blk-pci-transitional,drive=d",
     "-drive", "if=none,id=d,file=DISK,format=raw"],
    ["-device", "virtio-rng-pci", "-net", "nic", "-net", "user", "-drive", "if=virtio,file=DISK,format=raw"],
], ids=lambda a: " ".join(a) or "defaults")
def test_default_and_shorthand_nics_take_qemus_slots(tmp_path, args):
    """QEMU's default NIC (virtio-net-pci on slirp, unless -nodefaults or a
    -nic/-net/-netdev), and the NICs of -nic/-net before the -device
    functions, -drive if=virtio after them: every function where QEMU puts it."""
    disk = tmp_path / "d.img"
    disk.write_bytes(b"\0" * 65536)
    args = [a.replace("DISK", str(disk)) for a in args]
    assert pci_slots(armvm_path(), args, tmp_path) == pci_slots("qemu-system-aarch64", args, tmp_path)


@pytest.mark.parametrize("gic,msi", [(3, "ITS-MSI"), (2, " MSI")])
def test_a_tree_dumped_by_qemu_boots_with_pci(tmp_path, gic, msi):
    """-dtb with qemu-system-aarch64's own tree (its platform bus and flash
    nodes included): the guest finds the PCIe host, a device behind a root
    port, and takes its MSI-X through the ITS or the GICv2m frame."""
    dtb = tmp_path / "qemu.dtb"
    subprocess.run(["qemu-system-aarch64", "-M", f"virt,gic-version={gic},dumpdtb={dtb}", "-cpu", "cortex-a57",
                    "-m", "512", "-smp", "2", "-nodefaults"], check=True, capture_output=True, timeout=30)
    with Guest(armvm_path(), ["-M", f"virt,gic-version={gic}", "-cpu", "cortex-a57", "-smp", "2", "-dtb", str(dtb),
                              "-device", "pcie-root-port,id=rp1,chassis=1", "-device", "virtio-rng-pci,bus=rp1"]) as g:
        assert g.ok("nproc") == "2"
        assert g.ok("ls /sys/bus/pci/devices").split() == ["0000:00:00.0", "0000:00:01.0", "0000:01:00.0"]
        assert g.ok("head -c 8 /dev/hwrng | wc -c") == "8"
        irqs = g.ok("cat /proc/interrupts")
        assert re.search(msi + r" \d+ Edge\s+virtio0-input", irqs), irqs
        assert g.poweroff() == 0
