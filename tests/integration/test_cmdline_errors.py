"""Invalid command lines against the real binary: one line in QEMU's shape
on stderr, exit 1, nothing left behind, never a hang or a crash."""
import os
import subprocess

import pytest

from armvm_test import armvm_path, run_armvm, stderr_lines, wait_pid

BAD = [
    ["-machine", "virt,gic-version=5"],
    ["-cpu", "foo"],
    ["-smp", "9"],
    ["-m", "foo"],
    ["-foo"],
    ["-device", "virtio-gpu-pci"],
    ["-chardev", "socket,id=x"],
    ["-mon", "chardev=nope,mode=control"],
    ["-object", '{"qom-type":'],
    ["-accel", "kvm"],
    ["-cpu", "host", "-S"],
    ["-machine", "none", "-qmp", "unix:/nonexistent-dir/x.sock,server=on,wait=off"],
]


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a) for a in BAD])
def test_bad_option_fails_cleanly(tmp_path, args):
    sock = tmp_path / "q.sock"
    pid = tmp_path / "q.pid"
    full = ["-qmp", f"unix:{sock},server=on,wait=off", "-pidfile", str(pid)] + args
    p = run_armvm(full, timeout=5, cwd=str(tmp_path))
    assert p.returncode == 1
    lines = stderr_lines(p)
    assert len(lines) == 1 and lines[0].startswith("armvm: -"), p.stderr
    assert p.stdout == ""
    assert os.listdir(tmp_path) == []


def test_bad_option_with_daemonize_fails_in_the_parent(tmp_path):
    p = run_armvm(["-machine", "virt,gic-version=5", "-daemonize", "-pidfile", str(tmp_path / "p")])
    assert p.returncode == 1
    assert stderr_lines(p) == ["armvm: -machine virt,gic-version=5: gic-version must be 2, 3, host or max"]
    assert os.listdir(tmp_path) == []


def test_help_and_version():
    p = run_armvm(["-version"])
    assert p.returncode == 0 and p.stdout.startswith("QEMU emulator version 7.2.0 (armvm ")
    p = run_armvm(["-machine", "help"])
    assert p.returncode == 0 and "virt-7.2" in p.stdout and "none" in p.stdout
    p = run_armvm(["-cpu", "help"])
    assert p.returncode == 0 and "neoverse-n1" in p.stdout
    p = run_armvm(["-accel", "help"])
    assert p.returncode == 0 and "tcg" in p.stdout
    p = run_armvm(["-h"])
    assert p.returncode == 0 and "-machine" in p.stdout


def test_accel_fallback_message(tmp_path):
    p = run_armvm(["-machine", "none,accel=kvm:tcg", "-S", "-qmp", f"unix:{tmp_path}/s,server=on,wait=off",
                   "-daemonize", "-pidfile", f"{tmp_path}/p"])
    assert p.returncode == 0
    assert p.stderr.splitlines() == [
        "armvm: -machine none,accel=kvm:tcg: KVM cannot run arm64 guests on this host",
        "armvm: falling back to tcg"]
    pid = int(open(f"{tmp_path}/p").read())
    os.kill(pid, 15)
    assert wait_pid(pid) == 0


def test_kvm_cpu_properties_need_kvm():
    # QEMU's -cpu host properties exist only on a KVM vCPU
    for prop in ("kvm-no-adjvtime=on", "kvm-steal-time=off"):
        p = run_armvm(["-M", "virt", "-cpu", "max," + prop, "-display", "none", "-S"])
        assert p.returncode == 1
        name = prop.split("=")[0]
        assert stderr_lines(p) == [f"armvm: -cpu max,{prop}: Property 'max-arm-cpu.{name}' not found"]
    p = run_armvm(["-M", "virt", "-cpu", "cortex-a57,sve=off", "-display", "none", "-S"])
    assert stderr_lines(p) == ["armvm: -cpu cortex-a57,sve=off: Property 'cortex-a57-arm-cpu.sve' not found"]
    p = run_armvm(["-M", "virt", "-cpu", "max,sve=on", "-display", "none", "-S"])
    assert stderr_lines(p) == ["armvm: -cpu max,sve=on: 'sve' feature not supported by TCG"]
    p = run_armvm(["-M", "virt", "-cpu", "max,kvm-steal-time=maybe", "-display", "none", "-S"])
    assert p.returncode == 1 and "kvm-steal-time" in p.stderr


