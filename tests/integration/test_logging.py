"""-d ITEMS -D FILE, -dfilter and HMP log/logfile, compared with what
qemu-system-aarch64 writes for the same guest: the blocks of guest code as
they are first decoded (in_asm, through capstone, with the ELF's function
names), the exceptions taken and returned from (int), a guest's mistakes
(guest_errors, unimp). Nothing reaches stderr unless asked for."""
import os
import re
import subprocess

import pytest

import guest_build
from armvm_test import armvm_path, hmp_outputs

pytestmark = pytest.mark.skipif(not guest_build.available(), reason="needs aarch64-linux-gnu-gcc and qemu-system-aarch64")


def main_address(elf):
    sym = subprocess.run(["aarch64-linux-gnu-nm", elf], capture_output=True, text=True).stdout
    return int(re.search(r"^([0-9a-f]+) T main$", sym, re.M).group(1), 16)


def run_logged(emu, elf, items, log, extra=()):
    r = subprocess.run([emu, "-M", "virt", "-cpu", "cortex-a57", "-display", "none", "-nodefaults",
                        "-serial", "stdio", "-kernel", elf, "-d", items, "-D", str(log)] + list(extra),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout, r.stderr, log.read_text()


def test_in_asm_and_int_write_what_qemu_writes(tmp_path):
    elf = guest_build.build("hello", str(tmp_path))
    out, err, ours = run_logged(armvm_path(), elf, "in_asm,int", tmp_path / "a.log")
    _, _, theirs = run_logged("qemu-system-aarch64", elf, "in_asm,int", tmp_path / "q.log")
    assert err == "" and out
    main = main_address(elf)
    assert re.search(rf"^----------------\nIN: main\n{main:#x}:  [0-9a-f]{{8}}  stp      x29, x30, \[sp, #-0x", ours, re.M)
    assert "Taking exception 11 [Hypervisor Call] on CPU 0\n" in ours
    assert ours == theirs


def test_mmu_page_and_nochain_log_what_qemu_logs(tmp_path):
    """-d mmu,page,nochain on a guest that builds page tables, turns the
    MMU on and takes translation faults: QEMU 7.2's Arm target writes
    nothing for these items (nochain only changes how code runs), and
    armvm writes the same nothing; the guest runs as without them."""
    elf = guest_build.build("mmu", str(tmp_path))
    out, err, ours = run_logged(armvm_path(), elf, "mmu,page,nochain", tmp_path / "a.log")
    qout, _, theirs = run_logged("qemu-system-aarch64", elf, "mmu,page,nochain", tmp_path / "q.log")
    assert err == "" and out == qout and "FAR ok" in out
    assert ours == theirs == ""


def test_nochain_makes_compiled_code_return_to_the_run_loop_after_every_block(tmp_path):
    """-d nochain, a JIT developer's switch: no block jumps to the next by
    itself (no direct links, chaining or loops inside a block), so the run
    loop enters compiled code once per block run; the guest computes the
    same."""
    elf = guest_build.build("bench", str(tmp_path), defines=("ROUNDS=3",))
    env = dict(os.environ, ARMVM_STATS="1")
    env.pop("ARMVM_JIT", None)  # (what it tests is the JIT's: on, whichever mode the suite runs in)
    runs = {}
    for items in ("none", "nochain"):
        r = subprocess.run([armvm_path(), "-M", "virt", "-cpu", "cortex-a57", "-display", "none", "-nodefaults",
                            "-serial", "stdio", "-kernel", elf, "-d", items],
                           capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, r.stderr
        entries = re.search(r"(\d+) entries to compiled code", r.stderr)
        assert entries, r.stderr
        runs[items] = (r.stdout, int(entries.group(1)))
    assert "checksum" in runs["none"][0] and runs["nochain"][0] == runs["none"][0]
    # ~29 M instructions: a few hundred entries chained, millions without
    assert runs["none"][1] < 10_000 and runs["nochain"][1] > 1_000_000


def test_int_logs_exceptions_and_returns_as_qemu(tmp_path):
    """SVC, BRK, UNDEFINED... taken at EL1 and EL0 and returned from. Where
    QEMU departs from the ARM ARM the comparison says so: QEMU clears
    PSTATE.NZCV when it takes an exception, which AArch64.TakeException
    does not do (armvm keeps them), so the PSTATE of each entry line is
    compared without its NZCV bits; and see fix_qemu_msr_imm."""
    elf = guest_build.build("el", str(tmp_path))
    _, err, ours = run_logged(armvm_path(), elf, "int", tmp_path / "a.log")
    _, _, theirs = run_logged("qemu-system-aarch64", elf, "int", tmp_path / "q.log")
    assert err == ""
    assert ours.count("Taking exception") >= 20 and "Exception return from AArch64 EL1 to AArch64 EL0" in ours

    def strip_nzcv(text):
        return re.sub(r"PSTATE 0x([0-9a-f]+)$", lambda m: "PSTATE %#x" % (int(m.group(1), 16) & 0x0fffffff), text,
                      flags=re.M)

    def fix_qemu_msr_imm(text):
        """QEMU 7.2 reports a trapped MSR (immediate), `msr daifset, #2` at
        EL0, with op1 and op2 swapped in the ISS (op0 0: only MSR immediate
        has it); the ARM ARM's ISS for EC 0x18 has Op2 at [19:17] and Op1
        at [16:14], which armvm follows."""
        def swap(m):
            esr = int(m.group(1), 16)
            iss = esr & 0x1ffffff
            if (iss >> 20) & 3:
                return m.group(0)
            op2, op1 = (iss >> 17) & 7, (iss >> 14) & 7
            iss = (iss & ~(0x3f << 14)) | (op1 << 17) | (op2 << 14)
            return "ESR 0x18/%#x" % ((esr & ~0x1ffffff) | iss)
        return re.sub(r"ESR 0x18/0x([0-9a-f]+)", swap, text)
    assert strip_nzcv(ours) == strip_nzcv(fix_qemu_msr_imm(theirs))


def test_guest_errors_and_unimp_as_qemu_and_never_on_stderr(tmp_path):
    elf = guest_build.build("guest_errors", str(tmp_path))
    out, err, ours = run_logged(armvm_path(), elf, "guest_errors,unimp", tmp_path / "a.log")
    qout, _, theirs = run_logged("qemu-system-aarch64", elf, "guest_errors,unimp", tmp_path / "q.log")
    assert out == qout == "exceptions: 4\n"
    assert "read access to unsupported AArch64 system register op0:3 op1:2 crn:15 crm:0 op2:0\n" in ours
    assert "Invalid read at addr 0x9050000, size 4, region '(null)', reason: rejected\n" in ours
    assert ours == theirs
    # Without -d: the same mistakes, nothing on stderr.
    r = subprocess.run([armvm_path(), "-M", "virt", "-display", "none", "-nodefaults", "-serial", "stdio",
                        "-kernel", elf], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "exceptions: 4\n" and r.stderr == ""
    # -d without -D: stderr.
    r = subprocess.run([armvm_path(), "-M", "virt", "-display", "none", "-nodefaults", "-serial", "stdio",
                        "-kernel", elf, "-d", "unimp"], capture_output=True, text=True, timeout=60)
    assert r.stderr.count("access to unsupported AArch64 system register") == 2


def test_dfilter_limits_in_asm_as_qemu(tmp_path):
    elf = guest_build.build("hello", str(tmp_path))
    sym = subprocess.run(["aarch64-linux-gnu-nm", "-S", elf], capture_output=True, text=True).stdout
    addr, size = re.search(r"^([0-9a-f]+) ([0-9a-f]+) T main$", sym, re.M).groups()
    rng = f"0x{addr}+0x{size}"
    _, _, ours = run_logged(armvm_path(), elf, "in_asm", tmp_path / "a.log", ["-dfilter", rng])
    _, _, theirs = run_logged("qemu-system-aarch64", elf, "in_asm", tmp_path / "q.log", ["-dfilter", rng])
    assert ours and set(re.findall(r"^IN: (.*)$", ours, re.M)) == {"main"}
    assert ours == theirs


def test_log_file_with_pid_exec_and_cpu(tmp_path):
    elf = guest_build.build("hello", str(tmp_path))
    p = subprocess.run([armvm_path(), "-M", "virt", "-display", "none", "-nodefaults", "-serial", "null",
                        "-kernel", elf, "-d", "exec,cpu,nochain", "-D", str(tmp_path / "log-%d.txt")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stderr == ""
    logs = list(tmp_path.glob("log-*.txt"))
    assert len(logs) == 1 and re.fullmatch(r"log-\d+\.txt", logs[0].name)
    text = logs[0].read_text()
    main = main_address(elf)
    assert re.search(rf"^Trace 0: 0x[0-9a-f]+ \[00000000/{main:016x}/[0-9a-f]{{8}}/00000000\] main$", text, re.M)
    assert f"\n PC={main:016x} X00=" in text  # the registers before that block


@pytest.mark.parametrize("args,message", [
    (["-d", "bogus"], "armvm: -d bogus: unknown log item 'bogus' (-d help lists them)\n"),
    (["-dfilter", "0x10"], "armvm: -dfilter 0x10: Bad range specifier\n"),
    (["-dfilter", "0x10..0x5"], "armvm: -dfilter 0x10..0x5: Invalid range\n"),
    (["-d", "int", "-D", "/nonexistent/x"],
     "armvm: -D /nonexistent/x: Error opening logfile /nonexistent/x: No such file or directory\n"),
])
def test_bad_log_options(args, message):
    r = subprocess.run([armvm_path(), "-M", "virt", "-display", "none", "-nodefaults"] + args,
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and r.stderr == message


def test_d_help_lists_qemus_items():
    ours = subprocess.run([armvm_path(), "-d", "help"], capture_output=True, text=True, timeout=20)
    theirs = subprocess.run(["qemu-system-aarch64", "-d", "help"], capture_output=True, text=True, timeout=20)
    assert ours.returncode == 0 and ours.stdout == theirs.stdout


HMP = ["help log", "log foo", "help logfile", "logfile LOGDIR/lf.log", "log int,unimp", "log none",
       "logfile /nonexistent/x", "log in_asm"]


def test_hmp_log_and_logfile_as_qemu(tmp_path):
    outs = []
    for emu in (armvm_path(), "qemu-system-aarch64"):
        logdir = tmp_path / os.path.basename(emu)
        logdir.mkdir()
        outs.append(hmp_outputs(emu, ["-M", "virt", "-display", "none", "-nodefaults", "-S"],
                                [c.replace("LOGDIR", str(logdir)) for c in HMP], str(tmp_path / "h.sock")))
        assert (logdir / "lf.log").exists()
    assert outs[0] == outs[1]


def test_out_asm_shows_the_host_code_of_each_compiled_block_as_qemu_lays_it_out(tmp_path, monkeypatch):
    """-d out_asm: the JIT's shared stubs once (PROLOGUE), then each block's
    host code when it is compiled, framed and laid out as QEMU's (address,
    up to 8 bytes, the mnemonic in AT&T syntax; longer instructions go on).
    The code is armvm's own, not QEMU's: only the shape compares."""
    elf = guest_build.build("hello", str(tmp_path))
    monkeypatch.setenv("ARMVM_JIT", "eager")  # (every block compiled at once)
    _, err, ours = run_logged(armvm_path(), elf, "out_asm", tmp_path / "a.log")
    _, _, theirs = run_logged("qemu-system-aarch64", elf, "out_asm", tmp_path / "q.log")
    assert err == ""
    line = re.compile(r"^0x[0-9a-f]{8,}:  (?:[0-9a-f]{2} ){0,7}[0-9a-f]{2} *  \S+(?: .*)?$|"
                      r"^0x[0-9a-f]{8,}: (?: [0-9a-f]{2}){1,8}$")
    for log in (ours, theirs):
        blocks = log.split("\n\n")
        assert re.match(r"PROLOGUE: \[size=\d+\]\n", blocks[0])
        outs = [b for b in blocks if b.startswith("OUT: ")]
        assert len(outs) >= 3
        for b in outs:
            head, sub, *rest = b.split("\n")
            assert re.match(r"OUT: \[size=\d+\]$", head) and re.match(r"  -- guest addr 0x[0-9a-f]{16} \+ tb prologue$", sub)
            assert all(line.match(x) or x.startswith(("  -- ", "  data: ")) or ".quad" in x for x in rest if x), b
    # armvm's blocks: the ELF's entry first, x86-64 code in AT&T syntax
    assert "  -- guest addr 0x0000000040080000 + tb prologue\n" in ours
    assert re.search(r"  (movq|cmpq|leaq) +[%$(0-9]", ours)


def test_trace_events_write_what_qemus_write(tmp_path):
    """-d trace:PATTERN: the PL011's events for a guest printing a line are
    QEMU's, line for line (the serial port to a file, where QEMU polls no
    terminal)."""
    elf = guest_build.build("hello", str(tmp_path))
    logs = []
    for emu, name in ((armvm_path(), "a.log"), ("qemu-system-aarch64", "q.log")):
        r = subprocess.run([emu, "-M", "virt", "-cpu", "cortex-a57", "-display", "none", "-nodefaults",
                            "-serial", f"file:{tmp_path / ('out-' + name)}", "-kernel", elf,
                            "-d", "trace:pl011*", "-D", str(tmp_path / name)], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        logs.append((tmp_path / name).read_text())
    assert logs[0] == logs[1]
    assert "pl011_write addr 0x00000000 value 0x00000068\npl011_irq_state irq state 0\n" in logs[0]


def test_trace_events_of_a_linux_boot_have_qemus_shape(tmp_path):
    """Every event armvm has, switched on for a Linux boot with virtio on
    PCI and MMIO: each QEMU also writes comes in QEMU's form (numbers and
    addresses aside), and the PCI, GIC, PL011, fw_cfg and virtio ones
    carry the same values as QEMU's first."""
    from linux_guest import MARKER, guest_dir
    g = guest_dir()
    names = subprocess.run([armvm_path(), "-d", "trace:help"], capture_output=True, text=True).stdout.split()
    assert "pl011_read" in names and "gic_set_irq" in names and "arm_gt_cval_write" in names
    items = ",".join("trace:" + n for n in names)
    logs = {}
    for emu in (armvm_path(), "qemu-system-aarch64"):
        log = tmp_path / (os.path.basename(emu) + ".log")
        p = subprocess.Popen([emu, "-M", "virt", "-cpu", "cortex-a57", "-m", "512", "-display", "none",
                              "-nodefaults", "-serial", "stdio", "-kernel", os.path.join(g, "vmlinuz"),
                              "-initrd", os.path.join(g, "initramfs.cpio.gz"), "-append", "console=ttyAMA0",
                              "-device", "virtio-rng-pci", "-device", "virtio-rng-device", "-d", items,
                              "-D", str(log)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL)
        out = b""
        while MARKER not in out:  # (the guest is up, its virtio drivers loaded: PCI, GIC, timers all used)
            chunk = p.stdout.read1(4096)
            if not chunk:
                break
            out += chunk
        p.kill()
        p.wait()
        assert MARKER in out
        logs[emu] = log.read_text(errors="replace").splitlines()
    ours, theirs = logs[armvm_path()], logs["qemu-system-aarch64"]
    first = lambda lines, n: next((l for l in lines if l.startswith(n + " ")), None)  # noqa: E731
    shape = lambda l: re.sub(r"0x[0-9a-f]+|\b\d+\b", "N", l)  # noqa: E731
    both = [n for n in names if first(theirs, n) and first(ours, n)]
    assert len(both) >= 18, both
    for n in both:
        assert shape(first(ours, n)) == shape(first(theirs, n)), n
    for n in ("pl011_read", "pl011_write", "pci_cfg_read", "pci_cfg_write", "pci_update_mappings_add",
              "gic_dist_read", "gic_set_irq", "gic_acknowledge_irq", "gic_enable_irq", "virtio_mmio_read"):
        assert first(ours, n) == first(theirs, n), n
    # (fw_cfg's and virtio's name the device by its address in memory)
    strip = lambda l: re.sub(r"0x[0-9a-f]{12}", "P", l)  # noqa: E731
    for n in ("fw_cfg_select", "fw_cfg_read", "virtio_set_status", "virtio_queue_notify"):
        assert strip(first(ours, n)) == strip(first(theirs, n)), n


def test_trace_option_events_file_and_monitor_commands_as_qemu(tmp_path):
    """-trace [enable=]PATTERN,events=FILE,file=LOG; unknown names warned
    about as QEMU warns; HMP trace-event and info trace-events and QMP
    trace-event-get-state/-set-state as QEMU's for the events both have."""
    elf = guest_build.build("hello", str(tmp_path))
    (tmp_path / "events").write_text("# the UART's data traffic\npl011_*\n-pl011_irq_state\n")
    for emu, name in ((armvm_path(), "a.log"), ("qemu-system-aarch64", "q.log")):
        r = subprocess.run([emu, "-M", "virt", "-cpu", "cortex-a57", "-display", "none", "-nodefaults",
                            "-serial", f"file:{tmp_path / 'out'}", "-kernel", elf,
                            "-trace", f"events={tmp_path / 'events'},file={tmp_path / name}"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stderr == "", r.stderr
    ours, theirs = (tmp_path / "a.log").read_text(), (tmp_path / "q.log").read_text()
    assert ours == theirs and "pl011_write" in ours and "pl011_irq_state" not in ours
    warn = []
    for emu in (armvm_path(), "qemu-system-aarch64"):
        r = subprocess.run([emu, "-M", "none", "-display", "none", "-trace", "nosuch", "-trace", "enable=pl011_*",
                            "-d", "trace:nosuch2", "-S", "-monitor", "none", "-qmp", "none"],
                           capture_output=True, text=True, timeout=5)
        warn.append(r.stderr)
    # (-qmp none is refused by both, after the -trace warning)
    name = lambda t: t.replace("qemu-system-aarch64", "armvm")  # noqa: E731
    assert warn[0] and name(warn[1]).startswith(warn[0].splitlines()[0])


TRACE_HMP = ["help trace-event", "help info trace-events", "info trace-events pl011_read*", "trace-event pl011_write on",
             "info trace-events pl011_w*", "trace-event nosuch on", "info trace-events nosuch",
             "trace-event pl011_read maybe", "trace-event pl011_w* off", "info trace-events pl011_write"]


def test_trace_monitor_commands_as_qemus(tmp_path):
    from armvm_test import Qmp
    outs, replies = [], []
    for emu in (armvm_path(), "qemu-system-aarch64"):
        outs.append(hmp_outputs(emu, ["-M", "virt", "-display", "none", "-nodefaults", "-S"], TRACE_HMP,
                                str(tmp_path / (os.path.basename(emu) + ".hmp"))))
        sock = str(tmp_path / (os.path.basename(emu) + ".qmp"))  # (each its own: no stale socket to reach)
        p = subprocess.Popen([emu, "-M", "none", "-display", "none", "-S", "-qmp", f"unix:{sock},server=on,wait=off"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            q = Qmp.connect_unix(sock, timeout=20)
            q.negotiate()
            r = [q.cmd("trace-event-get-state", {"name": "pl011_r*"}),
                 q.cmd("trace-event-set-state", {"name": "pl011_read", "enable": True}),
                 q.cmd("trace-event-get-state", {"name": "pl011_read"}),
                 q.cmd("trace-event-set-state", {"name": "nosuch", "enable": True}),
                 q.cmd("trace-event-get-state", {"name": "nosuch"}),
                 q.cmd("trace-event-get-state", {"name": "nosuch*"})]
            replies.append(r)
        finally:
            p.kill()
            p.wait()
    assert outs[0] == outs[1]
    assert "pl011_write : state 1" in outs[0][4] and "pl011_write : state 0" in outs[0][9]
    assert replies[0] == replies[1]
    assert replies[0][2] == {"return": [{"name": "pl011_read", "vcpu": False, "state": "enabled"}]}
