"""The same definitions on the embedded default, SQLite (slower, same members).

The suite runs on PostgreSQL, so the compiler, membership and real-time tests
are run again in a subprocess whose database is a SQLite file.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_definitions_and_membership_work_the_same_on_sqlite(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'engage.sqlite3'}"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/segments/test_compiler.py",
            "tests/segments/test_membership.py",
            "tests/segments/test_realtime.py",
            "-q",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
