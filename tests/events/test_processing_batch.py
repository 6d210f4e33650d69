"""A batch applies its events to its profiles in memory and writes once, as if one by one."""

import datetime as dt

from engage.events.models import Event
from engage.events.processing import process_pending
from engage.events.signals import events_processed
from engage.profiles.models import Profile, ProfileMerge
from tests.identity_helpers import T0, pending_event, profile_of


def test_events_of_one_profile_in_one_batch_keep_latest_update_wins(workspace):
    ws = workspace.workspace
    pending_event(ws, "identify", anonymous_id="a", traits={"plan": "pro"}, at=T0)
    pending_event(
        ws,
        anonymous_id="a",
        at=T0 + dt.timedelta(hours=1),
        context={"traits": {"city": "Lyon"}, "timezone": "Europe/Paris"},
    )
    # Late: older than what the profile already holds for plan and city, but
    # the only event that says anything about the company.
    pending_event(
        ws,
        "identify",
        anonymous_id="a",
        traits={"plan": "free", "city": "Nice", "company": "Acme"},
        context={"timezone": "America/New_York"},
        at=T0 - dt.timedelta(days=1),
    )

    assert process_pending() == 3

    profile = profile_of(ws, "anonymous_id", "a")
    assert profile.traits == {"plan": "pro", "city": "Lyon", "company": "Acme"}
    assert profile.first_seen_at == T0 - dt.timedelta(days=1)
    assert profile.last_seen_at == T0 + dt.timedelta(hours=1)
    assert profile.timezone == "Europe/Paris"
    assert set(Event.objects.values_list("profile", flat=True)) == {profile.pk}


def test_a_merge_midway_through_a_batch_keeps_every_event_and_trait(workspace):
    ws = workspace.workspace
    pending_event(ws, anonymous_id="phone", context={"traits": {"plan": "free"}}, at=T0)
    pending_event(ws, anonymous_id="laptop", context={"traits": {"city": "Lyon"}}, at=T0)
    # Both devices sign in with one email: the laptop's profile merges into
    # the phone's (the lower id), halfway through the batch.
    pending_event(ws, "identify", anonymous_id="phone", traits={"email": "ann@example.com"})
    pending_event(ws, "identify", anonymous_id="laptop", traits={"email": "ann@example.com"})
    after = pending_event(
        ws, anonymous_id="laptop", context={"traits": {"plan": "pro"}}, at=T0 + dt.timedelta(1)
    )
    received = []

    def receiver(sender, profile_ids, **kwargs):
        received.append(profile_ids)

    events_processed.connect(receiver, weak=False)
    try:
        assert process_pending() == 5
    finally:
        events_processed.disconnect(receiver)

    survivor = profile_of(ws, "anonymous_id", "phone")
    merged = Profile.objects.get(merged_into=survivor)
    assert ProfileMerge.objects.get().merged == merged
    assert set(Event.objects.values_list("profile", flat=True)) == {survivor.pk}
    assert survivor.traits == {"plan": "pro", "city": "Lyon", "email": "ann@example.com"}
    assert survivor.last_seen_at == T0 + dt.timedelta(1)
    # The merged-away profile was not written back over with later changes.
    assert merged.traits == {"city": "Lyon"}
    after.refresh_from_db()
    assert after.origin_profile_id == survivor.pk
    assert Event.objects.filter(origin_profile_id=merged.pk).count() == 1
    # One signal for the batch, naming the profiles as they were attributed.
    assert len(received) == 1 and survivor.pk in received[0]


def test_a_batch_of_one_customer_costs_a_few_statements_not_several_per_event(
    workspace, django_assert_max_num_queries
):
    ws = workspace.workspace
    for n in range(30):
        pending_event(ws, anonymous_id="a", context={"traits": {"step": n}})
    # Claim, look-ups and locks once per batch, one identity look-up per
    # event, then one UPDATE for the profile and one for the events.
    with django_assert_max_num_queries(45):
        assert process_pending() == 30
    assert profile_of(ws, "anonymous_id", "a").traits == {"step": 29}
