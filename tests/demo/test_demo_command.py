"""The first README command on the embedded default: SQLite, no broker.

Runs in a subprocess with its own SQLite file, as a newcomer's machine would,
so it also proves that migrations, ingestion storage and processing work on
SQLite and not only on the PostgreSQL the rest of the suite uses.
"""

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.live_processes import run_embedded


def manage(*args: str, db: Path) -> str:
    result = run_embedded(["manage.py", *args], db, DEBUG="1")
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "engage.sqlite3"
    manage("migrate", "--no-input", "-v0", db=db)
    return db


def test_demo_seeds_one_customer_from_a_journey_across_devices_and_channels(demo_db):
    out = manage("demo", "--port", "8123", db=demo_db)

    assert re.search(r"write key\s+\(ingest only\): wk_\S{20,}", out)
    assert re.search(r"secret key \(read/manage\): sk_\S{20,}", out)
    assert "one customer from 7 events on 3 channels" in out
    for identity in (
        "anonymous_id=ada-laptop-cookie",
        "anonymous_id=ada-phone-install",
        "device_id=iphone-ada-01",
        "email=ada@example.com",
        "phone=+442079460958",
        "user_id=cust-1001",
    ):
        assert identity in out
    with sqlite3.connect(demo_db) as db:
        profiles = db.execute(
            "SELECT COUNT(*) FROM profiles_profile WHERE merged_into_id IS NULL"
        ).fetchone()[0]
        unprocessed = db.execute(
            "SELECT COUNT(*) FROM events_event WHERE processed_at IS NULL"
        ).fetchone()[0]
    assert (profiles, unprocessed) == (1, 0)


def test_running_the_demo_again_issues_new_keys_and_stores_nothing_twice(demo_db):
    def count_keys() -> int:
        with sqlite3.connect(demo_db) as db:
            return db.execute(
                "SELECT COUNT(*) FROM workspaces_apikey WHERE revoked_at IS NULL"
            ).fetchone()[0]

    first = manage("demo", db=demo_db)
    keys_before = count_keys()
    second = manage("demo", db=demo_db)

    keys = [re.findall(r"\b(?:wk|sk)_\S+", out)[:2] for out in (first, second)]
    assert keys[0] != keys[1]
    with sqlite3.connect(demo_db) as db:
        assert db.execute("SELECT COUNT(*) FROM events_event").fetchone()[0] == 7
    assert count_keys() == keys_before + 2  # every run's pair still works; none was revoked


def test_the_printed_example_reads_the_customer_back(demo_db, tmp_path):
    out = manage("demo", db=demo_db)
    secret = re.search(r"sk_\S+", out).group(0)
    script = (
        "import django, json, os;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
        "django.setup();"
        "from django.test import Client;"
        f"r = Client().get('/api/profiles/lookup', {{'user_id': 'cust-1001'}},"
        f" HTTP_AUTHORIZATION='Bearer {secret}', HTTP_HOST='127.0.0.1');"
        "print(json.dumps([r.status_code, r.json()]))"
    )
    status, profile = json.loads(manage("shell", "-c", script, db=demo_db).splitlines()[-1])
    assert status == 200
    assert profile["traits"]["first_name"] == "Ada"
    assert {"kind": "email", "value": "ada@example.com"} in profile["identities"]
