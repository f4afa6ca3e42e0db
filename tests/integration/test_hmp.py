"""The human monitor through QMP's human-monitor-command (what `virsh
qemu-monitor-command --hmp` sends): the commands armvm has print what
QEMU's print, errors included, and act through the QMP commands."""
import os
import re
import subprocess
import time

import pytest

from armvm_test import MonitorSocket, Qmp, armvm_path, hmp_outputs

COMMANDS = ["info status", "info name", "info uuid", "stop", "cont", "info status", "stop", "bogus", "info bogus",
            "sendkey ctrl-alt-f1", "sendkey 0x1e 50", "sendkey nope", "sendkey 10", "sendkey a-", "sendkey 0xzz", "system_reset", "info kvm", "", "c",
            "info usb", "device_del nope", "device_add id=foo", "device_add ,id=x", "device_add usb-tablet,id=t1", "info usb", "device_del t1", "info usb",
            "sendkey", "stop x", "help stop", "help c", "info chardev", "s", "info status", "system_powerdown",
            # physical memory: the UART's ID registers, the empty flash, nothing
            "xp /8xw 0x09000fe0", "xp /2xw 0x0", "xp /20xb 0x100", "xp /2ow 0x09000fe0", "xp /4uh 0x10",
            "xp /2dw 0x09000fe0", "xp 0x09000fe0", "xp /2xg 0x0", "xp /x", "xp /9xq 0",
            "xp /2xw 0x100000000000", "help xp"]


