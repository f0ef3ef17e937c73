"""The bench-only seeding path (bench/retention) stays out of real builds.

`senim bench seed-subjects` writes made-up borrowers straight through the
registration's seal and write; it exists only in builds made with
-DSENIM_BENCH=ON (src/cli/cmd_bench.c).  The tests' build is not one: the
command is unknown there, a usage error that writes nothing.
"""
import subprocess

from senim_harness import BIN


def test_no_bench_command_without_the_bench_build(senim):
    before = senim.sql("SELECT COUNT(*) FROM subjects")[0][0]
    p = senim.cli("bench", "seed-subjects", "10", check=False)
    assert p.returncode == 2, p
    assert senim.sql("SELECT COUNT(*) FROM subjects")[0][0] == before
    top = subprocess.run([BIN, "--help"], capture_output=True, timeout=30)
    assert b"bench" not in top.stdout
