"""The first README command on the embedded default: SQLite, no broker.

Runs in a subprocess with its own SQLite file, as a newcomer's machine would,
so it also proves that migrations, ingestion storage and processing work on
SQLite and not only on the PostgreSQL the rest of the suite uses.
"""

import json
import re
import socket
import sqlite3
from pathlib import Path

import pytest

from tests.live_processes import ROOT, free_port, run_embedded


def manage(*args: str, db: Path) -> str:
    return managed(*args, db=db).stdout


def managed(*args: str, db: Path):
    result = run_embedded(["manage.py", *args], db, DEBUG="1")
    assert result.returncode == 0, result.stderr
    return result


def run_demo(db: Path) -> str:
    return demo(db).stdout


def demo(db: Path):
    """The demo command on a free port (it refuses a busy one)."""
    return managed("demo", "--port", str(free_port()), db=db)


def rows(db: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> tuple[Path, str, str]:
    """A fresh embedded database, and the output and log of the demo's first run on it."""
    db = tmp_path_factory.mktemp("demo") / "engage.sqlite3"
    manage("migrate", "--no-input", "-v0", db=db)
    done = demo(db)
    return db, done.stdout, done.stderr


@pytest.fixture(scope="module")
def demo_db(first_run) -> Path:
    return first_run[0]


def test_demo_seeds_one_customer_from_a_journey_across_devices_and_channels(first_run):
    demo_db, out, _ = first_run

    assert re.search(r"write key\s+\(ingest only\): wk_\S{20,}", out)
    assert re.search(r"secret key \(read/manage\): sk_\S{20,}", out)
    assert (
        "one customer from 7 events on 2 devices and 3 channels (mobile, web, whatsapp); "
        "1 merge in effect"
    ) in out
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


def test_the_walk_through_logs_no_warning(first_run):
    # Inline tasks still acquire a Celery producer: without a broker of its
    # own it connected to a default host, and kombu's warning came out in
    # the middle of the customer's ledger.
    _, _, log = first_run
    assert [line for line in log.splitlines() if " WARNING " in line] == []


def count_keys(demo_db: Path) -> int:
    return rows(demo_db, "SELECT COUNT(*) FROM workspaces_apikey WHERE revoked_at IS NULL")[0][0]


def printed_keys(out: str) -> list[str]:
    return re.findall(r"\b(?:wk|sk)_\S+", out)[:2]


def test_running_the_demo_again_prints_the_same_keys_and_login_and_stores_nothing_twice(demo_db):
    def count_stored() -> list[tuple]:
        return [
            rows(demo_db, f"SELECT COUNT(*) FROM {table}")[0]
            for table in ("events_event", "messaging_message", "journeys_enrollment")
        ]

    first = run_demo(demo_db)
    keys_before, stored_before = count_keys(demo_db), count_stored()
    second = run_demo(demo_db)

    assert printed_keys(first) == printed_keys(second)
    assert count_keys(demo_db) == keys_before == 2  # no pile of pairs
    password = re.search(r"\(user 'admin', password '([^']+)'\)", first).group(1)
    assert f"(user 'admin', password '{password}')" in second
    seeded = rows(demo_db, "SELECT COUNT(*) FROM events_event WHERE message_id LIKE 'demo-%'")
    assert seeded == [(8,)]  # Ada's seven events and her cart, once each
    assert count_stored() == stored_before  # no second walk of the journey


def test_a_revoked_demo_key_is_replaced_and_a_changed_password_not_shown(demo_db):
    [before] = rows(demo_db, "SELECT write_key, secret_key FROM demo_demoaccess")
    with sqlite3.connect(demo_db) as db:
        db.execute(
            "UPDATE workspaces_apikey SET revoked_at = CURRENT_TIMESTAMP WHERE kind = 'write'"
        )
        db.execute("UPDATE auth_user SET password = '!' WHERE username = 'admin'")

    out = run_demo(demo_db)

    after = printed_keys(out)
    assert after[0] != before[0] and after[1] != before[1]
    assert count_keys(demo_db) == 2  # the new pair; the old secret key was revoked with it
    assert "`scripts/manage changepassword admin` sets a new one" in out
    assert "password '" not in out


def test_a_busy_port_is_refused_before_any_key_is_printed(demo_db):
    keys_before = count_keys(demo_db)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_embedded(["manage.py", "demo", "--port", str(port)], demo_db, DEBUG="1")

    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert f"PORT={port + 1} scripts/demo" in result.stderr
    assert not re.search(r"\b(?:wk|sk)_", result.stdout + result.stderr)
    assert count_keys(demo_db) == keys_before


def test_the_printed_example_reads_the_customer_back(demo_db, tmp_path):
    out = run_demo(demo_db)
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


def test_the_first_run_walks_the_customer_through_the_cart_journey(first_run):
    demo_db, out, _ = first_run

    [(journey_id, status, version)] = rows(
        demo_db,
        "SELECT j.id, j.status, v.number FROM journeys_journey j"
        " JOIN journeys_journeyversion v ON v.id = j.live_version_id",
    )
    assert (status, version) == ("live", 1)
    [(profile_id,)] = rows(
        demo_db, "SELECT profile_id FROM profiles_identity WHERE value = 'cust-1001'"
    )
    [(enrollment, end_reason)] = rows(
        demo_db,
        "SELECT id, end_reason FROM journeys_enrollment WHERE journey_id = ? AND profile_id = ?",
        journey_id,
        profile_id,
    )
    assert end_reason == "completed"

    ledger = rows(
        demo_db,
        "SELECT action, reason, COALESCE(journey_node_id, ''), channel"
        " FROM messaging_messagedecision WHERE profile_id = ? ORDER BY id",
        profile_id,
    )
    assert ledger == [
        ("enter", "event", "pause", ""),
        ("wait", "duration", "pause", ""),
        ("wake", "timeout", "pause", ""),
        ("send", "queued", "nudge", "inapp"),
        ("wait", "response", "listen", ""),
        ("send", "sent", "nudge", "inapp"),
        ("wake", "timeout", "listen", ""),
        ("send", "queued", "email", "email"),
        ("exit", "completed", "done", ""),
        ("send", "sent", "email", "email"),
    ]
    # The same steps, printed as they happened.
    printed = re.findall(r"^  \d\d:\d\d:\d\d  (\w+) +(\w+) +(\w+)", out, re.MULTILINE)
    assert printed == [(action, reason, node) for action, reason, node, _ in ledger]

    inbox = rows(
        demo_db,
        "SELECT m.subject, m.body FROM inbox_inboxentry e"
        " JOIN messaging_message m ON m.id = e.message_id WHERE e.profile_id = ?",
        profile_id,
    )
    assert inbox == [("Still thinking about it?", "Your Down jacket is waiting in your cart.")]
    [(to, subject, html, message_status, enrollment_of_mail)] = rows(
        demo_db,
        'SELECT o."to", o.subject, o.html, m.status, m.enrollment_id'
        " FROM demo_outboxemail o JOIN messaging_message m ON m.id = o.message_id",
    )
    assert (to, subject, message_status) == (
        "ada@example.com",
        "Ada, you left something behind",
        "sent",
    )
    assert "<strong>Down jacket</strong> (149.0 EUR)" in html
    assert enrollment_of_mail == enrollment
    assert f"/admin/profiles/profile/{profile_id}/change/" in out
    assert "/admin/demo/outboxemail/" in out


def test_the_send_example_of_the_messaging_docs_sends_to_the_outbox(demo_db):
    docs = (ROOT / "docs" / "messaging.md").read_text()
    example = json.loads(re.search(r"## Sending.*?```json\n(.*?)```", docs, re.DOTALL).group(1))
    [(ada,)] = rows(demo_db, "SELECT profile_id FROM profiles_identity WHERE value = 'cust-1001'")
    example["profile_id"] = ada
    secret = re.search(r"sk_\S+", run_demo(demo_db)).group(0)
    script = (
        "import django, json, os;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
        "django.setup();"
        "from django.test import Client;"
        f"r = Client().post('/api/messages/send', {json.dumps(example)!r},"
        " content_type='application/json',"
        f" HTTP_AUTHORIZATION='Bearer {secret}', HTTP_HOST='127.0.0.1');"
        "print(json.dumps([r.status_code, r.json()]))"
    )

    status, message = json.loads(manage("shell", "-c", script, db=demo_db).splitlines()[-1])

    assert (status, message["status"]) == (202, "sent")
    assert rows(
        demo_db,
        'SELECT "to", subject FROM demo_outboxemail WHERE message_id = ?',
        message["id"],
    ) == [("ada@example.com", "Back in stock, Ada")]


def test_the_admin_shows_the_customers_ledger_and_the_outbox(first_run):
    demo_db, _, _ = first_run
    [(ada,)] = rows(demo_db, "SELECT profile_id FROM profiles_identity WHERE value = 'cust-1001'")
    script = (
        "import django, json, os, re;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
        "django.setup();"
        "from django.contrib.auth.models import User;"
        "from django.test import Client;"
        "c = Client(HTTP_HOST='127.0.0.1');"
        "c.force_login(User.objects.get(username='admin'));"
        "page = lambda url: c.get(url).content.decode();"
        "text = lambda url: re.sub(r'\\s+', ' ', re.sub('<[^>]+>', ' ', page(url)));"
        f"print(json.dumps([text('/admin/profiles/profile/{ada}/change/'),"
        " text('/admin/demo/outboxemail/')]))"
    )

    profile_page, outbox = json.loads(manage("shell", "-c", script, db=demo_db).splitlines()[-1])

    ledger = profile_page.split("ledger", 1)[1]
    steps = ["left a journey completed", "woke timeout", "waited response", "sent queued inapp"]
    steps += ["woke timeout", "waited duration", "entered a journey event"]  # newest first
    at = 0
    for step in steps:
        at = ledger.find(step, at)
        assert at >= 0, f"{step!r} missing or out of order in: {ledger[:2000]}"
        at += len(step)
    assert "ada@example.com Ada, you left something behind" in outbox
