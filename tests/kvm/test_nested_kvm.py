"""armvm on arm64 KVM, in the nested rig (scripts/nested-kvm,
../shared/NESTED-KVM.md): a static arm64 armvm runs inside
qemu-system-aarch64 with virtualization=on, on the real /dev/kvm of that
guest's Linux. Each rig boots once and runs a batch of jobs.

- The bare-metal programs give under `-accel kvm` what armvm's TCG gives
  on this host for the CPU the outer machine emulates, with the outer GIC
  at version 3 and at 2.
- gic-version=host/2/3 and -cpu host,pmu=off either work or fail with the
  precise message; INCIDENTS.md #2-#4 are reproduced through the KVM ioctl
  seam (ARMVM_FAULT=kvm:NAME, in the rig's fault-injection build) and end
  in one clear error, or a working VM."""
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import guest_build  # noqa: E402
from armvm_test import armvm_path  # noqa: E402
from test_guest import QEMU_DEPARTURES  # noqa: E402

import importlib.machinery  # noqa: E402
import importlib.util  # noqa: E402

_loader = importlib.machinery.SourceFileLoader("nested_kvm", os.path.join(ROOT, "scripts", "nested-kvm"))
_spec = importlib.util.spec_from_loader("nested_kvm", _loader)
nested = importlib.util.module_from_spec(_spec)
_loader.exec_module(nested)

pytestmark = pytest.mark.skipif(not guest_build.available(),
                                reason="gcc-aarch64-linux-gnu and qemu-system-arm come from scripts/install-deps")

KVM = ["-accel", "kvm", "-cpu", "host"]
GIC3 = ["-M", "virt,gic-version=3"]
GIC2 = ["-M", "virt,gic-version=2"]

# Programs compared with TCG: (name, program, extra arguments). Under KVM
# the CPU is `-cpu host`; TCG runs the model the outer machine emulates.
V3_PROGRAMS = [
    ("hello", "hello", []),
    ("smp", "smp", ["-smp", "4"]),
    ("ipi3", "ipi3", ["-smp", "4"] + GIC3),
    ("timer3", "timer3", GIC3),
    ("timer3-smp", "timer3", ["-smp", "2"] + GIC3),
    ("spi3", "spi", GIC3),
    ("reset", "reset", []),
    ("mmu", "mmu", []),
    ("atomics", "atomics", ["-smp", "4"]),
    ("el", "el", []),
    ("wfe", "wfe", ["-smp", "2"]),
    ("pmmir", "pmmir", []),
]
V2_PROGRAMS = [
    ("hello", "hello", []),
    ("smp", "smp", ["-smp", "4"]),
    ("ipi", "ipi", ["-smp", "4"] + GIC2),
    ("timer", "timer", GIC2),
    ("timer-smp", "timer", ["-smp", "2"] + GIC2),
    ("spi", "spi", GIC2),
    ("pmu", "pmu", GIC2),
    ("pmu-off", "pmu", GIC2 + ["-cpu", "host,pmu=off"]),
    ("reset", "reset", []),
]

PMU_IRQ_REFUSED = ("the host's KVM refused PPI 7 as the PMU's interrupt (KVM_SET_DEVICE_ATTR PMU_V3_IRQ: "
                   "Invalid argument): its in-kernel GICv{v} cannot take it; use pmu=off{fix}")


def jobs_for(programs):
    return [{"name": n, "args": KVM + extra + ["-kernel", "@" + prog]} for n, prog, extra in programs]


def tcg_output(tmp_path, prog, extra, model):
    """The same program under armvm's TCG on this host."""
    elf = guest_build.build(prog, str(tmp_path))
    args = [a.replace("host", model) if a.startswith("host") else a for a in extra]
    if "-cpu" not in args:
        args = ["-cpu", model] + args
    p = subprocess.run([armvm_path()] + nested.BASE_ARGS + args + ["-kernel", elf], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    return p.stdout


# Where a KVM guest sees the kernel's choice, not the CPU model's: (line
# prefix, armvm's TCG, KVM). KVM resets SCTLR_EL1 to 0x00c50078 (its RES1
# bits, no CP15BEN/nAA/SED; QEMU under KVM shows the same).
# And an SMC at EL1 is an SMCCC call KVM answers (NOT_SUPPORTED) where
# armvm's board, like QEMU's without EL3, makes it UNDEFINED.
KVM_CHOICES = [
    ("CurrentEL 1 SCTLR_EL1", "0x0000000000c50838", "0x0000000000c50078"),
    ("SMC:", "vector 4 EC 0x0000000000000000 ISS 0x0000000000000000 IL 1 ELR-at 0x0000000000000000 "
     "SPSR 0x00000000600003c5", "no exception"),
    # The rig, not KVM: KVM's cycle counter is a perf event on the host's
    # PMU, here QEMU's TCG PMU, whose cycle overflow never came within the
    # program's 5 s (the SW_INCR overflow on the same PPI 7 does: the
    # interrupt path works). Counted cumulatively: 1 = only SW_INCR's.
    ("cycle counter overflow interrupts:", ": 2", ": 1"),
]
# The one QEMU departure a KVM guest meets: the trap's syndrome is made by
# the outer CPU (QEMU's TCG). The PMU, by contrast, is KVM's own.
TRAPS_BY_OUTER_CPU = [d for d in QEMU_DEPARTURES if d[0] == "DAIFSet at EL0:"]


def as_on_qemu(text):
    """Under KVM the rig's "hardware" is qemu-system-aarch64's TCG, so
    where QEMU 7.2 departs from the architecture (test_guest.py) the KVM
    guest sees QEMU's value; on real hardware it would be armvm's."""
    out = []
    for line in text.splitlines():
        for prefix, ours, theirs in [(p, o, t) for p, t, o in TRAPS_BY_OUTER_CPU] + KVM_CHOICES:
            if line.startswith(prefix) and ours in line:
                line = line.replace(ours, theirs)
        out.append(line)
    return "\n".join(out) + "\n"


def one_error(out):
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) == 1, out
    return lines[0]