def session(emu, tmp_path):
    sock = str(tmp_path / "mon.sock")  # (the same path for both: info chardev shows it)
    if os.path.exists(sock):
        os.unlink(sock)
    p = subprocess.Popen([emu, "-M", "virt", "-nodefaults", "-display", "none", "-S", "-name", "guest1",
                          "-uuid", "215ccec3-5b28-49fd-8082-4005a225806b", "-qmp", f"unix:{sock},server=on,wait=off",
                          "-device", "qemu-xhci", "-device", "usb-kbd"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        q = Qmp.connect_unix(sock, timeout=20)
        q.negotiate()
        out = [q.ok("human-monitor-command", {"command-line": c}) for c in COMMANDS]
        cpus = q.ok("human-monitor-command", {"command-line": "info cpus"})
        assert q.ok("human-monitor-command", {"command-line": "quit"}) == ""
        assert p.wait(10) == 0
        return out, cpus
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_hmp_commands_print_what_qemus_print(tmp_path):
    ours, cpus = session(armvm_path(), tmp_path)
    theirs, _ = session("qemu-system-aarch64", tmp_path)
    for c, a, b in zip(COMMANDS, ours, theirs):
        assert a == b, (c, a, b)
    assert cpus.startswith("* CPU #0: thread_id=") and cpus.endswith("\r\n")


def test_hmp_help_and_version(tmp_path):
    sock = str(tmp_path / "q.sock")
    p = subprocess.Popen([armvm_path(), "-M", "none", "-nodefaults", "-display", "none", "-S",
                          "-qmp", f"unix:{sock},server=on,wait=off"])
    try:
        q = Qmp.connect_unix(sock)
        q.negotiate()
        hmp = lambda c: q.ok("human-monitor-command", {"command-line": c})  # noqa: E731
        assert hmp("info version").startswith("7.2.0 (armvm ")
        listing = hmp("help")
        for line in ("cont|c  -- resume emulation", "sendkey keys [hold_ms] -- send keys to the VM "
                     "(e.g. 'sendkey ctrl-alt-f1', default hold time=100 ms)", "info [subcommand] -- show various "
                     "information about the system state"):
            assert line + "\r\n" in listing
        assert "info status  -- show the current VM status (running|paused)\r\n" in hmp("info")
        assert hmp("info") == hmp("help info")
    finally:
        p.kill()
        p.wait()


# Typed at the monitor: editing (backspace, cursor left, ^A/^E, delete,
# ^W), history (up arrow), errors, and commands that act.
TYPED = [b"info status\n", b"info st\x7f\x7fstatus\r", b"bogus\n", b"stop\n", b"\x1b[A\r",
         b"info stat\x1b[D\x1b[Dxx\x1b[3~\x1b[3~\x01\x05 \x17\x17info name\n", b"help cont\n", b"c\n", b"info status\n"]


def typed_session(emu, tmp_path, how):
    sock = str(tmp_path / "hmp.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    mon = (["-monitor", f"unix:{sock},server=on,wait=off"] if how == "monitor" else
           ["-chardev", f"socket,id=h,path={sock},server=on,wait=off", "-mon", "chardev=h,mode=readline"])
    p = subprocess.Popen([emu, "-M", "virt", "-nodefaults", "-display", "none", "-S", "-name", "g"] + mon,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        m = MonitorSocket(sock)
        out = [m.until()]
        for t in TYPED:
            m.send(t)
            out.append(m.until())
        m.send(b"quit\n")
        out.append(m.rest())
        assert p.wait(10) == 0
        return out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("how", ["monitor", "mon"])
def test_the_monitor_on_a_socket_edits_and_answers_as_qemus(tmp_path, how):
    """-monitor unix:... and -mon mode=readline: QEMU's greeting and prompt,
    and the same bytes back for the same keys (QEMU's line redraws)."""
    ours = typed_session(armvm_path(), tmp_path, how)
    theirs = typed_session("qemu-system-aarch64", tmp_path, how)
    assert ours[0].replace(b"7.2.0", b"V") == theirs[0].replace(b"7.2.22", b"V") == \
        b"QEMU V monitor - type 'help' for more information\r\n(qemu) "
    for t, a, b in zip(TYPED + [b"quit"], ours[1:], theirs[1:]):
        assert a == b, (t, a, b)
    assert b"VM status: running" in ours[-2] and b"\r\ng\r\n" in ours[6]


def mux_session(emu, args):
    """The emulator on a terminal (a pty): C-a c to the monitor, a command,
    back, C-a h, to the monitor again, C-a x; what the terminal got after
    each, and the exit status."""
    import pty
    import select
    import time
    m, s = pty.openpty()
    p = subprocess.Popen([emu, "-M", "virt", "-display", "none", "-S"] + args, stdin=s, stdout=s, stderr=s)
    os.close(s)

    def read(settle=0.5):
        time.sleep(settle)
        out = b""
        try:
            while select.select([m], [], [], 0.3)[0]:
                out += os.read(m, 65536)
        except OSError:  # (the emulator ended)
            pass
        return out
    try:
        got = [read(1.0)]
        for keys in (b"\x01c", b"info status\r", b"\x01c", b"\x01h", b"\x01c", b"\x01x"):
            os.write(m, keys)
            got.append(read())
        got.append(p.wait(10))
        return got
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(m)


@pytest.mark.parametrize("args", [["-nodefaults", "-serial", "mon:stdio"], ["-nographic", "-net", "none"]])
def test_serial_and_monitor_share_the_terminal_as_on_qemu(args):
    """-serial mon:stdio, and -nographic's default: the serial port and the
    monitor multiplexed on the terminal (raw mode), C-a c switching, C-a h
    listing the keys, C-a x quitting — the same bytes as QEMU's."""
    ours = mux_session(armvm_path(), args)
    theirs = mux_session("qemu-system-aarch64", args)
    assert ours[1].replace(b"7.2.0", b"V") == theirs[1].replace(b"7.2.22", b"V")
    assert ours[2:] == theirs[2:]
    assert b"VM status: paused (prelaunch)" in ours[2] and b"C-a c    switch between console and monitor" in ours[4]
    assert ours[-2] == b"QEMU: Terminated\r\n\r" and ours[-1] == 0


# ---- the CPU and memory commands, on a program with two CPUs stopped at
# its entry (-S): the same text as QEMU's, errors included

CPU_COMMANDS = [
    "info registers", "info registers -a", "info registers -b", "x/4i 0x40080000", "x /3xg 0x40080000", "p $pc",
    "print 1+2", "p/x 0x10 * 3", "p/d -5", "p/o 8", "p/c 65", "p/u 7", "p (1+2)*3", "p 7/0", "p 1 +", "p 0x",
    "cpu 1", "info registers", "cpu 5", "cpu x", "info registers 1", "info registers 5", "info registers x", "x/2xw 0x40080000", "x/s 0x40080000", "x/3i 0x40080000",
    "x/2c 0x40080000", "x/10c 0x40081008", "xp/3i 0x40080000", "xp/2c 0x40080000", "help x", "help p", "help cpu",
    "help memsave", "help pmemsave", "help print", "x", "x/i 0x100000000000", "xp/i 0x100000000000",
    "x/4xb 0x40080ffe", "x/2xg 0x100000000000", "memsave 0x40080000 16 ms.bin", "pmemsave 0x40080000 24 pms.bin",
    "memsave 0x1000000000000 16 x.bin", "memsave 0x40080000 16 /nonexistent/x.bin", "memsave 0x40080000 16",
    "pmemsave 0x40080000 8 nodir/x.bin",
]


def cpu_session(emu, tmp_path, program, extra=()):
    sock = str(tmp_path / "c.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    p = subprocess.Popen([emu, "-M", "virt", "-cpu", "cortex-a57", "-smp", "2", "-nodefaults", "-display", "none",
                          "-kernel", program, "-qmp", f"unix:{sock},server=on,wait=off"] + list(extra),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        q = Qmp.connect_unix(sock, timeout=20)
        q.negotiate()
        return q, p
    except Exception:
        p.kill()
        p.wait()
        raise


def test_hmp_cpu_and_memory_commands_print_what_qemus_print(tmp_path):
    import guest_build
    if not guest_build.available():
        pytest.skip("needs aarch64-linux-gnu-gcc and qemu-system-aarch64")
    elf = guest_build.build("gdb_target", str(tmp_path))
    results = []
    for emu in (armvm_path(), "qemu-system-aarch64"):
        work = tmp_path / os.path.basename(emu)
        work.mkdir()
        out = hmp_outputs(emu, ["-M", "virt", "-cpu", "cortex-a57", "-smp", "2", "-nodefaults", "-display", "none",
                                "-kernel", elf, "-S"], CPU_COMMANDS, str(tmp_path / "c.sock"), cwd=work)
        files = {n: (work / n).read_bytes() for n in ("ms.bin", "pms.bin", "x.bin") if (work / n).exists()}
        results.append((out, files))
    (ours, our_files), (theirs, their_files) = results
    for c, a, b in zip(CPU_COMMANDS, ours, theirs):
        assert a == b, (c, a, b)
    assert our_files == their_files and len(our_files["pms.bin"]) == 24
    assert ours[CPU_COMMANDS.index("x/3i 0x40080000")].startswith("0x40080000:  aa0003f3  mov      x19, x0\r\n")


def test_hmp_info_registers_with_the_fpu_on_matches_qemu(tmp_path):
    """The FP/SIMD registers a program left behind (it powered off; -no-shutdown
    keeps the VM for a look)."""
    import time
    import guest_build
    if not guest_build.available():
        pytest.skip("needs aarch64-linux-gnu-gcc and qemu-system-aarch64")
    elf = guest_build.build("fp", str(tmp_path))
    outs = []
    for emu in (armvm_path(), "qemu-system-aarch64"):
        q, p = cpu_session(emu, tmp_path, elf, ["-no-shutdown", "-smp", "1"])
        try:
            for _ in range(200):
                if q.ok("query-status")["status"] == "shutdown":
                    break
                time.sleep(0.05)
            outs.append(q.ok("human-monitor-command", {"command-line": "info registers"}))
            q.ok("quit")
            p.wait(10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert "FPCR=00000000 FPSR=00000000\r\nQ00=" in outs[0]
    assert outs[0] == outs[1]


def test_each_monitor_has_its_cpu(tmp_path):
    """`cpu 1` on a human monitor holds for that monitor's later commands
    (info cpus marks it), as QEMU's; human-monitor-command starts afresh."""
    outs = []
    for emu in (armvm_path(), "qemu-system-aarch64"):
        sock = str(tmp_path / "m.sock")
        if os.path.exists(sock):
            os.unlink(sock)
        p = subprocess.Popen([emu, "-M", "virt", "-cpu", "cortex-a57", "-smp", "2", "-nodefaults", "-display", "none",
                              "-S", "-monitor", f"unix:{sock},server=on,wait=off"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            m = MonitorSocket(sock)
            m.until()
            m.send(b"cpu 1\r")
            m.until()
            m.send(b"info cpus\r")
            outs.append(re.sub(r"thread_id=\d+", "thread_id=N", m.until().decode()))
            m.send(b"quit\r")
            p.wait(10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert "  CPU #0: thread_id=N\r\n* CPU #1: thread_id=N\r\n" in outs[0]
    assert outs[0] == outs[1]


BLOCK_COMMANDS = ["info block", "info block virtio1", "info block nope", "info balloon", "info irq", "info pic",
                  "info blockstats", "info blockstats x", "nmi", "info hotpluggable-cpus"]


@pytest.mark.parametrize("extra", [
    ["-drive", "file=DIR/d.qcow2,if=virtio,format=qcow2", "-drive", "file=DIR/r.img,if=virtio,format=raw,readonly=on"],
    ["-device", "virtio-balloon-pci"],
])
def test_hmp_block_and_balloon_info_print_what_qemus_print(tmp_path, extra):
    """(QEMU names its anonymous block nodes #blockNNN by a counter: the
    number is left out of the comparison.)"""
    import re
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(tmp_path / "d.qcow2"), "64M"], check=True)
    (tmp_path / "r.img").write_bytes(bytes(1 << 20))
    extra = [a.replace("DIR", str(tmp_path)) for a in extra]
    outs = [hmp_outputs(emu, ["-M", "virt", "-cpu", "cortex-a57", "-nodefaults", "-display", "none", "-S"] + extra,
                        BLOCK_COMMANDS, str(tmp_path / "b.sock"), transform=lambda t: re.sub(r"#block\d+", "#blockN", t))
            for emu in (armvm_path(), "qemu-system-aarch64")]
    for c, a, b in zip(BLOCK_COMMANDS, outs[0], outs[1]):
        assert a == b, (c, a, b)


NET_COMMANDS = ["info network", "hostfwd_add tcp::P1-:22", "hostfwd_add n1 udp:127.0.0.1:P2-:53", "info usernet",
                "hostfwd_add nope tcp::1-:22", "hostfwd_add tcp:5555-:22", "hostfwd_add foo::5555-:22",
                "hostfwd_add tcp::x-:22", "hostfwd_add tcp::5555:22", "hostfwd_add tcp::5555-x:22",
                "hostfwd_add tcp::5555-:x", "hostfwd_add tcp::5555-", "hostfwd_add a b c", "hostfwd_add",
                "hostfwd_remove foo::5", "hostfwd_remove tcp::x", "hostfwd_remove n1 udp:127.0.0.1:P2",
                "hostfwd_remove n1 udp:127.0.0.1:P2", "help hostfwd_add", "help hostfwd_remove", "info pci",
                "info network"]


def test_hmp_network_and_pci_info_print_what_qemus_print(tmp_path):
    """(info usernet's FD column is the host's descriptor number, which
    differs between the processes; only it is left out.)"""
    import re
    img = tmp_path / "d.img"
    img.write_bytes(bytes(1 << 20))
    args = ["-M", "virt", "-cpu", "cortex-a57", "-nodefaults", "-display", "none", "-S",
            "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,id=nic1",
            "-device", "virtio-net-pci,id=lonely",  # (a NIC with no netdev: no peer)
            "-netdev", "user,id=n1,net=10.1.0.0/16,restrict=on",
            "-netdev", "user,id=n2", "-device", "virtio-net-device,netdev=n2",
            "-device", "pcie-root-port,id=rp1,chassis=1", "-drive", f"file={img},if=none,id=d0,format=raw",
            "-device", "virtio-blk-pci,drive=d0,bus=rp1", "-device", "qemu-xhci"]
    import socket
    ports = []
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):  # (free now; the same for both emulators)
        with socket.socket(socket.AF_INET, kind) as so:
            so.bind(("127.0.0.1", 0))
            ports.append(str(so.getsockname()[1]))
    cmds = [c.replace("P1", ports[0]).replace("P2", ports[1]) for c in NET_COMMANDS]
    fd = re.compile(r"^(  \w+\[\w+\])\s+\d+\s+", re.M)
    outs = [hmp_outputs(emu, args, cmds, str(tmp_path / "n.sock"), transform=lambda t: fd.sub(r"\1 FD ", t))
            for emu in (armvm_path(), "qemu-system-aarch64")]
    for c, a, b in zip(cmds, outs[0], outs[1]):
        assert a == b, (c, a, b)
    assert "TCP[HOST_FORWARD]" in outs[0][3] and "UDP[HOST_FORWARD]" in outs[0][3]


HOTADD_COMMANDS = ["hostfwd_add tcp::5555-:22", "hostfwd_remove tcp::5555", "hostfwd_add n9 tcp::5555-:22",
                   "netdev_add foo,id=y", "netdev_add user", "netdev_add user,id=x", "netdev_add user,id=x",
                   "info network", "netdev_del x", "netdev_del x", "info network", "help netdev_add",
                   "drive_add 0 if=none,file=DIR/d.img,format=raw,id=dd", "info block dd",
                   "drive_add 0 if=virtio,file=DIR/d.img", "drive_add 0 if=foo,file=DIR/d.img",
                   "drive_add 0 if=none,file=/nonexistent,id=z", "drive_add x",
                   "drive_add 0 if=none,file=DIR/e.qcow2,id=dd", "drive_add -n 0 if=none,file=DIR/e.qcow2,id=ee",
                   "drive_add 0 if=none,file=DIR/e.qcow2,id=ee,cache=none", "device_add virtio-blk-pci,drive=ee,id=v1",
                   "info block", "info blockstats", "help drive_add"]


def test_hmp_netdev_add_and_drive_add_act_as_qemus(tmp_path):
    import re
    (tmp_path / "d.img").write_bytes(bytes(1 << 20))
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(tmp_path / "e.qcow2"), "16M"], check=True)
    cmds = [c.replace("DIR", str(tmp_path)) for c in HOTADD_COMMANDS]
    args = ["-M", "virt", "-cpu", "cortex-a57", "-nodefaults", "-display", "none", "-S"]
    outs = [hmp_outputs(emu, args, cmds, str(tmp_path / "h.sock"), transform=lambda t: re.sub(r"#block\d+", "#blockN", t))
            for emu in (armvm_path(), "qemu-system-aarch64")]
    for c, a, b in zip(cmds, outs[0], outs[1]):
        assert a == b, (c, a, b)
    assert outs[0][cmds.index("info block dd")].startswith("dd (#blockN): ")


def mtree_session(emu, tmp_path, args):
    sock = str(tmp_path / "mt.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    p = subprocess.Popen([emu, "-nodefaults", "-display", "none", "-S", "-qmp", f"unix:{sock},server=on,wait=off"]
                         + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        q = Qmp.connect_unix(sock, timeout=20)
        q.negotiate()
        hmp = lambda c: q.ok("human-monitor-command", {"command-line": c})  # noqa: E731
        out = [hmp("info mtree -f"), hmp("info mtree -x"), hmp("help info mtree"), hmp("info mtree")]
        q.ok("human-monitor-command", {"command-line": "quit"})
        p.wait(10)
        return out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("args", [
    ["-M", "virt,gic-version=3", "-smp", "2", "-device", "qemu-xhci", "-device", "virtio-rng-pci"],
    ["-M", "virt,gic-version=2,highmem=off", "-bios", "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd", "-m", "256"],
    ["-M", "virt,gic-version=3,its=off", "-device", "virtio-net-pci", "-device", "virtio-serial-pci,disable-legacy=on"],
    ["-M", "virt,highmem=off", "-device", "pcie-root-port,id=rp,chassis=1", "-device", "virtio-rng-pci,bus=rp",
     "-device", "pcie-root-port,chassis=2"],
])
def test_hmp_info_mtree_shows_qemus_memory_map(tmp_path, args):
    from test_pci import flat_views, tree_blocks
    ours = mtree_session(armvm_path(), tmp_path, args)
    theirs = mtree_session("qemu-system-aarch64", tmp_path, ["-cpu", "cortex-a57"] + args)
    # The flattened views (QEMU numbers them in a hash table's order).
    assert flat_views(ours[0]) == flat_views(theirs[0])
    assert "fwcfg.ctl" in ours[0] and "gpex_mmio_window @0000000010000000" in ours[0]
    assert ours[1:3] == theirs[1:3]
    # The tree (QEMU prints the spaces in a hash table's order): PCI's
    # windows as aliases, the regions they show after the spaces.
    assert tree_blocks(ours[3]) == tree_blocks(theirs[3])
    tree = ours[3]
    assert "address-space: memory\r\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\r\n" in tree
    assert "\r\n    0000000009000000-0000000009000fff (prio 0, i/o): pl011\r\n" in tree


ROM_CASES = [
    ("linux-initrd", ["-kernel", "@vmlinuz", "-initrd", "@initrd", "-append", "console=ttyAMA0"]),
    ("linux-dtb", ["-kernel", "@vmlinuz", "-dtb", "@qemu.dtb"]),
    ("elf", ["-kernel", "@hello.elf"]),
    ("bios", ["-bios", "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"]),
    ("uboot-noacpi", ["-M", "virt,acpi=off", "-bios", "/usr/lib/u-boot/qemu_arm64/u-boot.bin"]),
    ("nothing", []),
]


@pytest.mark.parametrize("name,args", ROM_CASES, ids=[c[0] for c in ROM_CASES])
def test_hmp_info_roms_lists_what_qemus_lists(tmp_path, name, args):
    """info roms: the firmware ROM, the ACPI blobs, and what the boot put in
    RAM — QEMU's boot stub for a Linux kernel (the CPU starts in it, as a
    debugger at -S sees), the kernel or an ELF's segments, the initrd, the
    DTB (1 MiB as QEMU's tree; a -dtb with QEMU's room; none for an ELF
    that leaves it no room at the start of RAM) — where QEMU puts them."""
    import guest_build
    from linux_guest import guest_dir
    if not guest_build.available():
        pytest.skip("needs aarch64-linux-gnu-gcc and qemu-system-aarch64")
    if any(a.startswith("/usr/") and not os.path.exists(a) for a in args):
        pytest.skip("firmware packages come from scripts/install-deps")
    g = guest_dir()
    files = {"@vmlinuz": os.path.join(g, "vmlinuz"), "@initrd": os.path.join(g, "initramfs.cpio.gz")}
    if "@hello.elf" in args:
        files["@hello.elf"] = guest_build.build("hello", str(tmp_path))
    if "@qemu.dtb" in args:  # (QEMU's tree through dtc: packed, as a user's -dtb is)
        dump, dtb = str(tmp_path / "dump.dtb"), str(tmp_path / "qemu.dtb")
        subprocess.run(["qemu-system-aarch64", "-M", f"virt,dumpdtb={dump}", "-cpu", "cortex-a57", "-nographic"],
                       capture_output=True, check=True)
        subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dtb", "-o", dtb, dump], check=True)
        files["@qemu.dtb"] = dtb
    args = [files.get(a, a) for a in args]
    commands = ["info roms", "x/6i 0x40000000", "xp /10xw 0x40000000"]
    outs = []
    for emu in (armvm_path(), "qemu-system-aarch64"):
        out = hmp_outputs(emu, ["-M", "virt", "-cpu", "cortex-a57", "-nodefaults", "-display", "none", "-S"] + args,
                          commands, str(tmp_path / "r.sock"))
        pc = hmp_outputs(emu, ["-M", "virt", "-cpu", "cortex-a57", "-nodefaults", "-display", "none", "-S"] + args,
                         ["info registers"], str(tmp_path / "r.sock"))[0]
        outs.append(out + [re.search(r"PC=([0-9a-f]+) X00=([0-9a-f]+)", pc).groups()])
    ours, theirs = outs
    assert ours == theirs
    if name.startswith("linux"):
        assert 'size=0x000028 mem=ram name="bootloader"' in ours[0]
        assert ours[3] == ("0000000040000000", "0000000000000000")


@pytest.mark.parametrize("args", [["-serial", "none"], ["-serial", "none", "-parallel", "none"], []],
                         ids=["serial-none", "serial-and-parallel-none", "mux"])
def test_nographic_terminal_takes_piped_monitor_commands_as_qemu(args):
    """-nographic with -serial none: the human monitor alone on the
    terminal (commands piped in before it starts are not lost); plain
    -nographic: the mux, C-a c to the monitor. info chardev lists what
    QEMU's lists (the mux and its base, the parallel port's null)."""
    script = ("" if "-serial" in args else "\x01c") + "info chardev\ninfo status\nquit\n"
    outs = []
    for emu in (armvm_path(), "qemu-system-aarch64"):
        p = subprocess.run([emu, "-M", "virt", "-cpu", "cortex-a57", "-nographic", "-S"] + args,
                           input=script.encode().decode("unicode_escape").encode(), capture_output=True, timeout=30)
        out = p.stdout.decode(errors="replace")
        outs.append((p.returncode, sorted(re.findall(r"^(\S+: filename=\S+)\r?$", out, re.M)),
                     "VM status: paused (prelaunch)" in out))
    assert outs[0] == outs[1]
    assert outs[0][0] == 0 and outs[0][2] and outs[0][1]


QOM_CONFIGS = {
    "gicv2": ["-M", "virt", "-cpu", "cortex-a57", "-kernel", "ELF"],
    "gicv3-devices": ["-M", "virt,gic-version=3", "-smp", "2", "-cpu", "cortex-a57", "-kernel", "ELF",
                      "-device", "pcie-root-port,id=rp1,chassis=1", "-drive", "if=none,id=d0,file=DISK,format=raw",
                      "-device", "virtio-blk-pci,drive=d0,bus=rp1", "-device", "virtio-rng-pci",
                      "-device", "qemu-xhci,id=usb", "-device", "usb-kbd", "-netdev", "user,id=n0",
                      "-device", "virtio-net-pci,netdev=n0"],
    "anonymous-buses": ["-M", "virt", "-cpu", "cortex-a57", "-kernel", "ELF", "-device", "virtio-serial-pci,id=vs",
                        "-device", "virtconsole,id=c0", "-device", "virtio-balloon-pci", "-device", "virtio-rng-device",
                        "-device", "pcie-root-port,chassis=2", "-device", "qemu-xhci", "-device", "usb-tablet",
                        "-drive", "if=none,id=d1,file=DISK,format=raw", "-device", "usb-storage,drive=d1"],
    "acpi-firmware": ["-M", "virt", "-cpu", "cortex-a57", "-bios", "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"],
    "max-no-its": ["-M", "virt,gic-version=3,its=off", "-cpu", "max", "-kernel", "ELF"],
    "anonymous-buses-two-of-each": ["-M", "virt", "-cpu", "cortex-a57", "-kernel", "ELF", "-device", "qemu-xhci",
                                    "-device", "qemu-xhci", "-device", "virtio-serial-pci", "-device", "virtio-serial-device",
                                    "-drive", "if=none,id=d1,file=DISK,format=raw", "-device", "usb-storage,drive=d1"],
}
QOM_COMMANDS = ["info qom-tree", "info qom-tree /machine/peripheral", "info qom-tree /machine/unattached/device[1]",
                "info qom-tree /nope", "help info qom-tree"]


@pytest.mark.parametrize("name", list(QOM_CONFIGS))
def test_hmp_info_qom_tree_is_qemus_tree(tmp_path, name):
    """QEMU's composition tree, object for object and in its order, where
    QEMU's memory regions and interrupt lines (not objects in armvm) are
    left out; qom-list walks the same tree."""
    import guest_build
    elf = guest_build.build("hello", str(tmp_path))
    disk = tmp_path / "d.img"
    disk.write_bytes(bytes(1 << 20))
    args = [{"ELF": elf, "DISK": str(disk)}.get(a, a).replace("DISK", str(disk)) for a in QOM_CONFIGS[name]]
    args += ["-nodefaults", "-display", "none", "-S"]
    drop = lambda t: "".join(l + "\r\n" for l in t.split("\r\n")[:-1]
                             if not l.endswith(("(memory-region)", "(irq)")))
    ours = hmp_outputs(armvm_path(), args, QOM_COMMANDS, str(tmp_path / "q.sock"))
    theirs = hmp_outputs("qemu-system-aarch64", args, QOM_COMMANDS, str(tmp_path / "q.sock"), transform=drop)
    for c, a, b in zip(QOM_COMMANDS, ours, theirs):
        assert a == b, (c, a, b)
    assert "/device[0] (" in ours[0] and "/virt.flash1 (cfi.pflash01)" in ours[0]
    # qom-list: the children of a node as child<TYPE> properties
    sock = str(tmp_path / "l.sock")
    p = subprocess.Popen([armvm_path()] + args + ["-qmp", f"unix:{sock},server=on,wait=off"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        q = Qmp.connect_unix(sock, timeout=20)
        q.negotiate()
        props = {x["name"]: x["type"] for x in q.ok("qom-list", {"path": "/machine/unattached"})}
        assert props["sysbus"] == "child<System>" and props["device[0]"].endswith("-arm-cpu>")
        assert q.cmd("qom-list", {"path": "/machine/nope"})["error"]["class"] == "DeviceNotFound"
        q.ok("quit")
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()


QTREE_CONFIGS = {
    "gicv2": ["-M", "virt", "-cpu", "cortex-a57", "-kernel", "ELF"],
    "gicv3-pci-usb-virtio": ["-M", "virt,gic-version=3", "-cpu", "cortex-a57", "-kernel", "ELF",
                             "-device", "pcie-root-port,id=rp1,chassis=1", "-drive", "if=none,id=d0,file=DISK,format=raw",
                             "-device", "virtio-blk-pci,drive=d0,bus=rp1", "-device", "qemu-xhci,id=usb",
                             "-device", "usb-kbd", "-device", "virtio-rng-pci",
                             "-drive", "if=none,id=d2,file=DISK2,format=raw", "-device", "virtio-blk-device,drive=d2"],
    "virtio-serial-usb-storage": ["-M", "virt", "-cpu", "cortex-a57", "-kernel", "ELF", "-device", "virtio-serial-pci,id=vs",
                                  "-device", "virtconsole,id=c0", "-device", "virtserialport,id=p1,name=x",
                                  "-device", "virtconsole", "-drive", "if=none,id=d1,file=DISK,format=raw",
                                  "-device", "qemu-xhci", "-device", "usb-storage,drive=d1,id=us",
                                  "-device", "virtio-serial-device,id=vs2", "-device", "virtconsole,bus=vs2.0",
                                  "-device", "virtio-rng-device,id=rng2", "-device", "virtio-rng-device"],
    # a port with no bus= goes where QEMU's bus search finds a virtio-serial
    # bus first: on virtio-mmio before PCI, newest first, depth first
    "serial-bus-search": ["-M", "virt", "-cpu", "cortex-a57", "-kernel", "ELF", "-device", "virtio-serial-pci,id=vs",
                          "-device", "virtconsole,id=c0", "-device", "virtio-serial-device", "-device", "virtconsole",
                          "-device", "pcie-root-port,id=rp,chassis=1", "-device", "virtio-serial-pci,bus=rp,id=vs3",
                          "-device", "virtserialport,id=c9"],
    # anonymous buses counted per type (usb-bus.1, virtio-serial-bus.1 as bus=),
    # a USB device with no bus= on the controller QEMU's search finds first
    "anonymous-buses": ["-M", "virt", "-cpu", "cortex-a57", "-kernel", "ELF", "-device", "qemu-xhci",
                        "-device", "qemu-xhci", "-device", "usb-kbd,bus=usb-bus.1", "-device", "virtio-serial-pci",
                        "-device", "virtio-serial-device", "-device", "virtconsole,bus=virtio-serial-bus.1",
                        "-drive", "if=none,id=d1,file=DISK,format=raw", "-device", "usb-storage,drive=d1"],
    # anonymous root ports' buses are pcie.0, pcie.1 (bus=pcie.0 still the root bus)
    "anonymous-root-ports": ["-M", "virt", "-cpu", "cortex-a57", "-kernel", "ELF", "-device", "pcie-root-port,chassis=1",
                             "-device", "pcie-root-port,chassis=2", "-device", "virtio-rng-pci,bus=pcie.1",
                             "-device", "virtio-balloon-pci,bus=pcie.0"],
    "acpi-firmware-net": ["-M", "virt", "-cpu", "cortex-a57", "-bios", "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd",
                          "-device", "qemu-xhci", "-device", "usb-tablet,id=tab", "-netdev", "user,id=n0",
                          "-device", "virtio-net-pci,netdev=n0,id=nic"],
}


@pytest.mark.parametrize("name", list(QTREE_CONFIGS))
def test_hmp_info_qtree_has_qemus_buses_and_devices(tmp_path, name):
    """info qtree: QEMU's buses, devices (newest first on each bus), ids,
    PCI identity lines and nesting; and each device's own lines (its
    properties as set or settled, BARs, MMIO regions, interrupt lines)
    as QEMU prints them. armvm shows the properties it implements, so its
    lines for a device are a part of QEMU's, in QEMU's form."""
    import guest_build
    elf = guest_build.build("hello", str(tmp_path))
    for d in ("d.img", "d2.img"):
        (tmp_path / d).write_bytes(bytes(1 << 20))
    subst = {"ELF": elf}
    args = [subst.get(a, a).replace("DISK2", str(tmp_path / "d2.img")).replace("DISK", str(tmp_path / "d.img"))
            for a in QTREE_CONFIGS[name]] + ["-nodefaults", "-display", "none", "-S"]
    keep = re.compile(r"^ *(bus: |type |dev: |class .*, addr )")
    shape = lambda t: [l for l in t.split("\r\n") if keep.match(l)]
    ours = hmp_outputs(armvm_path(), args, ["info qtree"], str(tmp_path / "q.sock"))[0]
    theirs = hmp_outputs("qemu-system-aarch64", args, ["info qtree"], str(tmp_path / "q.sock"))[0]
    assert shape(ours) == shape(theirs)
    assert len(shape(ours)) > 100
    ours_own, theirs_own = qtree_own_lines(ours), qtree_own_lines(theirs)
    assert len(ours_own) == len(theirs_own)
    for (dev, lines), (ref_dev, ref_lines) in zip(ours_own, theirs_own):
        assert dev == ref_dev and set(lines) <= set(ref_lines), (dev, set(lines) - set(ref_lines))
    # the board's devices where the memory map puts them; properties
    for region in ("0000000009010000/0000000000001000", "0000000009020000/0000000000000008",
                   "000000000a003e00/0000000000000200"):
        assert f"    mmio {region}\r\n" in ours
    assert sum(len(lines) for _, lines in ours_own) > 120


def qtree_own_lines(text):
    """Each device of an info qtree (in order) and its own lines: those
    right under its dev: line, before a bus it brings."""
    out, cur, depth = [], None, 0
    for line in text.split("\r\n"):
        ind = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if body.startswith("dev: "):
            cur, depth = [], ind
            out.append((body, cur))
        elif cur is not None and ind == depth + 2 and not body.startswith(("bus: ", "type ", "class ")):
            cur.append(body)
        elif cur is not None and (ind <= depth or body.startswith("bus: ")):
            cur = None
    return out


def test_info_mem_and_tlb_show_the_guests_page_tables(tmp_path):
    """info mem and info tlb (QEMU has neither for Arm; armvm walks the
    current CPU's tables as the CPU does): in a Linux guest the kernel's
    text is mapped executable at EL1 only, a user program's text readable
    and executable at EL0, and reading through the VA (x) gives what the
    PA it names holds (xp). With the MMU off, both say so."""
    from linux_guest import Guest
    sock = str(tmp_path / "m.sock")
    with Guest(armvm_path(), ["-cpu", "cortex-a57", "-qmp", f"unix:{sock},server=on,wait=off"]) as g:
        text = int(g.ok("grep ' T _stext$' /proc/kallsyms").split()[0], 16)
        q = Qmp.connect_unix(sock, timeout=20)
        q.negotiate()
        hmp = lambda c: q.ok("human-monitor-command", {"command-line": c}).replace("\r", "")  # noqa: E731
        # (stopped in user space or in the kernel's entry trampoline, KPTI's
        # tables do not map the kernel: stop again elsewhere)
        for _ in range(50):
            q.ok("stop")
            mem, tlb = hmp("info mem"), hmp("info tlb")
            rows = [l.split() for l in mem.splitlines()[2:]]
            assert mem.startswith("vaddr            paddr            size             attr\n---------------- ")
            hit = [r for r in rows if int(r[0], 16) <= text < int(r[0], 16) + int(r[2], 16)]
            if hit:
                break
            q.ok("cont")
            time.sleep(0.05)
        assert len(hit) == 1 and hit[0][3][:6] == "r-x---", hit  # (kernel text: EL1 only; nG under KPTI)
        pa = int(hit[0][1], 16) + text - int(hit[0][0], 16)
        assert hmp(f"x /4x {text:#x}").split(":")[1] == hmp(f"xp /4x {pa:#x}").split(":")[1]
        # the page or block holding it in info tlb, with the same PA
        lines = tlb.splitlines()
        assert len(lines) > 100 and all(re.match(r"^[0-9a-f]{16}: [0-9a-f]{16} +\d+[KMG] [-rwxg]{7}$", l)
                                        for l in lines[:50])
        # the shell that ran the command: user text at EL0 (not global: it has an ASID)
        assert any(r[3] in ("r--r-x-", "r-xr-x-") for r in rows if int(r[0], 16) < 1 << 47), rows[:5]
        q.ok("cont")
        q.close()
        g.kill()
    assert hmp_outputs(armvm_path(), ["-M", "virt", "-display", "none", "-nodefaults", "-S"], ["info mem", "info tlb"],
                       str(tmp_path / "h.sock")) == ["No translation: the MMU is off (virtual addresses are physical)\r\n"] * 2
