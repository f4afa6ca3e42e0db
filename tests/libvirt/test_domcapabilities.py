"""The real libvirt 9.0 probes armvm: `virsh domcapabilities` must finish
(INCIDENTS.md #1) and describe what armvm offers."""
import os
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from armvm_test import armvm_path, become_subreaper
from libvirt_daemons import LibvirtDaemons

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="libvirtd must run as root")


@pytest.fixture(scope="module")
def daemons():
    become_subreaper(False)
    d = LibvirtDaemons()
    d.start()
    yield d
    d.stop()
    become_subreaper(True)


def domcaps(emulator, machine="virt"):
    t0 = time.time()
    p = subprocess.run(["virsh", "-c", "qemu:///system", "domcapabilities", "--emulatorbin", emulator,
                        "--arch", "aarch64", "--virttype", "qemu", "--machine", machine],
                       capture_output=True, text=True, timeout=30)
    return p, time.time() - t0


def test_domcapabilities(daemons):
    emu = daemons.install_emulator(armvm_path())
    p, elapsed = domcaps(emu)
    assert p.returncode == 0, p.stderr
    assert elapsed < 30
    caps = ET.fromstring(p.stdout)
    assert caps.findtext("path") == emu
    assert caps.findtext("domain") == "qemu"
    assert caps.findtext("machine") == "virt-7.2"
    assert caps.findtext("arch") == "aarch64"
    assert caps.find("vcpu").get("max") == "8"
    gic = caps.find("./features/gic")
    assert gic.get("supported") == "yes"
    assert sorted(v.text for v in gic.findall("./enum[@name='version']/value")) == ["2", "3"]
    models = {m.text for m in caps.findall("./cpu/mode[@name='custom']/model")}
    assert {"cortex-a53", "cortex-a57", "cortex-a72", "neoverse-n1", "max"} <= models
    assert caps.find("./cpu/mode[@name='maximum']").get("supported") == "yes"
    # A TPM 2.0 in swtpm, started by libvirt or by the user (virt-install
    # then gives every UEFI domain one).
    tpm = caps.find("./devices/tpm")
    assert tpm.get("supported") == "yes"
    assert [v.text for v in tpm.findall("./enum[@name='model']/value")] == ["tpm-tis"]
    assert [v.text for v in tpm.findall("./enum[@name='backendModel']/value")] == ["emulator", "external"]
    # No probe daemon is left behind: libvirt kills it by the pidfile's pid.
    time.sleep(0.2)
    ps = subprocess.run(["pgrep", "-f", emu], capture_output=True, text=True)
    assert ps.stdout.strip() == ""


def test_domcapabilities_second_call_is_cached_and_none_is_not_a_machine(daemons):
    emu = daemons.install_emulator(armvm_path())
    p, _ = domcaps(emu)
    assert p.returncode == 0
    p, _ = domcaps(emu, machine="none")
    # libvirt skips "none"; asking for it is an error from libvirt, not a hang.
    assert p.returncode != 0
    assert "none" in p.stderr
