"""A TPM 2.0 as libvirt's default aarch64 domain has one: `-chardev
socket,path=SWTPM-CTRL -tpmdev emulator,chardev=… -device
tpm-tis-device,tpmdev=…`. The device (TIS registers on the platform bus),
its device tree node and ACPI (TPM2 table, \\_SB.TPM0, the event log area)
are QEMU's; UEFI firmware (AAVMF) measures the boot into swtpm through it
with the same TPM commands as on QEMU, and hands the event log to Linux."""
import os
import shutil
import subprocess
import time

import pytest

from armvm_test import Qmp, armvm_path, run_armvm
from linux_guest import Guest

AAVMF_CODE = "/usr/share/AAVMF/AAVMF_CODE.fd"
AAVMF_VARS = "/usr/share/AAVMF/AAVMF_VARS.fd"


class Swtpm:
    """swtpm with its control socket; its log lists the TPM commands it ran."""

    def __init__(self, d):
        self.dir, self.sock, self.log = d, str(d / "swtpm.sock"), d / "swtpm.log"
        (d / "state").mkdir()
        self.p = subprocess.Popen(["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={d / 'state'}",
                                   "--ctrl", f"type=unixio,path={self.sock}", "--log", f"file={self.log},level=20",
                                   "--flags", "not-need-init"])
        for _ in range(100):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)

    def args(self):
        return ["-chardev", f"socket,id=chrtpm,path={self.sock}", "-tpmdev", "emulator,id=tpm-tpm0,chardev=chrtpm",
                "-device", "tpm-tis-device,tpmdev=tpm-tpm0,id=tpm0"]

    def commands(self):
        """The command codes of the TPM commands run since the last call."""
        lines = self.log.read_text().splitlines()
        self.log.write_text("")
        out = []
        for i, ln in enumerate(lines):
            if ln.strip().startswith("SWTPM_IO_Read:") and i + 1 < len(lines):
                b = lines[i + 1].split()
                if len(b) >= 10:
                    out.append("".join(b[6:10]))
        return out

    def stop(self):
        self.p.kill()
        self.p.wait()


@pytest.fixture
def swtpm(tmp_path):
    if not shutil.which("swtpm"):
        pytest.skip("swtpm comes from scripts/install-deps")
    t = Swtpm(tmp_path)
    yield t
    t.stop()


READ_FW_CFG = ("cd /sys/firmware/qemu_fw_cfg/by_name; for f in etc/acpi/rsdp etc/acpi/tables etc/table-loader "
               "etc/tpm/log; do echo \"== $f\"; if [ -e $f/raw ]; then sha256sum < $f/raw; cat $f/size; fi; done")
# The TIS registers of localities 0 and 1 at reset, then locality 0 taken
# and made ready for a command (busybox devmem: the guest has no TIS driver).
REGS = ("for o in 0 8 c 10 14 18 30 f00 1000 1018; do devmem $((0x0c000000 + 0x$o)) 32; done; "
        "devmem 0x0c000000 8 2; devmem 0x0c000000 8; devmem 0x0c000018 32; "
        "devmem 0x0c000018 32 0x40; devmem 0x0c000018 32; devmem 0x0c000019 16; "
        "cat /proc/device-tree/platform-bus@c000000/tpm_tis@0/compatible; echo; "
        "od -An -tx1 /proc/device-tree/platform-bus@c000000/tpm_tis@0/reg")


def test_the_tpm_device_and_its_acpi_tables_are_qemus(swtpm):
    extra = ["-cpu", "cortex-a57", "-smp", "2"] + swtpm.args()
    with Guest(armvm_path(), extra) as g:
        ours = g.ok(READ_FW_CFG) + "\n" + g.ok(REGS)
        g.kill()
    with Guest("qemu-system-aarch64", extra) as q:
        theirs = q.ok(READ_FW_CFG) + "\n" + q.ok(REGS)
        q.kill()
    assert ours == theirs
    assert ours.count("  -") == 4  # (the four files are there)
    assert "tcg,tpm-tis-mmio" in ours


