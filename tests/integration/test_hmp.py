"""The human monitor through QMP's human-monitor-command (what `virsh
qemu-monitor-command --hmp` sends): the commands armvm has print what
QEMU's print, errors included, and act through the QMP commands."""
import os
import subprocess

from armvm_test import Qmp, armvm_path

COMMANDS = ["info status", "info name", "info uuid", "stop", "cont", "info status", "stop", "bogus", "info bogus",
            "sendkey ctrl-alt-f1", "sendkey 0x1e 50", "sendkey nope", "system_reset", "info kvm", "", "c",
            "info usb", "device_del nope", "device_add usb-tablet,id=t1", "info usb", "device_del t1", "info usb",
            "sendkey", "stop x", "help stop", "help c", "info chardev", "s", "info status", "system_powerdown"]


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
