"""Rows that cannot be loaded never block the queue, a timeline or an export.

The rows are written straight into the table, as an older version (or another
program) could have stored them: a time PostgreSQL keeps but Python cannot
read, JSON nested far too deep to decode. On the embedded SQLite default the
same file runs again in a subprocess, where a malformed time string and deep
JSON text are the poisons.
"""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from engage.events.models import Event
from engage.events.processing import process_pending
from engage.privacy.services import erase_profile
from engage.profiles.models import Profile
from tests.identity_helpers import pending_event, profile_of
from tests.live_processes import run_embedded

POSTGRES = connection.vendor == "postgresql"
GOOD_TIME = "2025-01-01 00:00:00+00" if POSTGRES else "2025-01-01 00:00:00"


def nested(depth: int) -> str:
    return '{"x":' + "[" * depth + "]" * depth + "}"


# What each kind of poison looks like in the table, per database.
POISONS = {
    "before year 1": {"timestamp": "0001-01-01 00:00:00+05" if POSTGRES else "0000-12-31 19:00:00"},
    "after year 9999": {
        "timestamp": "9999-12-31 23:00:00-05" if POSTGRES else "10000-01-01 04:00:00"
    },
    "too deep to load": {"properties": nested(1500)},  # SQLite keeps up to ~2000
}
REASONS = {
    "before year 1": "timestamp: cannot be read",
    "after year 9999": "timestamp: cannot be read",
    "too deep to load": "properties: nested too deeply to load",
}


def insert_raw(
    workspace,
    message_id: str,
    *,
    timestamp: str = GOOD_TIME,
    properties: str = "{}",
    profile: Profile | None = None,
) -> int:
    """Store an event row with SQL, bypassing ingestion and the ORM; returns its id."""
    as_time = "::timestamptz" if POSTGRES else ""
    as_json = "::jsonb" if POSTGRES else ""
    processed = GOOD_TIME if profile else None
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO events_event (workspace_id, message_id, type, name, user_id, "
            "anonymous_id, group_id, previous_id, timestamp, received_at, warnings, "
            "properties, traits, context, channel, profile_id, origin_profile_id, processed_at) "
            f"VALUES (%s, %s, 'track', 'Poisoned', '', 'poison', '', '', %s{as_time}, "
            f"%s{as_time}, '[]'{as_json}, %s{as_json}, '{{}}'{as_json}, '{{}}'{as_json}, '', "
            f"%s, %s, %s{as_time})",
            [
                workspace.pk,
                message_id,
                timestamp,
                GOOD_TIME,
                properties,
                profile and profile.pk,
                profile and profile.pk,
                processed,
            ],
        )
    return Event.objects.values_list("pk", flat=True).get(
        workspace=workspace, message_id=message_id
    )


def quarantine_of(event_id: int) -> tuple:
    return Event.objects.values_list("quarantined_at", "quarantine_reason", "processed_at").get(
        pk=event_id
    )


@pytest.mark.parametrize("kind", POISONS)
def test_a_poison_row_is_set_aside_and_every_good_row_of_every_workspace_is_processed(
    kind, workspace, other_workspace, caplog, django_capture_on_commit_callbacks
):
    acme, globex = workspace.workspace, other_workspace.workspace
    before = pending_event(acme, anonymous_id="a-1")
    poison = insert_raw(acme, "poison", **POISONS[kind])
    after = pending_event(acme, anonymous_id="a-2")
    elsewhere = pending_event(globex, anonymous_id="g-1")

    with django_capture_on_commit_callbacks(execute=True):
        assert process_pending() == 3

    for event in (before, after, elsewhere):
        event.refresh_from_db()
        assert event.processed_at is not None
        assert event.profile == profile_of(event.workspace, "anonymous_id", event.anonymous_id)
    quarantined_at, reason, processed_at = quarantine_of(poison)
    assert quarantined_at is not None and processed_at == quarantined_at
    assert REASONS[kind] in reason
    # Set aside for good: the next run finds nothing to do and leaves it alone.
    with django_capture_on_commit_callbacks(execute=True):
        assert process_pending() == 0
    assert quarantine_of(poison) == (quarantined_at, reason, processed_at)
    logged = [r.getMessage() for r in caplog.records if r.name == "engage.events.quarantine"]
    assert logged == [f"event {poison} set aside: {reason}"]


@pytest.mark.skipif(not POSTGRES, reason="a trigger stands for a row the database refuses")
def test_an_event_that_cannot_be_saved_back_is_set_aside_not_retried_for_ever(workspace):
    ws = workspace.workspace
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_unsaveable() RETURNS trigger AS $$ BEGIN "
            "IF NEW.message_id = 'unsaveable' AND NEW.quarantined_at IS NULL THEN "
            "RAISE EXCEPTION 'this row cannot be written back' USING ERRCODE = '22000'; "
            "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_unsaveable BEFORE UPDATE ON events_event "
            "FOR EACH ROW EXECUTE FUNCTION refuse_unsaveable()"
        )
    unsaveable = pending_event(ws, anonymous_id="a-1", message_id="unsaveable")
    later = pending_event(ws, anonymous_id="a-2")

    assert process_pending() == 2
    assert process_pending() == 0

    quarantined_at, reason, _ = quarantine_of(unsaveable.pk)
    assert quarantined_at is not None
    assert "the event could not be saved" in reason
    assert "this row cannot be written back" in reason
    later.refresh_from_db()
    assert later.profile == profile_of(ws, "anonymous_id", "a-2")


