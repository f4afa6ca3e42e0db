"""Domains under the real libvirt 9.0 with armvm as the emulator: the
Debian arm64 guest of scripts/fetch-guest boots with a virtio disk and a
user-mode NIC, and its whole life is driven through virsh, each step
checked by what a user sees (the serial console through `virsh console`,
the domain's state, the disk image afterwards)."""
import os
import re
import subprocess
import time

import pytest

from armvm_test import armvm_path
from domain import Console, copy_guest, domain_xml, virsh
from libvirt_daemons import domain_daemons

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="libvirtd must run as root")

@pytest.fixture(scope="module")
def rig():
    with domain_daemons() as d:
        try:
            copy_guest(d.dir)
            yield d, d.install_emulator(armvm_path())
        finally:
            for name in ("armvm-life", "armvm-variant", "armvm-hotplug"):
                virsh("destroy", name, check=False)
                virsh("undefine", name, check=False)


def define(d, emu, name, **kw):
    with open(os.path.join(d.dir, name + ".img"), "wb") as f:
        f.truncate(16 << 20)
    xml = os.path.join(d.dir, name + ".xml")
    with open(xml, "w") as f:
        f.write(domain_xml(name, emu, d.dir, **kw))
    virsh("define", xml)


def state(name):
    return virsh("domstate", name).stdout.strip()


