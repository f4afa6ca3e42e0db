"""Random A64 streams (control flow, self-modifying code and exceptions
among them): armvm's CPU core against qemu-aarch64 (a short run here;
scripts/cpu-diff runs long ones)."""
import os
import shutil
import sys

import pytest

from armvm_test import armvm_path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cpu"))
import diffgen  # noqa: E402


def user_runner():
    return os.path.join(os.path.dirname(armvm_path()), "tests", "armvm-user-run")


@pytest.mark.skipif(not shutil.which("qemu-aarch64") or not shutil.which(diffgen.CC),
                    reason="qemu-user and gcc-aarch64-linux-gnu are installed by scripts/install-deps")
@pytest.mark.parametrize("seed,jit,cpu", [(1, "eager", "cortex-a57"), (2, "eager", "cortex-a57"),
                                          (3, "eager", "cortex-a57"), (4, "0", "cortex-a57"), (5, "eager", "max"),
                                          (6, "0", "max")])
def test_random_integer_streams_match_qemu(seed, jit, cpu, monkeypatch):
    """jit: every block compiled to host code the first time it runs, or
    the interpreter alone; cpu: the model both run (max: with the groups
    of its later features)."""
    monkeypatch.setenv("ARMVM_JIT", jit)
    monkeypatch.setattr(diffgen, "CPU", cpu)
    mismatches, total, groups = diffgen.run(user_runner(), cases=40, insns=250, seed=seed)
    assert total >= 40 * 250 * 3 // 4  # (what runs before a case's exception)
    assert set(groups) == set(diffgen.usable())  # every group exercised
    assert (cpu == "max") == bool(diffgen.MAX_GROUPS & set(groups))
    assert diffgen.run.signal_cases >= 3  # (cases whose state is compared at an exception)
    assert mismatches == [], mismatches[:5]


@pytest.mark.skipif(not shutil.which("qemu-aarch64") or not shutil.which(diffgen.CC),
                    reason="qemu-user and gcc-aarch64-linux-gnu are installed by scripts/install-deps")
@pytest.mark.parametrize("cpu", ["cortex-a57", "max"])
def test_reserved_encodings_are_undefined_on_both(cpu, monkeypatch):
    """(on cortex-a57 also the encodings of max's later features)"""
    monkeypatch.setattr(diffgen, "CPU", cpu)
    assert diffgen.run_reserved(user_runner()) == []