def test_max_properties_are_max_only_and_consistent():
    p = run_armvm(["-M", "virt", "-cpu", "cortex-a57,pauth=off", "-display", "none", "-S"])
    assert p.returncode == 1
    assert stderr_lines(p) == ["armvm: -cpu cortex-a57,pauth=off: Property 'cortex-a57-arm-cpu.pauth' not found"]
    p = run_armvm(["-M", "virt", "-cpu", "max,pauth=off,pauth-impdef=on", "-display", "none", "-S"])
    assert p.returncode == 1
    assert stderr_lines(p) == ["armvm: -cpu max,pauth=off,pauth-impdef=on: cannot enable pauth-impdef without pauth"]
    p = run_armvm(["-M", "virt", "-cpu", "cortex-a57,lpa2=off", "-display", "none", "-S"])
    assert stderr_lines(p) == ["armvm: -cpu cortex-a57,lpa2=off: Property 'cortex-a57-arm-cpu.lpa2' not found"]
    # SVE vector lengths and SME: QEMU's max has them, armvm's TCG not (off
    # is accepted: what the CPU is)
    p = run_armvm(["-M", "virt", "-cpu", "max,sve256=on", "-display", "none", "-S"])
    assert stderr_lines(p) == ["armvm: -cpu max,sve256=on: cannot enable sve256",
                               "SVE must be enabled to enable vector lengths.", "Add sve=on to the CPU property list."]
    p = run_armvm(["-M", "virt", "-cpu", "max,sme=on", "-display", "none", "-S"])
    assert stderr_lines(p) == ["armvm: -cpu max,sme=on: 'sme' feature not supported by TCG"]
    p = run_armvm(["-M", "virt", "-cpu", "cortex-a57,sme=off", "-display", "none", "-S"])
    assert stderr_lines(p) == ["armvm: -cpu cortex-a57,sme=off: Property 'cortex-a57-arm-cpu.sme' not found"]
    for ok in ("max,pauth=off", "max,pauth-impdef=on", "max,pauth=on,pauth-impdef=off", "max,lpa2=off",
               "max,sve=off,sve128=off,sve2048=off,sme=off,sme_fa64=off,sme512=off"):
        p = subprocess.run([armvm_path(), "-M", "virt", "-cpu", ok, "-display", "none", "-S", "-qmp", "stdio"],
                           input='{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n', capture_output=True,
                           text=True, timeout=10)
        assert p.returncode == 0, (ok, p.stderr)


# Device, fw_cfg and netdev mistakes: the same message as QEMU's, word for word.
SAME_AS_QEMU = [
    ["-M", "virt,gic-version=3,its=off", "-device", "pcie-root-port,id=rp,chassis=1"],
    ["-device", "virtconsole"],
    ["-device", "virtio-serial-device", "-device", "virtconsole,chardev=nope"],
    ["-device", "virtio-serial-device", "-device", "virtserialport,nr=0"],
    ["-device", "virtio-serial-device,max_ports=2", "-device", "virtserialport,nr=2"],
    ["-device", "virtio-serial-device,max_ports=1", "-device", "virtconsole", "-device", "virtconsole"],
    ["-device", "virtio-serial-device", "-chardev", "null,id=c", "-device", "virtconsole,chardev=c",
     "-device", "virtconsole,chardev=c"],
    ["-device", "virtio-serial-device", "-device", "virtserialport,name=a", "-device", "virtserialport,name=a"],
    ["-device", "virtio-serial-device,max_ports=0"],
    ["-device", "virtio-serial-device,max_ports=600"],
    ["-fw_cfg", "name=opt/x"],
    ["-fw_cfg", "name=opt/x,file=/nonexistent"],
    ["-fw_cfg", "opt/x,string=a", "-fw_cfg", "opt/x,string=b"],
    ["-fw_cfg", "name=opt/" + "a" * 60 + ",string=1"],
    ["-netdev", "tap,id=n,fd=99"],
    ["-netdev", "tap,id=n,fd=0"],
    ["-netdev", "tap,id=n,fd=3,ifname=x"],
    ["-netdev", "tap,ifname=x"],
    ["-bios", "/nonexistent"],
    ["-device", "virtio-rng-pci,ioeventfd=maybe"],
    ["-device", '{"driver":"virtio-rng-pci","ioeventfd":3}'],
    ["-device", "virtio-rng-pci,multifunction=2"],
    # cache= and aio= of -drive and of the file driver
    ["-drive", "file=/dev/null,if=none,format=raw,cache=foo"],
    ["-drive", "file=/dev/null,if=none,format=raw,aio=foo"],
    ["-drive", "file=/dev/null,if=none,format=raw,aio=native"],
    ["-drive", "file=/dev/null,if=none,format=raw,cache=writeback,aio=native"],
    ["-drive", "file=/dev/null,if=none,format=raw,cache.direct=maybe"],
    ["-blockdev", "driver=file,filename=/dev/null,node-name=f,aio=foo"],
    ["-blockdev", "driver=file,filename=/dev/null,node-name=f,aio=native"],
    ["-blockdev", "driver=file,filename=/dev/null,node-name=f,cache.direct=maybe"],
    ["-blockdev", "driver=file,filename=/dev/null,node-name=f,cache.no-flush=2"],
    # option ROMs (romfile, romsize, rombar)
    ["-device", "virtio-rng-pci,romfile=/nonexistent.rom"],
    ["-device", "virtio-rng-pci,romfile=/dev/null"],
    ["-device", "virtio-rng-pci,romfile=/"],
    ["-device", "virtio-rng-pci,romfile=/usr/lib/ipxe/qemu/efi-virtio.rom,romsize=4096"],
    ["-device", "virtio-rng-pci,romfile=/usr/lib/ipxe/qemu/efi-virtio.rom,romsize=0"],
    ["-device", "virtio-rng-pci,romfile=/usr/lib/ipxe/qemu/efi-virtio.rom,romsize=300000"],
    ["-netdev", "user,id=n", "-device", "virtio-net-pci,netdev=n,romsize=65536"],
    ["-device", "qemu-xhci,rombar=x"],
    ["-device", "qemu-xhci,romsize=-1"],
    ["-drive", "if=none,id=d,file=/tmp,format=raw"],
]


