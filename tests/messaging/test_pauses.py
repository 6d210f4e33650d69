import datetime as dt

import pytest

from engage.events.processing import process_pending
from engage.messaging import pauses, sending
from engage.messaging.models import MarketingPause, Message, MessageDecision, MessagingPolicy
from engage.profiles.merge import merge_profiles, split_merge
from engage.profiles.models import Identity, Profile, ProfileMerge
from tests.identity_helpers import T0, pending_event, profile_of

from .helpers import queue_email

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2030, 3, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def paused(profile, now=NOW):
    return pauses.in_force([profile.pk], now).get(profile.pk)


def pause(workspace, profile, days, reason=MarketingPause.DETRACTOR, at=NOW, **kwargs):
    return pauses.pause_marketing(
        workspace_id=workspace.workspace.pk,
        profile_ids=[profile.pk],
        reason=reason,
        until=at + days * DAY,
        at=at,
        **kwargs,
    )


def test_a_pause_extends_but_never_shortens_and_ends(workspace, customer):
    assert pause(workspace, customer, 30, detail="NPS 2: slow delivery") == 1
    pause(workspace, customer, 7, at=NOW + DAY, detail="NPS 3")
    assert paused(customer) == pauses.Pause(
        "detractor_pause", NOW + 30 * DAY, "NPS 2: slow delivery"
    )
    pause(workspace, customer, 40, at=NOW + DAY, detail="NPS 1")
    assert paused(customer).until == NOW + 41 * DAY
    assert MarketingPause.objects.count() == 1

    pauses.end_pause(
        workspace_id=workspace.workspace.pk,
        profile_ids=[customer.pk],
        reason=MarketingPause.DETRACTOR,
        at=NOW + 2 * DAY,
    )
    assert paused(customer, NOW + 3 * DAY) is None
    # A new pause after the end starts afresh: the ended one's length is gone.
    pause(workspace, customer, 5, at=NOW + 4 * DAY, detail="NPS 0")
    assert paused(customer, NOW + 4 * DAY) == pauses.Pause(
        "detractor_pause", NOW + 9 * DAY, "NPS 0"
    )


def test_an_end_applied_before_an_older_start_keeps_the_customer_unpaused(workspace, customer):
    ws = workspace.workspace.pk
    pauses.end_pause(
        workspace_id=ws, profile_ids=[customer.pk], reason="support_case", at=NOW + DAY
    )
    pause(workspace, customer, 30, reason="support_case", at=NOW)
    assert paused(customer, NOW + 2 * DAY) is None
    # An end older than the start it meets leaves the pause on.
    pause(workspace, customer, 30, reason="support_case", at=NOW + 3 * DAY)
    pauses.end_pause(
        workspace_id=ws, profile_ids=[customer.pk], reason="support_case", at=NOW + 2 * DAY
    )
    assert paused(customer, NOW + 4 * DAY).reason == "support_case"


def test_bad_pauses_are_refused_naming_the_field(workspace, customer):
    with pytest.raises(ValueError, match=r"^reason: "):
        pause(workspace, customer, 3, reason="angry")
    with pytest.raises(ValueError, match=r"^until: "):
        pause(workspace, customer, 0)
    assert not MarketingPause.objects.exists()


def test_a_merge_keeps_the_longest_pause_and_a_split_hands_back_its_own(workspace, customer):
    other = Profile.objects.create(workspace=workspace.workspace)
    pause(workspace, customer, 3, detail="short")
    pause(workspace, other, 20, detail="long")

    merge = merge_profiles(survivor=customer, merged=other, reason=ProfileMerge.MANUAL)
    assert paused(customer) == pauses.Pause("detractor_pause", NOW + 20 * DAY, "long")

    split_merge(merge=merge, by="operator")
    assert paused(customer).detail == "short"
    assert paused(Profile.objects.get(pk=other.pk)).detail == "long"


