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
@pytest.mark.parametrize("seed,jit", [(1, "eager"), (2, "eager"), (3, "eager"), (4, "0")])
def test_random_integer_streams_match_qemu(seed, jit, monkeypatch):
    """jit: every block compiled to host code the first time it runs, or
    the interpreter alone."""
    monkeypatch.setenv("ARMVM_JIT", jit)
    mismatches, total, groups = diffgen.run(user_runner(), cases=40, insns=250, seed=seed)
    assert total >= 40 * 250 * 3 // 4  # (what runs before a case's exception)
    assert set(groups) == set(diffgen.GROUPS)  # every group exercised
    assert diffgen.run.signal_cases >= 3  # (cases whose state is compared at an exception)
    assert mismatches == [], mismatches[:5]


@pytest.mark.skipif(not shutil.which("qemu-aarch64") or not shutil.which(diffgen.CC),
                    reason="qemu-user and gcc-aarch64-linux-gnu are installed by scripts/install-deps")
def test_reserved_encodings_are_undefined_on_both():
    assert diffgen.run_reserved(user_runner()) == []