# ---- outer machine: GICv3, cortex-a72 (PMUv3): vGICv3 only

# Debian's arm64 kernel and busybox (scripts/fetch-guest) under KVM: init
# is a shell command line (the kernel passes what follows "--" to init; no
# quotes inside). The first boot checks the CPUs, the timer, the GIC and
# stolen time, leaves a mark in RAM Linux does not use (mem=200M of 256M)
# and reboots (PSCI SYSTEM_RESET: armvm's reset of devices, the in-kernel
# GIC and every vCPU); the second boot finds the mark and powers off.
LINUX_INIT = ("/bin/busybox --install -s /bin; mount -t proc proc /proc; mount -t devtmpfs dev /dev; "
              "v=$(devmem 0x4c800000 32); if test $v = 0x12345678; then echo SECOND-BOOT; poweroff -f; fi; "
              "echo CPUS $(nproc); grep -c processor /proc/cpuinfo; t0=$(cut -d. -f1 /proc/uptime); sleep 2; "
              "t1=$(cut -d. -f1 /proc/uptime); test $((t1 - t0)) -ge 1 && echo timer-ok; "
              "grep -o GICv3 /proc/interrupts | head -1; dmesg | grep -o 'using stolen time PV' | head -1; "
              "mount -t sysfs sys /sys; strings /sys/firmware/devicetree/base/cpus/cpu@0/compatible; "
              "ls -d /sys/firmware/devicetree/base/pmu; "
              "echo KVM-LINUX-UP; devmem 0x4c800000 32 0x12345678; reboot -f")


def linux_job():
    # (not quiet: a boot that stops shows where; it costs ~10 s of console)
    g = nested.guest_dir()
    return {"name": "linux", "timeout": 180,
            "args": KVM + ["-smp", "2", "-m", "256", "-kernel", "/g/vmlinuz", "-initrd", "/g/initramfs.cpio.gz",
                           "-append", f'console=ttyAMA0 mem=200M panic=-1 rdinit=/bin/busybox -- sh -c "{LINUX_INIT}"'],
            "files": {"vmlinuz": os.path.join(g, "vmlinuz"), "initramfs.cpio.gz": os.path.join(g, "initramfs.cpio.gz")}}


# Debian's kernel under KVM with its virtio disks: the guest's init script
# `init`, each disk (a 1 MiB image named NAME.img starting with its label)
# as /g/NAME.img, `args` the devices. ARMVM_STATS reports the doorbells.
MODULES = "for m in $(cat /lib/modules/load-order); do o=; {opt}insmod /lib/modules/$m.ko $o 2>/dev/null; done; sleep 1; "
BUSYBOX = "/bin/busybox --install -s /bin; mount -t proc proc /proc; mount -t devtmpfs dev /dev; mount -t sysfs sys /sys; "


def linux_disk_job(tmp, name, init, disks, args):
    g = nested.guest_dir()
    files = {"vmlinuz": os.path.join(g, "vmlinuz"), "initramfs.cpio.gz": os.path.join(g, "initramfs.cpio.gz")}
    for disk, label in disks.items():
        path = os.path.join(tmp, f"{disk}.img")
        with open(path, "wb") as f:
            f.write(label + b"\0" * ((1 << 20) - len(label)))
        files[f"{disk}.img"] = path
    return {"name": name, "timeout": 180, "env": {"ARMVM_STATS": "1"},
            "args": KVM + GIC3 + ["-m", "256", "-kernel", "/g/vmlinuz", "-initrd", "/g/initramfs.cpio.gz"] + args
            + ["-append", f'console=ttyAMA0 quiet panic=-1 rdinit=/bin/busybox -- sh -c "{init}"'],
            "files": files}


# A virtio-blk-pci disk behind a pcie-root-port: its MSI-X vectors go
# through the in-kernel ITS (KVM_SIGNAL_MSI with the requester ID as
# DeviceID); and a virtio-blk-device disk.
PCI_INIT = (BUSYBOX + MODULES.format(opt="") +
            "for d in vda vdb; do head -c 16 /dev/$d | tr -d '\\000'; echo; done | sort; "
            "grep ITS-MSI /proc/interrupts | grep -o 'virtio[0-9]-req.0'; "
            "dmesg | grep -o 'ITS@0x0000000008080000' | head -1; echo KVM-PCI-DONE; poweroff -f")


