"""The same definitions on the embedded default, SQLite (slower, same members).

The suite runs on PostgreSQL, so the compiler, membership and real-time tests
are run again in a subprocess whose database is a SQLite file.
"""

import pytest

from tests.live_processes import run_embedded


@pytest.mark.slow
def test_definitions_and_membership_work_the_same_on_sqlite(tmp_path):
    result = run_embedded(
        [
            "-m",
            "pytest",
            "tests/segments/test_compiler.py",
            "tests/segments/test_membership.py",
            "tests/segments/test_realtime.py",
            "tests/segments/test_recheck_agrees.py",
            "-q",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
        ],
        tmp_path / "engage.sqlite3",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
