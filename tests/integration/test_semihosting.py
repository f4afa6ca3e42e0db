"""Semihosting (-semihosting, -semihosting-config): a bare-metal program
that does all its I/O through HLT #0xF000 (console, command line, heap
layout, host files, ":tt", ":semihosting-features", clocks, exit status)
behaves on armvm as on qemu-system-aarch64: the same console text on
stderr, the same ":tt" output on stdout, the same files, the same exit
status."""
import subprocess

import pytest

import guest_build
from armvm_test import armvm_path

pytestmark = pytest.mark.skipif(not guest_build.available(), reason="needs aarch64-linux-gnu-gcc and qemu-system-aarch64")


def run(emu, elf, cwd, extra):
    cwd.mkdir(exist_ok=True)
    return subprocess.run([emu, "-M", "virt", "-cpu", "cortex-a57", "-display", "none", "-nodefaults", "-serial", "null",
                           "-kernel", elf] + extra, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_semihosting_program_behaves_as_on_qemu(tmp_path):
    elf = guest_build.build("semihost", str(tmp_path))
    ours = run(armvm_path(), elf, tmp_path / "a", ["-semihosting", "-append", "a b c"])
    theirs = run("qemu-system-aarch64", elf, tmp_path / "q", ["-semihosting", "-append", "a b c"])
    assert ours.returncode == theirs.returncode == 3  # SYS_EXIT_EXTENDED's status
    assert "hello from semihosting\nX\n" in ours.stderr
    assert f"cmdline: [{elf} a b c]\n" in ours.stderr
    assert "read: 123\n" in ours.stderr and "ERRNO 0x2\n" in ours.stderr and "features byte 0x3\n" in ours.stderr
    assert ours.stdout == "written to :tt\n"
    assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(p.name for p in (tmp_path / "q").iterdir()) == []


def test_semihosting_config_args_and_chardev(tmp_path):
    elf = guest_build.build("semihost", str(tmp_path))
    console = tmp_path / "console.txt"
    extra = ["-chardev", f"file,id=sh,path={console}",
             "-semihosting-config", "enable=on,target=native,chardev=sh,arg=prog,arg=--flag,arg=x"]
    ours = run(armvm_path(), elf, tmp_path / "a", extra)
    ours_console = console.read_text()
    theirs = run("qemu-system-aarch64", elf, tmp_path / "q", extra)
    assert ours.returncode == theirs.returncode == 3
    assert "cmdline: [prog --flag x]\n" in ours_console and ours.stderr == ""
    assert ours_console == console.read_text()


def test_without_semihosting_hlt_is_undefined(tmp_path):
    """HLT #0xF000 without -semihosting: an UNDEFINED instruction (the
    program has no vector table: it goes on faulting until killed)."""
    elf = guest_build.build("semihost", str(tmp_path))
    log = tmp_path / "int.log"
    p = subprocess.Popen([armvm_path(), "-M", "virt", "-display", "none", "-nodefaults", "-serial", "null",
                          "-kernel", elf, "-d", "int", "-D", str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=2)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    text = log.read_text()
    assert text.startswith("Taking exception 1 [Undefined Instruction] on CPU 0\n...from EL1 to EL1\n"
                           "...with ESR 0x0/0x2000000\n")
    assert b"hello from semihosting" not in out + err


@pytest.mark.parametrize("config,message", [
    ("enable=on,target=gdb", "semihosting target=gdb is not supported (armvm's semihosting is native)"),
    ("enable=maybe", "Parameter 'enable' expects 'on' or 'off'"),
    ("enable=on,bogus=1", "Invalid parameter 'bogus'"),
])
def test_semihosting_config_errors(config, message):
    r = subprocess.run([armvm_path(), "-M", "virt", "-display", "none", "-nodefaults", "-semihosting-config", config],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and r.stderr == f"armvm: -semihosting-config {config}: {message}\n"


def test_semihosting_chardev_must_exist(tmp_path):
    elf = guest_build.build("semihost", str(tmp_path))
    r = run(armvm_path(), elf, tmp_path / "a", ["-semihosting-config", "enable=on,chardev=nope"])
    assert r.returncode == 1
    assert r.stderr == "armvm: -semihosting-config enable=on,chardev=nope: semihosting chardev 'nope' not found\n"
