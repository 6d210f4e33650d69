"""A PostgreSQL restart under load: JSON 503s while it is away, nothing lost.

The test runs its own PostgreSQL cluster (it must stop it) with engage
migrated into it, and gunicorn on top. Two clients send batches as an SDK
does, sending a batch again, same messageIds, until it is acknowledged.
PostgreSQL is restarted twice mid-load: a fast restart (what an operator or
a package upgrade does), then an immediate stop, a pause and a start (what a
crash of the database server looks like: recovery from the WAL). While it is
away every answer must be a JSON 503 with ``Retry-After``, never a 500 or an
HTML page; once it is back, ingestion recovers on its own, and every event
answered with 200 is stored exactly once.
"""

import json
import subprocess
import sys
import time
from collections import Counter

import psycopg
import pytest

from engage.events.models import Event
from tests.live_processes import ROOT, EventLoad, gunicorn, postgres_cluster, process_env

pytestmark = pytest.mark.slow

EVENTS_BETWEEN_OUTAGES = 60
OUTAGE_SECONDS = 1.0


# Migrate and create the workspace in one process: Django starts once.
SET_UP = (
    "from django.core.management import call_command; "
    "call_command('migrate', verbosity=0); call_command('create_workspace', 'restart')"
)


def set_up(env: dict[str, str]) -> str:
    """Migrate the new database and create a workspace; returns its write key."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SET_UP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])["write_key"]


def stored_message_ids(database_url: str) -> Counter:
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        rows = conn.execute(f"SELECT message_id FROM {Event._meta.db_table}")
        return Counter(message_id for (message_id,) in rows)


def test_a_postgresql_restart_under_load_answers_json_503s_and_loses_nothing(tmp_path):
    with postgres_cluster() as postgres:
        env = process_env(DATABASE_URL=postgres.url)
        write_key = set_up(env)

        with gunicorn(env, tmp_path, workers=2) as url, EventLoad(url, write_key) as load:
            load.wait_for_acks(EVENTS_BETWEEN_OUTAGES)
            load.wait_in_flight()
            postgres.restart("fast")
            load.wait_for_acks(len(load.acked) + EVENTS_BETWEEN_OUTAGES)

            load.wait_in_flight()
            postgres.stop("immediate")
            time.sleep(OUTAGE_SECONDS)
            postgres.start()
            load.wait_for_acks(len(load.acked) + EVENTS_BETWEEN_OUTAGES)

        stored = stored_message_ids(postgres.url)

    refused = [a for a in load.answers if a.status != 200]
    assert refused, "no request reached the server while PostgreSQL was away"
    for answer in refused:
        assert answer.status == 503, answer
        assert answer.content_type == "application/json", answer
        assert answer.retry_after, answer
        assert json.loads(answer.body)["code"] == "unavailable"

    assert set(load.acked) <= set(stored), "acknowledged events were lost"
    assert max(stored.values()) == 1
    # Every batch was finally acknowledged, and nothing else was stored.
    assert sorted(load.acked) == sorted(load.sent) == sorted(stored)
