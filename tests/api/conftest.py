import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from senim_harness import Senim  # noqa: E402


@pytest.fixture(scope="module")
def senim():
    """A running server shared by one test module; stopped cleanly after it."""
    s = Senim().start()
    yield s
    rc = s.stop()
    assert rc == 0, "senim did not stop cleanly (exit %r); log:\n%s" % (rc, s.read_log()[-4000:])


@pytest.fixture(scope="module")
def admin(senim):
    return senim.service_token("admin-bot", "admin")