@pytest.mark.parametrize("args", SAME_AS_QEMU, ids=[" ".join(a) for a in SAME_AS_QEMU])
def test_device_errors_read_as_qemus(args):
    import subprocess
    common = ["-M", "virt", "-nographic", "-nodefaults", "-S"]
    ref = subprocess.run(["qemu-system-aarch64"] + common + args, capture_output=True, text=True, timeout=30,
                         stdin=subprocess.DEVNULL)
    ours = run_armvm(common + args, timeout=30)
    assert ref.returncode == 1 and ours.returncode == 1, ours.stderr
    assert ours.stderr == ref.stderr.replace("qemu-system-aarch64: ", "armvm: ")


# -nographic puts the serial port, the monitor and the parallel port on the
# terminal unless each went elsewhere (-serial none and -parallel none
# count): with -daemonize that is refused, as QEMU refuses it.
NOGRAPHIC_DAEMON = [
    ([], False),
    (["-serial", "none"], False),
    (["-serial", "null", "-parallel", "none"], False),
    (["-monitor", "none", "-parallel", "none"], False),
    (["-serial", "none", "-monitor", "null", "-parallel", "none"], True),
    (["-serial", "null", "-monitor", "none", "-parallel", "null"], True),
    (["-nodefaults"], True),
]


@pytest.mark.parametrize("args,ok", NOGRAPHIC_DAEMON, ids=[" ".join(a) or "plain" for a, _ in NOGRAPHIC_DAEMON])
def test_nographic_with_daemonize_as_qemu(tmp_path, args, ok):
    import os
    import signal
    import subprocess
    for emu in ("qemu-system-aarch64", None):
        pid = tmp_path / f"{'q' if emu else 'a'}.pid"  # (QEMU unlinks its pidfile when it exits)
        argv = ["-M", "virt", "-cpu", "cortex-a57", "-S", "-nographic", "-daemonize", "-pidfile", str(pid)] + args
        p = (subprocess.run([emu] + argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
             if emu else run_armvm(argv, timeout=30))
        try:
            if ok:
                assert p.returncode == 0 and pid.exists(), (emu, p.stderr)
            else:
                name = "qemu-system-aarch64" if emu else "armvm"
                assert (p.returncode, p.stderr) == (1, f"{name}: -nographic cannot be used with -daemonize\n"), emu
        finally:
            if pid.exists():
                os.kill(int(pid.read_text()), signal.SIGTERM)


def test_no_room_for_the_dtb_after_the_initrd_as_qemu(tmp_path):
    # (an initrd that fills RAM from its place, RAM/2, to the end: the
    # Linux boot's DTB has nowhere to go)
    import subprocess
    from linux_guest import guest_dir
    big = tmp_path / "big.initrd"
    with open(big, "wb") as f:
        f.truncate(63900 * 1024)
    args = ["-M", "virt", "-cpu", "cortex-a57", "-m", "128", "-nodefaults", "-display", "none", "-S",
            "-kernel", os.path.join(guest_dir(), "vmlinuz"), "-initrd", str(big)]
    ref = subprocess.run(["qemu-system-aarch64"] + args, capture_output=True, text=True, timeout=30)
    ours = run_armvm(args, timeout=30)
    assert ref.returncode == ours.returncode == 1
    assert ours.stderr == ref.stderr.replace("qemu-system-aarch64: ", "armvm: ") == \
        "armvm: Not enough space for DTB after kernel/initrd\n"
