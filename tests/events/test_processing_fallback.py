"""A batch that fails is processed again event by event, and nothing is done twice.

Processing runs a batch without per-event savepoints; when anything in it
fails, the batch rolls back and is processed again with a savepoint per event.
What a customer of engage notices: the good events of that batch still reach
their profiles, exactly once, and the bad one is set aside with a warning.
"""

from engage.events import processing
from engage.events.models import Event
from engage.events.processing import process_pending
from engage.profiles.models import Identity, Profile
from tests.identity_helpers import identities, pending_event, profile_of


def test_an_event_that_fails_is_set_aside_and_the_rest_of_its_batch_is_processed(
    workspace, monkeypatch
):
    ws = workspace.workspace
    good = [pending_event(ws, anonymous_id=f"a-{n}") for n in range(3)]
    bad = pending_event(ws, "identify", user_id="u-bad", anonymous_id="a-0")
    after = pending_event(ws, anonymous_id="a-1", name="Later")
    resolve = processing.resolve_batch

    def failing(sightings):
        if bad.message_id in {s.message_id for s in sightings}:
            raise ValueError("broken traits")
        return resolve(sightings)

    monkeypatch.setattr(processing, "resolve_batch", failing)

    assert process_pending() == 5

    bad.refresh_from_db()
    assert bad.processed_at is not None and bad.profile_id is None
    assert any("processing failed: ValueError: broken traits" in w for w in bad.warnings)
    # The first, savepoint-less attempt left nothing behind: one profile per
    # visitor, and the bad event's user id was never attached.
    assert Profile.objects.filter(workspace=ws).count() == 3
    assert not Identity.objects.filter(value="u-bad").exists()
    for event in [*good, after]:
        event.refresh_from_db()
        assert event.processed_at is not None and event.warnings == []
        assert event.profile == profile_of(ws, "anonymous_id", event.anonymous_id)


def test_a_conflict_midway_rolls_the_batch_back_and_merges_happen_once(workspace, monkeypatch):
    ws = workspace.workspace
    pending_event(ws, anonymous_id="phone")
    pending_event(ws, anonymous_id="laptop")
    login = pending_event(ws, "identify", user_id="ada", anonymous_id="phone")
    second = pending_event(ws, "identify", user_id="ada", anonymous_id="laptop")
    resolve = processing.resolve_batch
    failed = []

    def conflicting_once(sightings):
        if second.message_id in {s.message_id for s in sightings} and not failed:
            failed.append(True)
            raise processing.ProfilesMoved
        return resolve(sightings)

    monkeypatch.setattr(processing, "resolve_batch", conflicting_once)

    assert process_pending() == 4

    ada = profile_of(ws, "user_id", "ada")
    assert identities(ada) == {
        ("user_id", "ada"),
        ("anonymous_id", "phone"),
        ("anonymous_id", "laptop"),
    }
    assert ada.merges_in.count() == 1
    assert Profile.objects.filter(workspace=ws, merged_into__isnull=True).count() == 1
    assert set(Event.objects.values_list("profile", flat=True)) == {ada.pk}
    login.refresh_from_db()
    assert login.warnings == []