def linux_pci_job(tmp):
    return linux_disk_job(tmp, "linux-pci", PCI_INIT, {"kvm-pci": b"armvm-kvm-pci", "kvm-mmio": b"armvm-kvm-mmio"},
                          ["-smp", "2", "-device", "pcie-root-port,id=rp1,chassis=1",
                           "-drive", "if=none,id=d0,file=/g/kvm-pci.img,format=raw",
                           "-device", "virtio-blk-pci,drive=d0,bus=rp1",
                           "-drive", "if=none,id=d1,file=/g/kvm-mmio.img,format=raw",
                           "-device", "virtio-blk-device,drive=d1"])


# A transitional virtio-blk-pci on the root bus driven through its legacy
# I/O BAR (virtio_pci force_legacy=1): the legacy notify register, reached
# through the host's I/O window, is a KVM ioeventfd too (2 bytes, the
# queue's index as data), as QEMU's.
LEGACY_INIT = (BUSYBOX + MODULES.format(opt="[ $m = virtio_pci ] && o=force_legacy=1; ") +
               "head -c 16 /dev/vda | tr -d '\\000'; echo; "
               "echo VERSION_1=$(cut -c33 /sys/bus/virtio/devices/virtio0/features); "
               "echo KVM-LEGACY-DONE; poweroff -f")


def linux_legacy_job(tmp):
    return linux_disk_job(tmp, "linux-legacy", LEGACY_INIT, {"kvm-legacy": b"armvm-kvm-legacy"},
                          ["-drive", "if=none,id=d0,file=/g/kvm-legacy.img,format=raw",
                           "-device", "virtio-blk-pci,drive=d0,bus=pcie.0,addr=3"])


# The flash banks under KVM (KVM runs code only from memory slots): a
# bank in read-array mode is a read-only slot, in its command modes MMIO.
# tests/guest/pflash.c drives bank 1's command set; firmware.S runs in
# place from bank 0 (a -drive if=pflash) and from -bios, loading a raw
# kernel from fw_cfg.
FLASH_PATTERN = bytes(range(256)) * (64 * 4096)  # a bank, 64 MiB
FW_APPEND = "console=ttyAMA0 foo=bar"
FLASH_AFTER = "od -An -tx1 -j 256 -N 4 /g/flash1.img; od -An -tx1 -j 262144 -N 4 /g/flash1.img"


def flash_jobs(tmp):
    fw = guest_build.build_firmware(tmp)
    kernel = guest_build.build_raw("fw_cfg", tmp)
    code = os.path.join(tmp, "fw-code.img")
    with open(fw, "rb") as f, open(code, "wb") as out:
        data = f.read()
        out.write(data + b"\0" * (len(FLASH_PATTERN) - len(data)))
    vars_ = os.path.join(tmp, "flash1.img")
    with open(vars_, "wb") as f:
        f.write(FLASH_PATTERN)
    boot = ["-kernel", "/g/fw_cfg.bin", "-append", FW_APPEND]
    return [
        {"name": "pflash", "args": KVM + ["-kernel", "@pflash", "-drive", "if=pflash,unit=1,file=/g/flash1.img,format=raw"],
         "files": {"flash1.img": vars_}, "after": FLASH_AFTER},
        {"name": "pflash-xip", "args": KVM + ["-drive", "if=pflash,unit=0,format=raw,readonly=on,file=/g/fw-code.img"]
         + boot, "files": {"fw-code.img": code, "fw_cfg.bin": kernel}},
        {"name": "bios", "args": KVM + ["-bios", "/g/firmware.bin"] + boot,
         "files": {"firmware.bin": fw, "fw_cfg.bin": kernel}},
    ] + ([aavmf_job(tmp)] if os.path.exists(AAVMF_CODE) else [])


AAVMF_CODE, AAVMF_VARS = "/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"


def aavmf_job(tmp):
    # Debian's UEFI firmware as libvirt gives it to an arm64 VM: code and
    # variables in the two flash banks. Its shell waits for a key: the rig
    # stops armvm once the prompt is out (tens of seconds under the outer
    # TCG, more on a loaded machine: the timeout is a generous bound).
    vars_ = os.path.join(tmp, "AAVMF_VARS.fd")
    with open(AAVMF_VARS, "rb") as f, open(vars_, "wb") as out:
        out.write(f.read())
    return {"name": "aavmf", "timeout": 240, "until": "Shell> ",
            "args": KVM + ["-m", "256", "-drive", "if=pflash,unit=0,format=raw,readonly=on,file=/g/AAVMF_CODE.fd",
                           "-drive", "if=pflash,unit=1,format=raw,file=/g/AAVMF_VARS.fd"],
            "files": {"AAVMF_CODE.fd": AAVMF_CODE, "AAVMF_VARS.fd": vars_}}