def test_qmp_reports_the_tpm_as_qemu_does(tmp_path, swtpm):
    """query-tpm-types/-models (what libvirt's probe asks before it offers
    a TPM in domcapabilities, so virt-install adds one to a UEFI domain)
    and query-tpm of a running TPM: QEMU's replies. (Passthrough of a host
    TPM is the one thing QEMU lists that armvm does not have.)"""
    replies = {}
    for emu in ("qemu-system-aarch64", armvm_path()):
        sock = str(tmp_path / "qmp.sock")
        p = subprocess.Popen([emu, "-M", "virt", "-nodefaults", "-display", "none", "-S",
                              "-qmp", f"unix:{sock},server=on,wait=off"] + swtpm.args(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            q = Qmp.connect_unix(sock, timeout=20)
            q.negotiate()
            replies[emu] = [q.ok(c) for c in ("query-tpm-types", "query-tpm-models", "query-tpm")]
            q.close()
        finally:
            p.kill()
            p.wait()
        os.unlink(sock)
    types, models, tpm = replies[armvm_path()]
    qtypes, qmodels, qtpm = replies["qemu-system-aarch64"]
    assert types == ["emulator"] and set(types) <= set(qtypes)
    assert models == qmodels == ["tpm-tis"]
    assert tpm == qtpm == [{"id": "tpm-tpm0", "model": "tpm-tis",
                            "options": {"type": "emulator", "data": {"chardev": "chrtpm"}}}]


@pytest.mark.skipif(not os.path.exists(AAVMF_CODE), reason="qemu-efi-aarch64 comes from scripts/install-deps")
def test_uefi_measures_the_boot_into_swtpm_as_on_qemu(tmp_path, swtpm):
    runs = {}
    for emu in ("qemu-system-aarch64", armvm_path()):
        vars_ = tmp_path / "vars.fd"
        shutil.copyfile(AAVMF_VARS, vars_)
        extra = ["-cpu", "cortex-a57", "-drive", f"if=pflash,unit=0,format=raw,readonly=on,file={AAVMF_CODE}",
                 "-drive", f"if=pflash,unit=1,format=raw,file={vars_}"] + swtpm.args()
        swtpm.commands()
        with Guest(emu, extra, boot_timeout=300) as g:
            log = g.ok("dmesg")
            g.kill()
        runs[emu] = (swtpm.commands(), log)
    theirs, ours = runs["qemu-system-aarch64"][0], runs[armvm_path()][0]
    # TPM2_Startup, TPM2_SelfTest, capabilities, and the PCR extends of the
    # measured boot: the same commands in the same order.
    assert ours == theirs
    assert "00000144" in ours and ours.count("00000182") >= 10, ours
    log = runs[armvm_path()][1]
    assert "TPMEventLog=" in log and "ACPI: TPM2 " in log


def test_tpm_option_errors_are_qemus(tmp_path):
    cases = [
        (["-device", "tpm-tis-device"], "-device tpm-tis-device: 'tpmdev' property is required"),
        (["-device", "tpm-tis-device,tpmdev=zz"],
         "-device tpm-tis-device,tpmdev=zz: Property 'tpm-tis-device.tpmdev' can't find value 'zz'"),
        (["-tpmdev", "emulator,id=t0"], "-tpmdev emulator,id=t0: tpm-emulator: parameter 'chardev' is missing"),
    ]
    for args, msg in cases:
        r = run_armvm(["-M", "virt", "-nodefaults", "-display", "none"] + args)
        assert r.returncode == 1 and r.stderr == f"armvm: {msg}\n", (args, r.stderr)
        q = subprocess.run(["qemu-system-aarch64", "-M", "virt", "-nodefaults", "-display", "none"] + args,
                           capture_output=True, text=True, timeout=20)
        assert q.stderr.splitlines()[0] == f"qemu-system-aarch64: {msg}", q.stderr
    # Nobody listening on the control socket: one clear error.
    r = run_armvm(["-M", "virt", "-nodefaults", "-display", "none", "-chardev",
                   f"socket,id=c0,path={tmp_path / 'none.sock'}", "-tpmdev", "emulator,id=t0,chardev=c0",
                   "-device", "tpm-tis-device,tpmdev=t0"])
    assert r.returncode == 1 and "tpm-emulator: Failed to connect" in r.stderr, r.stderr
    out = run_armvm(["-tpmdev", "help"]).stdout
    q = subprocess.run(["qemu-system-aarch64", "-tpmdev", "help"], capture_output=True, text=True)
    assert out == q.stdout + q.stderr  # (QEMU prints it on stderr)