@pytest.mark.django_db(transaction=True)
def test_ingestion_keeps_answering_and_processing_after_a_poison_row(
    workspace, other_workspace, ingest, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default: processing inline
    insert_raw(workspace.workspace, "poison", **POISONS["before year 1"])

    for key, user in ((workspace.write_key, "ada"), (other_workspace.write_key, "bob")):
        response = ingest("identify", {"userId": user, "traits": {"plan": "pro"}}, key=key)
        assert response.status_code == 200, response.content
    assert profile_of(workspace.workspace, "user_id", "ada").traits["plan"] == "pro"
    assert profile_of(other_workspace.workspace, "user_id", "bob").traits["plan"] == "pro"


@pytest.fixture
def customer_with_poison(workspace):
    """A customer with one good event, one nested 950 levels deep, one of year 0."""
    ws = workspace.workspace
    good = pending_event(ws, user_id="ada", properties={"plan": "pro"})
    process_pending()
    profile = profile_of(ws, "user_id", "ada")
    deep = insert_raw(ws, "deep", properties=nested(950), profile=profile)
    early = insert_raw(ws, "early", profile=profile, **POISONS["before year 1"])
    return profile, good, deep, early


def test_timeline_and_export_show_unreadable_events_as_quarantined(workspace, customer_with_poison):
    profile, good, deep, early = customer_with_poison
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}")

    response = api.get(f"/api/profiles/{profile.pk}/events", {"limit": 2})
    assert response.status_code == 200, response.content
    page = response.json()["results"]
    response = api.get(response.json()["next"])
    assert response.status_code == 200, response.content
    page += response.json()["results"]
    by_id = {event["id"]: event for event in page}
    assert set(by_id) == {good.pk, deep, early}
    assert by_id[good.pk]["properties"] == {"plan": "pro"}
    assert by_id[good.pk]["quarantine_reason"] == ""
    assert by_id[deep]["message_id"] == "deep" and by_id[deep]["event"] == "Poisoned"
    assert by_id[deep]["properties"] == {}
    assert "properties: nested" in by_id[deep]["quarantine_reason"]
    assert "timestamp: cannot be read" in by_id[early]["quarantine_reason"]

    response = api.get(f"/api/profiles/{profile.pk}/export")
    assert response.status_code == 200, response.content
    events = {event["id"]: event for event in response.json()["events"]}
    assert events[good.pk]["properties"] == {"plan": "pro"}
    assert "properties" not in events[deep] and "properties" not in events[early]
    assert events[deep]["message_id"] == "deep" and events[deep]["type"] == "track"
    assert "properties: nested" in events[deep]["quarantine_reason"]
    assert events[early]["received_at"].startswith("2025-01-01")
    assert "timestamp: cannot be read" in events[early]["quarantine_reason"]


@pytest.mark.skipif(not POSTGRES, reason="this is the run that starts the SQLite one")
def test_the_same_on_the_embedded_sqlite_default(tmp_path):
    result = run_embedded(
        [
            *("-m", "pytest", __file__, "tests/admin/test_poison_events.py"),
            *("-q", "-n", "0", "-p", "no:cacheprovider"),
        ],
        tmp_path / "engage.sqlite3",
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " skipped" in result.stdout


def test_the_command_finds_and_quarantines_each_kind_and_dry_run_changes_nothing(
    workspace, other_workspace
):
    acme, globex = workspace.workspace, other_workspace.workspace
    good = pending_event(acme, anonymous_id="a-1")
    poisons = {kind: insert_raw(acme, kind, **columns) for kind, columns in POISONS.items()}
    # Loadable, but deeper than ingestion accepts: stored by an older version.
    poisons["deeper than the limit"] = insert_raw(globex, "deep-100", properties=nested(100))
    reasons = {**REASONS, "deeper than the limit": "properties: nested deeper than 64 levels"}

    out = io.StringIO()
    call_command("quarantine_events", "--dry-run", stdout=out)
    assert "acme: would quarantine 3 event(s)" in out.getvalue()
    assert "globex: would quarantine 1 event(s)" in out.getvalue()
    assert all(quarantine_of(pk)[0] is None for pk in poisons.values())

    out = io.StringIO()
    call_command("quarantine_events", "--batch-size", "2", stdout=out)
    assert "acme: quarantined 3 event(s)" in out.getvalue()
    for kind, pk in poisons.items():
        quarantined_at, reason, _ = quarantine_of(pk)
        assert quarantined_at is not None and reasons[kind] in reason
        assert f"event {pk} (message " in out.getvalue()
    assert quarantine_of(good.pk)[0] is None

    out = io.StringIO()
    call_command("quarantine_events", stdout=out)
    assert out.getvalue() == "No unreadable events found.\n"
    with pytest.raises(CommandError, match="--batch-size: must be at least 1"):
        call_command("quarantine_events", "--batch-size", "0")
    assert process_pending() == 1  # the good one; the quarantined ones stay aside


def test_erasure_also_deletes_a_quarantined_event_carrying_the_customers_id(workspace):
    ws = workspace.workspace
    pending_event(ws, anonymous_id="poison")
    process_pending()
    customer = profile_of(ws, "anonymous_id", "poison")
    poison = insert_raw(ws, "poison", **POISONS["before year 1"])  # anonymousId "poison"
    process_pending()
    assert quarantine_of(poison)[0] is not None

    erase_profile(profile=customer, requested_by="test")

    assert not Event.objects.filter(pk=poison).exists()
