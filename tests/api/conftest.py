import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from senim_harness import Senim, sanitizer_reports  # noqa: E402


@pytest.fixture(autouse=True)
def no_sanitizer_reports():
    """Fail the test after which any server or CLI run has reported a
    sanitizer finding not seen before (a ThreadSanitizer race leaves the
    server running and answering, so only its stderr shows it).  A report
    from a fixture's setup fails the first test that uses it."""
    yield
    found = sanitizer_reports()
    if found:
        pytest.fail("sanitizer report during this test:\n" + "\n".join(found)[:8000],
                    pytrace=False)


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


def pytest_sessionfinish(session, exitstatus):
    """Reports written after the last test (servers stopping in fixture
    teardown) fail the run too."""
    found = sanitizer_reports()
    if found:
        sys.stderr.write("sanitizer report after the last test:\n" + "\n".join(found)[:8000])
        session.exitstatus = 1
