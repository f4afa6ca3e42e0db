import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import armvm_test  # noqa: E402

armvm_test.become_subreaper()


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _no_leftover_orphans():
    armvm_test.reap_orphans(0, timeout=0)
    yield
