"""The virt board's device tree against qemu-system-aarch64's for the same
options (-machine virt,dumpdtb=FILE): same nodes, same properties, same
values, for every node armvm builds so far."""
import subprocess

import pytest

import dtb
from armvm_test import armvm_path

# QEMU nodes for devices armvm does not emulate yet (later issues add
# them; each one added must disappear from this set).
NOT_YET = set()

CONFIGS = [
    ["-machine", "virt", "-m", "512"],
    ["-machine", "virt,gic-version=3", "-smp", "4", "-cpu", "cortex-a72,pmu=off", "-m", "1G"],
    ["-machine", "virt,gic-version=2", "-smp", "4", "-cpu", "cortex-a53", "-m", "256"],
    ["-machine", "virt,gic-version=max", "-smp", "2", "-cpu", "max"],
    ["-machine", "virt", "-smp", "8", "-cpu", "neoverse-n1"],
    ["-machine", "virt,gic-version=3", "-smp", "4,sockets=2,cores=1,threads=2", "-cpu", "cortex-a57"],
    ["-machine", "virt,gic-version=3,its=off", "-smp", "2"],
    ["-machine", "virt,gic-version=3,its=on,highmem=off"],
    ["-machine", "virt", "-kernel", "/dev/null", "-append", "console=ttyAMA0 root=/dev/vda rw"],
]


def dump(emu, args, path):
    argv = [emu] + args[:]
    argv[argv.index("-machine") + 1] += f",dumpdtb={path}"
    p = subprocess.run(argv + ["-nodefaults", "-display", "none"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip().endswith(f"info: dtb dumped to {path}. Exiting.")
    with open(path, "rb") as f:
        return dtb.normalized(dtb.parse(f.read()))


@pytest.mark.parametrize("args", CONFIGS, ids=[" ".join(c) for c in CONFIGS])
def test_fdt_matches_qemu(tmp_path, args):
    ours = dump(armvm_path(), args, str(tmp_path / "armvm.dtb"))
    # armvm's default CPU is the 64-bit cortex-a57; QEMU's is cortex-a15.
    qargs = args if "-cpu" in args else args + ["-cpu", "cortex-a57"]
    ref = dump("qemu-system-aarch64", qargs, str(tmp_path / "qemu.dtb"))
    missing = set(ref) - set(ours)
    assert missing == NOT_YET
    assert set(ours) - set(ref) == set()
    for path, props in ours.items():
        assert props == ref[path], path


def test_fdt_seeds_are_random(tmp_path):
    a = dtb.parse(open(dump_raw(tmp_path / "a.dtb"), "rb").read())
    b = dtb.parse(open(dump_raw(tmp_path / "b.dtb"), "rb").read())
    assert len(a["/chosen"]["rng-seed"]) == 32 and len(a["/chosen"]["kaslr-seed"]) == 8
    assert a["/chosen"]["rng-seed"] != b["/chosen"]["rng-seed"]


def dump_raw(path):
    p = subprocess.run([armvm_path(), "-machine", f"virt,dumpdtb={path}"], capture_output=True, timeout=10)
    assert p.returncode == 0
    return path