V3_EXTRA = [
    {"name": "gic-host", "args": KVM + ["-M", "virt,gic-version=host", "-kernel", "@timer3"]},
    {"name": "gic-max", "args": KVM + ["-M", "virt,gic-version=max", "-kernel", "@timer3"]},
    {"name": "gic-default", "args": KVM + ["-kernel", "@timer3"]},
    {"name": "gic2-on-v3", "args": KVM + GIC2 + ["-kernel", "@hello"]},
    {"name": "gic2-on-v3-pmu-off", "args": ["-accel", "kvm", "-cpu", "host,pmu=off"] + GIC2 + ["-kernel", "@hello"]},
    {"name": "pmu-off", "args": ["-accel", "kvm", "-cpu", "host,pmu=off"] + GIC3 + ["-kernel", "@pmmir"]},
    # stop/cont/system_reset over QMP while the guest spins on KVM
    {"name": "qmp-run", "bare": True,
     "args": ["-M", "virt", "-accel", "kvm", "-cpu", "host", "-smp", "2", "-nodefaults", "-display", "none",
              "-serial", "null", "-qmp", "stdio", "-kernel", "@spin"],
     "stdin": "".join(json.dumps({"execute": c}) + "\n" for c in [
         "qmp_capabilities", "stop", "query-status", "cont", "query-status", "system_reset", "stop", "cont",
         "x-armvm-query-resets", "query-cpus-fast", "quit"])},
    {"name": "kvm-props", "args": ["-accel", "kvm", "-cpu", "host,kvm-no-adjvtime=on,kvm-steal-time=off",
                                   "-kernel", "@hello"]},
    {"name": "a53", "args": ["-accel", "kvm", "-cpu", "cortex-a53", "-kernel", "@hello"]},
    # INCIDENTS.md #2: the PMU's interrupt refused; probed first.
    {"name": "pmu-irq-refused", "args": KVM + GIC3 + ["-kernel", "@hello"],
     "env": {"ARMVM_FAULT": "kvm:KVM_SET_DEVICE_ATTR:PMU_V3_IRQ"}},
    {"name": "pmu-irq-absent", "args": KVM + GIC3 + ["-kernel", "@hello"],
     "env": {"ARMVM_FAULT": "kvm:KVM_HAS_DEVICE_ATTR:PMU_V3_IRQ"}},
    {"name": "pmu-init-refused", "args": KVM + GIC3 + ["-kernel", "@hello"],
     "env": {"ARMVM_FAULT": "kvm:KVM_SET_DEVICE_ATTR:PMU_V3_INIT"}},
    # INCIDENTS.md #3: with pmu=off nothing of the PMU is touched.
    {"name": "pmu-off-untouched", "args": ["-accel", "kvm", "-cpu", "host,pmu=off", "-kernel", "@hello"],
     "env": {"ARMVM_FAULT": "kvm:KVM_SET_DEVICE_ATTR:PMU_V3_IRQ"}},
    # ... and an interrupt the kernel refuses is reported, not fatal.
    {"name": "irq-line-refused", "args": KVM + GIC3 + ["-kernel", "@timer3"], "timeout": 8,
     "env": {"ARMVM_FAULT": "kvm:KVM_IRQ_LINE"}},
    # accel=kvm:tcg falls back when KVM cannot make the VM.
    {"name": "fallback", "args": ["-accel", "kvm", "-accel", "tcg", "-cpu", "cortex-a72", "-kernel", "@hello"],
     "env": {"ARMVM_FAULT": "kvm:KVM_CREATE_VM"}},
    {"name": "vgic-refused", "args": KVM + GIC3 + ["-kernel", "@hello"],
     "env": {"ARMVM_FAULT": "kvm:KVM_CREATE_DEVICE:VGIC_V3"}},
    # QMP: what the host really offers, and the running CPU's PMU
    {"name": "qmp", "bare": True,
     "args": ["-M", "virt", "-accel", "kvm", "-cpu", "host", "-nodefaults", "-display", "none", "-S",
              "-qmp", "stdio", "-kernel", "@hello"],
     "stdin": "".join(json.dumps({"execute": c, **({"arguments": a} if a else {})}) + "\n" for c, a in [
         ("qmp_capabilities", None), ("query-kvm", None), ("query-gic-capabilities", None),
         ("query-cpu-model-expansion", {"type": "full", "model": {"name": "host"}}), ("quit", None)])},
]