def wait_state(name, want, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if state(name) == want:
            return time.time()
        time.sleep(0.2)
    raise AssertionError(f"{name} is '{state(name)}', not '{want}', after {timeout} s")


def start_to_shell(name):
    t0 = time.time()
    virsh("start", name)
    c = Console(name)
    c.wait_ready()
    return c, time.time() - t0


def uptime(c):
    return float(c.cmd("cat /proc/uptime").split()[0])


def test_a_domain_lives_its_whole_life_under_libvirt(rig):
    d, emu = rig
    name = "armvm-life"
    define(d, emu, name)
    c, seconds = start_to_shell(name)
    print(f"virsh start to a shell: {seconds:.1f} s")
    try:
        assert state(name) == "running"
        assert c.cmd("echo hello-$((6*7))") == "hello-42"
        assert c.cmd("ls /sys/bus/virtio/devices") == "virtio0  virtio1"  # the disk and the NIC
        c.cmd("echo armvm-under-libvirt > /tmp/m; dd if=/tmp/m of=/dev/vda bs=512 seek=10 conv=sync,fsync 2>/dev/null")

        # suspend stops the guest, its clock too; resume continues it
        before = uptime(c)
        virsh("suspend", name)
        assert state(name) == "paused"
        time.sleep(3)
        virsh("resume", name)
        assert state(name) == "running"
        assert uptime(c) - before < 1.5

        # reset reboots it to a shell again
        c.cmd("echo not-yet-reset > /tmp/flag")
        virsh("reset", name)
        c.wait_ready()
        assert c.cmd("cat /tmp/flag 2>/dev/null || echo fresh") == "fresh"

        # shutdown powers it off cleanly
        virsh("shutdown", name)
        wait_state(name, "shut off", 120)
    finally:
        c.close()
    with open(os.path.join(d.dir, name + ".img"), "rb") as f:
        f.seek(10 * 512)
        assert f.read(20) == b"armvm-under-libvirt\n"

    # start again, then destroy ends it within 10 s
    c, _ = start_to_shell(name)
    c.close()
    t0 = time.time()
    virsh("destroy", name)
    assert state(name) == "shut off" and time.time() - t0 < 10
    assert subprocess.run(["pgrep", "-f", f"guest={name}"], capture_output=True).stdout == b""

    # a libvirtd restart reconnects to the running domain
    c, _ = start_to_shell(name)
    try:
        d.restart_libvirtd()
        assert re.search(rf"\b{name}\s+running", virsh("list").stdout)
        virsh("suspend", name)
        assert state(name) == "paused"
        virsh("resume", name)
        c.close()  # (the old console's stream went with the old libvirtd)
        c = Console(name)
        assert c.cmd("echo still-here") == "still-here"
    finally:
        c.close()
        virsh("destroy", name)
    virsh("undefine", name)


VARIANTS = [(3, 1, None), (2, 4, None), (2, 1, False)]


@pytest.mark.parametrize("gic,vcpus,pmu", VARIANTS, ids=["gicv3", "smp4", "pmu-off"])
def test_domain_variants_reach_a_shell(rig, gic, vcpus, pmu):
    d, emu = rig
    name = "armvm-variant"
    define(d, emu, name, gic=gic, vcpus=vcpus, pmu=pmu)
    c, _ = start_to_shell(name)
    try:
        assert c.cmd("nproc") == str(vcpus)
        v3 = c.cmd("dmesg | grep -c 'GICv3:' || true")
        assert (v3 != "0") == (gic == 3), v3
        perf = c.cmd("dmesg | grep -i 'hw perfevents' || true")
        assert ("PMU" in perf or "perfevents" in perf) == (pmu is not False), perf
        if vcpus > 1:
            # INCIDENTS.md #5: virsh reset while every vCPU is busy resets
            # each device and CPU exactly once, and the guest boots again.
            c.cmd(f"for i in $(seq {vcpus}); do (while :; do :; done) & done")
            time.sleep(1)
            virsh("reset", name)
            c.wait_ready()
            assert c.cmd("nproc") == str(vcpus)
            import json
            r = json.loads(virsh("qemu-monitor-command", name, '{"execute":"x-armvm-query-resets"}').stdout)["return"]
            assert r["machine"] == 2 and r["cpus"] == [2] * vcpus
            assert {d["resets"] for d in r["devices"]} == {2}
    finally:
        c.close()
        virsh("destroy", name)
        virsh("undefine", name)


def test_a_domain_with_a_tap_nic_reaches_the_host(rig):
    """<interface type='ethernet'>: libvirt creates the TAP device and hands
    armvm its fd (with a virtio-net header); guest and host talk over it."""
    d, emu = rig
    name = "armvm-variant"
    tap = f"avlt{os.getpid() % 10000}"
    subnet = "10.214.%d" % (os.getpid() % 200)
    define(d, emu, name, tap=tap)
    c, _ = start_to_shell(name)
    try:
        assert tap in virsh("domiflist", name).stdout
        subprocess.run(["ip", "addr", "add", f"{subnet}.1/24", "dev", tap], check=True)
        subprocess.run(["ip", "link", "set", tap, "up"], check=True)
        c.cmd(f"ip link set eth0 up; ip addr add {subnet}.2/24 dev eth0")
        c.cmd("mkdir -p /www; echo over-libvirt-tap > /www/index.html; httpd -p 8080 -h /www")
        import urllib.request
        body = urllib.request.urlopen(f"http://{subnet}.2:8080/index.html", timeout=30).read()
        assert body == b"over-libvirt-tap\n"
        assert c.cmd(f"ping -c 1 -W 5 {subnet}.1 >/dev/null && echo reachable") == "reachable"
    finally:
        c.close()
        virsh("destroy", name)
        virsh("undefine", name)


def test_virsh_attach_and_detach_a_disk_and_a_nic_on_a_running_domain(rig):
    """libvirt's hot-plug: attach-device gives the running guest a disk and
    a NIC on free pcie-root-ports (blockdev-add, netdev_add, device_add);
    detach-device takes them away again (device_del, the guest lets go,
    DEVICE_DELETED); the data written through the hot disk is in its file."""
    d, emu = rig
    name = "armvm-hotplug"
    ports = "<controller type='pci' index='0' model='pcie-root'/>" + "".join(
        f"<controller type='pci' index='{i}' model='pcie-root-port'/>" for i in range(1, 6))
    define(d, emu, name, gic=3, extra=ports)
    hot = os.path.join(d.dir, "hot.img")
    with open(hot, "wb") as f:
        f.write(b"hot-disk-label\n")
        f.truncate(8 << 20)
    os.chmod(hot, 0o666)
    disk_xml = os.path.join(d.dir, "hot-disk.xml")
    with open(disk_xml, "w") as f:
        f.write(f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                f"<source file='{hot}'/><target dev='vdb' bus='virtio'/></disk>")
    nic_xml = os.path.join(d.dir, "hot-nic.xml")
    with open(nic_xml, "w") as f:
        f.write("<interface type='user'><mac address='52:54:00:aa:00:01'/><model type='virtio'/></interface>")
    c, _ = start_to_shell(name)
    try:
        assert c.cmd("ls /sys/class/block | grep -c '^vd'") == "1"
        virsh("attach-device", name, disk_xml)
        virsh("attach-device", name, nic_xml)
        assert "vdb" in virsh("domblklist", name).stdout
        assert "52:54:00:aa:00:01" in virsh("domiflist", name).stdout
        c.cmd("for i in $(seq 100); do [ -b /dev/vdb ] && [ -e /sys/class/net/eth1 ] && break; sleep 0.1; done")
        assert c.cmd("head -c 14 /dev/vdb") == "hot-disk-label"
        assert c.cmd("cat /sys/class/net/eth1/address") == "52:54:00:aa:00:01"
        c.cmd("echo via-virsh-attach | dd of=/dev/vdb bs=512 seek=4 conv=fsync 2>/dev/null")
        virsh("detach-device", name, disk_xml, timeout=60)
        virsh("detach-device", name, nic_xml, timeout=60)
        end = time.time() + 30
        while time.time() < end and ("vdb" in virsh("domblklist", name).stdout or
                                     "52:54:00:aa:00:01" in virsh("domiflist", name).stdout):
            time.sleep(0.5)
        assert "vdb" not in virsh("domblklist", name).stdout
        assert "52:54:00:aa:00:01" not in virsh("domiflist", name).stdout
        assert c.cmd("[ -b /dev/vdb ] || [ -e /sys/class/net/eth1 ] && echo still || echo gone") == "gone"
        assert c.cmd("echo alive") == "alive"
    finally:
        c.close()
        virsh("destroy", name)
        virsh("undefine", name)
    with open(hot, "rb") as f:
        f.seek(4 * 512)
        assert f.read(16) == b"via-virsh-attach"

