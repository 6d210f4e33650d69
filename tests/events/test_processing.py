import datetime as dt

from engage.events.models import Event
from engage.events.processing import process_pending
from engage.privacy.hashing import identity_hash
from engage.privacy.models import Suppression
from engage.profiles.models import Profile
from tests.identity_helpers import T0, identities, pending_event, send


def test_pending_events_are_attributed_and_marked_processed(workspace):
    ws = workspace.workspace
    for n in range(7):
        pending_event(ws, anonymous_id="anon-1", name=f"Step {n}")
    pending_event(ws, anonymous_id="anon-2")

    assert process_pending() == 8

    events = Event.objects.all()
    assert all(e.processed_at is not None for e in events)
    assert Profile.objects.count() == 2
    one = Event.objects.filter(anonymous_id="anon-1").first().profile
    assert set(Event.objects.filter(anonymous_id="anon-1").values_list("profile", flat=True)) == {
        one.pk
    }
    assert all(e.origin_profile_id == e.profile_id for e in events)
    assert identities(one) == {("anonymous_id", "anon-1")}
    # Nothing left: a second run processes nothing and touches nothing.
    assert process_pending() == 0


def test_batches_cover_more_events_than_one_batch(workspace, settings):
    settings.ENGAGE_PROCESSING_BATCH = 3
    ws = workspace.workspace
    for n in range(10):
        pending_event(ws, anonymous_id=f"a{n % 4}")
    assert process_pending() == 10
    assert not Event.objects.filter(processed_at__isnull=True).exists()
    assert Profile.objects.count() == 4


def test_first_and_last_seen_follow_event_times_even_when_late(workspace):
    ws = workspace.workspace
    send(ws, anonymous_id="a", at=T0)
    send(ws, anonymous_id="a", at=T0 + dt.timedelta(days=2))
    late = send(ws, anonymous_id="a", at=T0 - dt.timedelta(days=5))
    profile = late.profile
    assert profile.first_seen_at == T0 - dt.timedelta(days=5)
    assert profile.last_seen_at == T0 + dt.timedelta(days=2)


def test_timezone_and_locale_come_from_the_latest_event_context(workspace):
    ws = workspace.workspace
    send(ws, anonymous_id="a", at=T0, context={"timezone": "Europe/Paris", "locale": "fr-FR"})
    late = send(
        ws,
        anonymous_id="a",
        at=T0 - dt.timedelta(days=1),
        context={"timezone": "America/New_York", "locale": "en-US"},
    )
    assert (late.profile.timezone, late.profile.locale) == ("Europe/Paris", "fr-FR")
    newer = send(ws, anonymous_id="a", at=T0 + dt.timedelta(hours=1), context={"locale": "de-DE"})
    assert (newer.profile.timezone, newer.profile.locale) == ("Europe/Paris", "de-DE")


def test_events_of_an_erased_customer_are_dropped(workspace):
    ws = workspace.workspace
    Suppression.objects.create(
        workspace=ws, kind="email", identity_hash=identity_hash(ws.pk, "email", "gone@example.com")
    )
    dropped = pending_event(
        ws, "identify", anonymous_id="fresh", traits={"email": "Gone@Example.com"}
    )
    kept = pending_event(ws, anonymous_id="someone-else")

    assert process_pending() == 1

    assert not Event.objects.filter(pk=dropped.pk).exists()
    assert not Profile.objects.filter(identities__value="fresh").exists()
    kept.refresh_from_db()
    assert kept.profile is not None


def test_an_event_with_only_placeholder_ids_is_kept_unattributed_with_a_warning(workspace):
    event = send(workspace.workspace, user_id="undefined", anonymous_id="null")
    assert event.processed_at is not None
    assert event.profile is None
    assert any("placeholder" in w for w in event.warnings)
    assert Profile.objects.count() == 0


def test_suppression_in_another_workspace_drops_nothing(workspace, other_workspace):
    other = other_workspace.workspace
    Suppression.objects.create(
        workspace=other,
        kind="user_id",
        identity_hash=identity_hash(other.pk, "user_id", "u1"),
    )
    event = send(workspace.workspace, user_id="u1")
    assert event.profile is not None