def test_a_paused_customer_gets_no_marketing_and_the_ledger_says_why_until_when(
    workspace, email_channel, customer, smtp_server
):
    ws = workspace.workspace
    other = Profile.objects.create(workspace=ws, traits={"email": "bo@example.com"})
    Identity.objects.create(workspace=ws, profile=other, kind="email", value="bo@example.com")
    pause(workspace, customer, 30, at=NOW - DAY, detail="NPS 2: late again")
    promo = queue_email(ws, customer, category="marketing")
    newsletter = queue_email(ws, customer, category="marketing")
    Message.objects.filter(pk=newsletter.pk).update(topic="newsletter")
    receipt = queue_email(ws, customer, category="transactional")
    notice = queue_email(ws, customer, category="service")
    theirs = queue_email(ws, other, category="marketing")

    # One chunk: the pause is read once for all of it.
    sending.send_due(now=NOW)

    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses[promo.pk] == statuses[newsletter.pk] == Message.SKIPPED
    assert statuses[receipt.pk] == statuses[notice.pk] == statuses[theirs.pk] == Message.SENT
    skip = MessageDecision.objects.get(message=promo)
    assert (skip.action, skip.reason, skip.until) == ("skip", "detractor_pause", NOW + 29 * DAY)
    assert skip.detail == "marketing paused until 2030-03-30 12:00 UTC: NPS 2: late again"
    # Once the pause is over, marketing goes again.
    later = queue_email(ws, customer, category="marketing", key="later")
    assert sending.send_message(later.pk, now=NOW + 30 * DAY) == Message.SENT


def ticket(ws, name, at, user_id="ann", ticket_id=None):
    properties = {"ticket_id": ticket_id} if ticket_id is not None else None
    return pending_event(ws, user_id=user_id, name=name, at=at, properties=properties)


def test_ticket_events_open_and_end_a_support_case_pause_whatever_their_order(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    MessagingPolicy.objects.create(workspace=ws, support_pause_days=10)
    with django_capture_on_commit_callbacks(execute=True):
        ticket(ws, "Ticket Opened", T0)
        ticket(ws, "Ticket Opened", T0, user_id="bob")
        ticket(ws, "Ticket Solved", T0 + DAY, user_id="bob")  # the same batch
        process_pending()
    ann, bob = profile_of(ws, "user_id", "ann"), profile_of(ws, "user_id", "bob")
    assert paused(ann, T0 + DAY).reason == "support_case"
    assert paused(ann, T0 + DAY).until == T0 + 10 * DAY  # never solved: the safety end
    assert paused(bob, T0 + 2 * DAY) is None

    with django_capture_on_commit_callbacks(execute=True):
        ticket(ws, "Ticket Closed", T0 + 3 * DAY)
        # Solved before it was opened, the events arriving the other way round.
        ticket(ws, "Ticket Solved", T0 + 5 * DAY, user_id="bob")
        process_pending()
    with django_capture_on_commit_callbacks(execute=True):
        ticket(ws, "Ticket Opened", T0 + 4 * DAY, user_id="bob")
        process_pending()
    assert paused(ann, T0 + 4 * DAY) is None
    assert paused(bob, T0 + 6 * DAY) is None

    with django_capture_on_commit_callbacks(execute=True):
        ticket(ws, "Ticket Opened", T0 + 7 * DAY, user_id="bob")
        process_pending()
    assert paused(bob, T0 + 8 * DAY).until == T0 + 17 * DAY


def test_a_customer_with_two_open_tickets_stays_paused_until_both_are_solved(
    workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    MessagingPolicy.objects.create(workspace=ws, support_pause_days=10)
    with django_capture_on_commit_callbacks(execute=True):
        ticket(ws, "Ticket Opened", T0, ticket_id="35436")
        ticket(ws, "Ticket Opened", T0 + DAY, ticket_id=35437)  # ids as numbers too
        ticket(ws, "Ticket Solved", T0 + 2 * DAY, ticket_id="35436")
        process_pending()
    ann = profile_of(ws, "user_id", "ann")
    still = paused(ann, T0 + 3 * DAY)
    assert still.reason == "support_case" and still.until == T0 + 11 * DAY
    assert still.detail.startswith("ticket 35437 opened")

    with django_capture_on_commit_callbacks(execute=True):
        # The second ticket's end arrives before its reopening of the first,
        # an older event: the first stays solved.
        ticket(ws, "Ticket Solved", T0 + 4 * DAY, ticket_id="35437")
        ticket(ws, "Ticket Opened", T0 + DAY, ticket_id="35436")
        process_pending()
    assert paused(ann, T0 + 5 * DAY) is None
    assert MarketingPause.objects.filter(profile=ann).count() == 2