def gdb_jobs(tmp):
    """tests/kvm/gdbclient.c driving the gdbstub over a Unix socket
    against gdb_target (-S, 2 vCPUs): under KVM (the host's hardware
    breakpoints, watchpoints and single step through KVM_SET_GUEST_DEBUG)
    and under TCG, for the test to compare; and HMP's registers and
    memory by VA at -S under both."""
    client = os.path.join(tmp, "gdbclient")
    subprocess.run(["aarch64-linux-gnu-gcc", "-static", "-O2", "-o", client,
                    os.path.join(ROOT, "tests", "kvm", "gdbclient.c")], check=True)
    elf = guest_build.build("gdb_target", tmp)  # (the rig builds the same program: the same addresses)
    syms = {}
    for line in subprocess.run(["aarch64-linux-gnu-nm", elf], capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = parts[0]
    addrs = " ".join(syms[n] for n in ("step_target", "counter", "table"))
    jobs = []
    for accel in (KVM, ["-accel", "tcg", "-cpu", "cortex-a72"]):
        name = accel[1]
        jobs.append({"name": f"gdb-{name}", "files": {"gdbclient": client}, "timeout": 120,
                     "args": accel + ["-smp", "2", "-kernel", "@gdb_target", "-S",
                                      "-gdb", f"unix:/tmp/gdb-{name}.sock,server=on,wait=off"],
                     "before": f"/g/gdbclient /tmp/gdb-{name}.sock {addrs} >/tmp/client 2>&1 &",
                     "after": "wait; echo '--- client'; cat /tmp/client"})
        jobs.append({"name": f"hmp-{name}", "bare": True,
                     "args": ["-M", "virt", "-nodefaults", "-display", "none", "-S", "-monitor", "stdio",
                              "-kernel", "@gdb_target"] + accel,
                     "stdin": f"info registers\nx/3i 0x{syms['_start']}\nx/4gx 0x{syms['table']}\nquit\n"})
    return jobs


@pytest.fixture(scope="module")
def rig3(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("rig3"))
    return nested.run_rig(jobs_for(V3_PROGRAMS) + V3_EXTRA + [linux_job(), linux_pci_job(tmp), linux_legacy_job(tmp)] +
                          flash_jobs(tmp) + gdb_jobs(tmp), cpu="cortex-a72", gic=3)


def test_gdbstub_under_kvm_as_under_tcg(rig3):
    """break, continue, system registers by name (KVM's own list through
    KVM_GET_REG_LIST), stepi, memory and registers read and written,
    watch, continue to the end: the same exchanges under KVM (hardware
    breakpoints, watchpoints and single step lent by the host's KVM) as
    under TCG; KVM refuses watchpoints past the 4 the outer cortex-a72's
    KVM lends, TCG takes them all."""
    out = {}
    for name in ("kvm", "tcg"):
        rc, text = rig3.results[f"gdb-{name}"]
        assert rc == 0 and "--- client" in text, text
        out[name] = text.split("--- client\n", 1)[1]
        assert "error" not in out[name] and "result 44" in text, text
    k, t = out["kvm"], out["tcg"]
    for line in ("stopped at step_target: yes", "x0 x1: 5 7", "after stepi: pc - step_target = 4",
                 "< efbeadde00000000", "< 8877665544332211", "< W00",
                 "system registers: in target.xml yes, 4 of 4 read by name, SCTLR.M 0"):
        assert line in k, k
    assert re.search(r"< T05thread:p01\.01;watch:0+[0-9a-f]+;", k), k
    assert "watchpoints accepted: 4\n" in k and "watchpoints accepted: 20\n" in t
    strip = lambda s: re.sub(r"watchpoints accepted: \d+", "", s)
    assert strip(k) == strip(t)


def test_hmp_reads_registers_and_memory_under_kvm(rig3):
    """info registers, x/i and x by virtual address at -S: what
    TCG shows (the PSTATE line aside: KVM's reset PSTATE has Z clear)."""
    def lines(name):
        rc, text = rig3.results[f"hmp-{name}"]
        assert rc == 0, text
        return [l for l in text.splitlines() if not l.startswith(("PSTATE=", "(qemu)", "QEMU"))]
    k, t = lines("kvm"), lines("tcg")
    assert any(l.lstrip().startswith("PC=0000000040080000") for l in k), k
    assert any(re.match(r"0x[0-9a-f]+:\s+", l) for l in k), k
    assert k == t


def test_flash_commands_under_kvm_as_under_tcg(rig3, tmp_path):
    # bank 1 read as a read-only slot, its commands (query, identifier,
    # program, erase, buffered program, status) through MMIO exits while
    # the slot is unmapped, the programmed bytes written back to the file
    out = rig3.out("pflash")
    assert rig3.rc("pflash") == 0, out
    image = tmp_path / "flash1.img"
    image.write_bytes(FLASH_PATTERN)
    prog = guest_build.build("pflash", str(tmp_path))
    p = subprocess.run([armvm_path()] + nested.BASE_ARGS + ["-cpu", "cortex-a72", "-kernel", prog, "-drive",
                        f"if=pflash,unit=1,file={image},format=raw"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "manufacturer 0x0000000000890089" in p.stdout and "programmed 0x0000000012345678" in p.stdout
    data = image.read_bytes()
    assert data[0x100:0x104] == bytes.fromhex("78563412") and data[0x40000:0x40004] == b"\xff" * 4
    # (then od's view of the same two words of the file the rig's armvm wrote)
    assert out == p.stdout + " 78 56 34 12\n ff ff ff ff\n"


@pytest.mark.skipif(not os.path.exists(AAVMF_CODE), reason="qemu-efi-aarch64 (AAVMF) comes from scripts/install-deps")
def test_uefi_firmware_runs_from_flash_under_kvm_to_its_shell(rig3):
    # AAVMF executes in place from bank 0, keeps its variables in bank 1
    # (commands through MMIO exits while that bank's slot is unmapped) and
    # reaches the UEFI shell, as libvirt's default arm64 domain starts
    out = rig3.out("aavmf")
    assert "UEFI Interactive Shell" in out and "Shell> " in out, (rig3.times["aavmf"], out[-3000:])
    print(f"AAVMF to its shell under nested KVM: {rig3.times['aavmf']:.1f} s")


@pytest.mark.parametrize("job", ["pflash-xip", "bios"])
def test_firmware_runs_in_place_from_flash_under_kvm(rig3, job):
    # firmware.S executes from bank 0 (a readonly pflash drive, or -bios),
    # loads the kernel from fw_cfg by DMA and enters it; the kernel reads
    # its command line back
    out = rig3.out(job)
    assert rig3.rc(job) == 0, out
    assert f"cmdline: {FW_APPEND}\n" in out and "DMA failed" not in out, out


def test_a_pci_disk_takes_msi_x_through_the_in_kernel_its_and_kicks_through_ioeventfds(rig3):
    out = rig3.out("linux-pci").replace("\r\n", "\n")
    assert rig3.rc("linux-pci") == 0, out
    assert re.search(r"armvm-kvm-mmio\narmvm-kvm-pci\nvirtio\d-req\.0\nITS@0x0000000008080000\nKVM-PCI-DONE\n", out), out
    # the queues' kicks (virtio-pci's and virtio-mmio's, which names its
    # queue in the value written) as KVM ioeventfds: signalled in the
    # kernel, none came out as an MMIO exit for armvm's bus to signal
    m = re.search(r"stats: (\d+) doorbell kicks through eventfds \((\d+) signalled by armvm\)", out)
    assert m and int(m.group(1)) > 0 and m.group(2) == "0", out


def test_a_legacy_virtio_driver_kicks_through_ioeventfds_too(rig3):
    out = rig3.out("linux-legacy").replace("\r\n", "\n")
    assert rig3.rc("linux-legacy") == 0, out
    # the legacy interface was the one driven (no VERSION_1 negotiated)
    assert "armvm-kvm-legacy\nVERSION_1=0\nKVM-LEGACY-DONE\n" in out, out
    # its only device's kicks (the legacy notify register, through the I/O
    # window) were eventfds signalled in the kernel
    m = re.search(r"stats: (\d+) doorbell kicks through eventfds \((\d+) signalled by armvm\)", out)
    assert m and int(m.group(1)) > 0 and m.group(2) == "0", out


def test_linux_boots_under_kvm_reboots_and_powers_off(rig3):
    # two vCPUs brought up by KVM's PSCI, the in-kernel GICv3 and timer,
    # userspace, a reboot, and PSCI SYSTEM_OFF ending armvm with status 0
    out = rig3.out("linux").replace("\r\n", "\n")  # (the guest's tty)
    assert rig3.rc("linux") == 0, out
    # (and KVM's stolen-time structures, kvm-steal-time's default where the host has them)
    # (and the tree it was given: QEMU's compatible for a KVM host CPU, a PMU node)
    assert ("CPUS 2\n2\ntimer-ok\nGICv3\nusing stolen time PV\narm,arm-v8\n/sys/firmware/devicetree/base/pmu\n"
            "KVM-LINUX-UP\n") in out, out
    assert out.index("reboot: Restarting system") < out.index("SECOND-BOOT\n") < out.index("reboot: Power down")


@pytest.mark.parametrize("name,prog,extra", V3_PROGRAMS, ids=[p[0] for p in V3_PROGRAMS])
def test_kvm_gicv3_host_matches_tcg(rig3, tmp_path, name, prog, extra):
    assert rig3.rc(name) == 0, rig3.out(name)
    assert rig3.out(name) == as_on_qemu(tcg_output(tmp_path, prog, extra, "cortex-a72"))


def qmp_replies(out):
    return [json.loads(l)["return"] for l in out.splitlines() if l.startswith("{") and '"return"' in l]


def test_qmp_reports_what_the_host_offers(rig3):
    assert rig3.rc("qmp") == 0, rig3.out("qmp")
    caps, kvm, gics, cpu, quit_ = qmp_replies(rig3.out("qmp"))
    assert kvm == {"enabled": True, "present": True}
    assert gics == [{"version": 3, "emulated": True, "kernel": True},
                    {"version": 2, "emulated": True, "kernel": False}]
    assert cpu["model"] == {"name": "host", "props": {"aarch64": True, "pmu": True, "kvm-no-adjvtime": False,
                                                      "kvm-steal-time": True}}


def test_stop_cont_and_reset_over_qmp_while_the_guest_runs(rig3):
    out = rig3.out("qmp-run")
    assert rig3.rc("qmp-run") == 0, out
    r = qmp_replies(out)
    assert r[2]["status"] == "paused" and r[4]["status"] == "running"
    resets = r[8]
    # the cold boot and one system_reset: every device (the in-kernel GIC
    # too) and every vCPU exactly twice (INCIDENTS.md #5)
    assert resets["machine"] == 2 and resets["cpus"] == [2, 2]
    assert {d["resets"] for d in resets["devices"]} == {2} and "gic" in [d["device"] for d in resets["devices"]]
    cpus = r[9]
    assert [c["cpu-index"] for c in cpus] == [0, 1] and len({c["thread-id"] for c in cpus}) == 2
    events = [json.loads(l)["event"] for l in out.splitlines() if '"event"' in l]
    assert events == ["STOP", "RESUME", "RESET", "STOP", "RESUME", "SHUTDOWN"]


def test_gic_version_host_max_and_default_pick_the_v3_the_host_has(rig3):
    for job in ("gic-host", "gic-max", "gic-default"):
        assert rig3.rc(job) == 0, rig3.out(job)
        assert "GICD_PIDR2.ArchRev: 3\n" in rig3.out(job) and "SPI 33 taken" in rig3.out(job)


def test_gicv2_on_a_gicv3_host_is_one_clear_error_before_any_vcpu_runs(rig3):
    # INCIDENTS.md #3: QEMU's words, with or without the PMU.
    for job in ("gic2-on-v3", "gic2-on-v3-pmu-off"):
        assert rig3.rc(job) == 1
        assert one_error(rig3.out(job)) == (
            "armvm: -machine virt,gic-version=2: host does not support in-kernel GICv2 emulation")


def test_pmu_off_hides_the_pmu(rig3):
    assert rig3.rc("pmu-off") == 0
    assert rig3.out("pmu-off") == "PMUVer 0 (no PMU)\npmmir: done\n"


def test_kvm_cpu_properties(rig3):
    assert rig3.rc("kvm-props") == 0, rig3.out("kvm-props")
    assert rig3.out("kvm-props").startswith("hello from armvm's test guest\n")


def test_a_model_kvm_cannot_run_is_refused(rig3):
    assert rig3.rc("a53") == 1
    assert one_error(rig3.out("a53")) == (
        "armvm: -cpu cortex-a53: KVM is not supported for this guest CPU type on this host (use -cpu host)")


def test_incident_2_pmu_interrupt_refused_is_one_clear_error(rig3):
    assert rig3.rc("pmu-irq-refused") == 1  # not 134 (abort) or a signal
    assert one_error(rig3.out("pmu-irq-refused")) == "armvm: -cpu host: " + PMU_IRQ_REFUSED.format(v=3, fix="")
    assert rig3.rc("pmu-irq-absent") == 1
    assert one_error(rig3.out("pmu-irq-absent")) == (
        "armvm: -cpu host: the host's KVM offers no interrupt for the PMU (KVM_HAS_DEVICE_ATTR PMU_V3_IRQ: "
        "Invalid argument); use pmu=off")
    assert rig3.rc("pmu-init-refused") == 1
    assert one_error(rig3.out("pmu-init-refused")) == (
        "armvm: -cpu host: the host's KVM could not start the PMU (KVM_SET_DEVICE_ATTR PMU_V3_INIT: "
        "Invalid argument); use pmu=off")


def test_incident_3_pmu_off_never_touches_the_pmu(rig3):
    assert rig3.rc("pmu-off-untouched") == 0, rig3.out("pmu-off-untouched")
    assert "hello from armvm's test guest" in rig3.out("pmu-off-untouched")


def test_incident_3_a_refused_interrupt_is_reported_not_fatal(rig3):
    out = rig3.out("irq-line-refused")
    # The guest waits for the UART interrupt that was lost; armvm stays up
    # until the rig's timeout kills it (137), having said so once.
    assert rig3.rc("irq-line-refused") == 137, out
    assert "uart interrupt armed" in out and "SPI 33 taken" not in out
    warnings = [l for l in out.splitlines() if l.startswith("armvm: warning: KVM_IRQ_LINE")]
    assert warnings == ["armvm: warning: KVM_IRQ_LINE (interrupt 33): Invalid argument; the device's interrupt is lost"]


def test_kvm_tcg_falls_back_when_kvm_cannot_make_the_vm(rig3):
    out = rig3.out("fallback")
    assert rig3.rc("fallback") == 0, out
    assert out.startswith("armvm: -accel kvm: failed to create an arm64 KVM VM: Invalid argument\n"
                          "armvm: falling back to tcg\nhello from armvm's test guest\n")


def test_a_vgic_the_kernel_refuses_is_one_clear_error(rig3):
    assert rig3.rc("vgic-refused") == 1
    # (the probe found no GIC it could create)
    assert one_error(rig3.out("vgic-refused")) == (
        "armvm: -machine virt,gic-version=3: Unable to determine GIC version supported by host")


# ---- outer machine: GICv2, cortex-a57: vGICv2 only

V2_EXTRA = [
    {"name": "gic3-on-v2", "args": KVM + GIC3 + ["-kernel", "@hello"]},
    {"name": "gic-host", "args": KVM + ["-M", "virt,gic-version=host", "-kernel", "@timer"]},
    {"name": "a57", "args": ["-accel", "kvm", "-cpu", "cortex-a57", "-kernel", "@hello"]},
    {"name": "pmu-irq-refused", "args": KVM + GIC2 + ["-kernel", "@hello"],
     "env": {"ARMVM_FAULT": "kvm:KVM_SET_DEVICE_ATTR:PMU_V3_IRQ"}},
]


@pytest.fixture(scope="module")
def rig2():
    return nested.run_rig(jobs_for(V2_PROGRAMS) + V2_EXTRA, cpu="cortex-a57", gic=2)


@pytest.mark.parametrize("name,prog,extra", V2_PROGRAMS, ids=[p[0] for p in V2_PROGRAMS])
def test_kvm_gicv2_host_matches_tcg(rig2, tmp_path, name, prog, extra):
    assert rig2.rc(name) == 0, rig2.out(name)
    assert rig2.out(name) == as_on_qemu(tcg_output(tmp_path, prog, extra, "cortex-a57"))


def test_gicv2_host_choices(rig2):
    assert rig2.rc("gic3-on-v2") == 1
    assert one_error(rig2.out("gic3-on-v2")) == (
        "armvm: -machine virt,gic-version=3: host does not support in-kernel GICv3 emulation")
    assert rig2.rc("gic-host") == 0, rig2.out("gic-host")
    # the named model runs where the host is that CPU
    assert rig2.rc("a57") == 0 and "hello from armvm's test guest" in rig2.out("a57")


def test_incident_2_on_a_gicv2_host_names_both_fixes(rig2):
    assert rig2.rc("pmu-irq-refused") == 1
    assert one_error(rig2.out("pmu-irq-refused")) == "armvm: -cpu host: " + PMU_IRQ_REFUSED.format(
        v=2, fix=" or -machine gic-version=3")


# ---- outer machine: -cpu max (PMUv3p4 and later; the 6.1 kernel has no
# PMMIR_EL1 for its guests and will not lower PMUVer): INCIDENTS.md #4

PMU_UNSAFE = ("the host's KVM would show the guest PMUv3p4 (ID_AA64DFR0_EL1.PMUVer 5) but does not provide "
              "PMMIR_EL1, which that version has, and does not let armvm lower the version: a guest kernel "
              "reading PMMIR_EL1 would crash")


@pytest.fixture(scope="module")
def rigmax():
    jobs = [
        {"name": "default", "args": KVM + GIC3 + ["-kernel", "@pmmir"]},
        {"name": "pmu-on", "args": ["-accel", "kvm", "-cpu", "host,pmu=on"] + GIC3 + ["-kernel", "@pmmir"]},
        {"name": "pmu-off", "args": ["-accel", "kvm", "-cpu", "host,pmu=off"] + GIC3 + ["-kernel", "@pmmir"]},
        {"name": "qmp", "bare": True,
         "args": ["-M", "virt", "-accel", "kvm", "-cpu", "host", "-nodefaults", "-display", "none", "-S",
                  "-qmp", "stdio", "-kernel", "@hello"],
         "stdin": "".join(json.dumps({"execute": c, **({"arguments": a} if a else {})}) + "\n" for c, a in [
             ("qmp_capabilities", None),
             ("query-cpu-model-expansion", {"type": "full", "model": {"name": "host"}}), ("quit", None)])},
    ]
    jobs += [
        {"name": "sve", "args": KVM + ["-kernel", "@sve"]},
        {"name": "sve-off", "args": ["-accel", "kvm", "-cpu", "host,sve=off", "-kernel", "@sve"]},
    ]
    return nested.run_rig(jobs, cpu="max,pauth-impdef=on", gic=3)


def test_incident_4_an_unsafe_pmu_version_is_not_shown_to_the_guest(rigmax):
    out = rigmax.out("default")
    assert rigmax.rc("default") == 0, out
    # the guest runs without a PMU (and so never reads PMMIR_EL1), and the
    # user is told why
    pmuver = re.search(r"PMUVer (\d+)", PMU_UNSAFE).group(1)
    assert int(pmuver) >= 5
    assert out == ("armvm: warning: -cpu host: running without a PMU: " + PMU_UNSAFE +
                   " (pmu=off says this explicitly)\nPMUVer 0 (no PMU)\npmmir: done\n")
    assert rigmax.rc("pmu-on") == 1
    assert one_error(rigmax.out("pmu-on")) == (
        "armvm: -cpu host,pmu=on: 'pmu' cannot be enabled safely: " + PMU_UNSAFE + "; use pmu=off")
    assert rigmax.rc("pmu-off") == 0
    assert rigmax.out("pmu-off") == "PMUVer 0 (no PMU)\npmmir: done\n"
    # QMP says what the guest has
    assert rigmax.rc("qmp") == 0, rigmax.out("qmp")
    cpu = qmp_replies(rigmax.out("qmp"))[1]
    assert cpu["model"]["props"]["pmu"] is False
    assert cpu["model"]["props"]["sve"] is True


def test_sve_where_the_host_has_it(rigmax):
    # -cpu host gives the guest the host's SVE (QEMU's default); sve=off hides it
    out = rigmax.out("sve")
    assert rigmax.rc("sve") == 0, out
    assert out.endswith("SVE 1\nRDVL: a vector length of 16n bytes\nsve: done\n"), out
    assert rigmax.rc("sve-off") == 0
    assert rigmax.out("sve-off").endswith("\nSVE 0\nsve: done\n")  # (after the PMU warning)
