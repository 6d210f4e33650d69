import datetime as dt

import pytest

from engage.messaging import consent, sending, services
from engage.messaging.models import Consent, Message, MessageDecision, MessagingPolicy
from engage.profiles.merge import merge_profiles, split_merge
from engage.profiles.models import Profile, ProfileMerge

from .helpers import queue_email

pytestmark = pytest.mark.django_db

# 22:00 in New York, 03:00 in London.
NY_EVENING = dt.datetime(2030, 1, 15, 3, 0, tzinfo=dt.UTC)


def policy_for(workspace, **fields):
    return MessagingPolicy.objects.create(workspace=workspace.workspace, **fields)


def decision(message):
    return MessageDecision.objects.filter(message=message).first()


def test_quiet_hours_defer_marketing_to_the_end_of_the_window_in_the_customers_timezone(
    workspace, email_channel, customer, smtp_server
):
    policy_for(workspace, quiet_start=dt.time(21), quiet_end=dt.time(8))
    customer.traits["timezone"] = "America/New_York"
    customer.save()
    promo = queue_email(workspace.workspace, customer, category="marketing")

    assert sending.send_message(promo.pk, now=NY_EVENING) is None

    promo.refresh_from_db()
    end_of_window = dt.datetime(2030, 1, 15, 13, 0, tzinfo=dt.UTC)  # 08:00 in New York
    assert promo.status == Message.DEFERRED and promo.next_attempt_at == end_of_window
    deferral = decision(promo)
    assert (deferral.action, deferral.reason, deferral.until) == (
        "defer",
        "quiet_hours",
        end_of_window,
    )
    assert sending.due_message_ids(now=end_of_window - dt.timedelta(minutes=1)) == []
    assert sending.due_message_ids(now=end_of_window) == [promo.pk]
    assert sending.send_message(promo.pk, now=end_of_window) == Message.SENT
    assert len(smtp_server.messages) == 1


def test_quiet_hours_do_not_hold_transactional_mail_or_customers_in_daytime(
    workspace, email_channel, customer, make_workspace
):
    policy_for(workspace, quiet_start=dt.time(21), quiet_end=dt.time(8))
    receipt = queue_email(workspace.workspace, customer)
    assert sending.send_message(receipt.pk, now=NY_EVENING) == Message.SENT

    customer.traits["timezone"] = "Asia/Tokyo"  # 12:00 there
    customer.save()
    promo = queue_email(workspace.workspace, customer, category="marketing")
    assert sending.send_message(promo.pk, now=NY_EVENING) == Message.SENT


def test_a_channel_cap_skips_marketing_over_the_cap_but_not_transactional(
    workspace, email_channel, customer, smtp_server
):
    policy_for(workspace, channel_caps={"email": {"day": 1, "week": 3}})
    first = queue_email(workspace.workspace, customer, category="marketing")
    second = queue_email(workspace.workspace, customer, category="marketing")
    receipt = queue_email(workspace.workspace, customer)

    assert sending.send_message(first.pk) == Message.SENT
    assert sending.send_message(second.pk) is None
    assert sending.send_message(receipt.pk) == Message.SENT

    second.refresh_from_db()
    assert second.status == Message.SKIPPED
    assert decision(second).reason == "frequency_cap"
    assert "1 of 1 messages per day per channel" in decision(second).detail
    # A day later the cap has room again.
    third = queue_email(workspace.workspace, customer, category="marketing")
    tomorrow = first.created_at + dt.timedelta(days=1, minutes=1)
    assert sending.send_message(third.pk, now=tomorrow) == Message.SENT


def test_the_higher_priority_message_wins_the_last_slot_of_the_budget(
    workspace, email_channel, customer, smtp_server
):
    policy_for(workspace, total_per_day=2)
    earlier = queue_email(workspace.workspace, customer, category="marketing")
    assert sending.send_message(earlier.pk) == Message.SENT
    newsletter = queue_email(workspace.workspace, customer, category="marketing", priority=1)
    winback = queue_email(workspace.workspace, customer, category="marketing", priority=5)

    # The newsletter's worker comes first, but the win-back campaign ranks higher.
    assert sending.send_message(newsletter.pk) is None
    newsletter.refresh_from_db()
    assert newsletter.status == Message.DEFERRED
    assert decision(newsletter).reason == "outranked"

    assert sending.send_message(winback.pk) == Message.SENT
    assert sending.send_message(newsletter.pk, now=newsletter.next_attempt_at) is None
    newsletter.refresh_from_db()
    assert newsletter.status == Message.SKIPPED
    assert decision(newsletter).reason == "contact_budget"
    assert [m["mail"]["Subject"] for m in smtp_server.messages] == ["Hello Ada"] * 2


def test_service_messages_outrank_marketing_whatever_the_campaign_priority(
    workspace, email_channel, customer
):
    policy_for(workspace, total_per_day=1)
    promo = queue_email(workspace.workspace, customer, category="marketing")
    Message.objects.filter(pk=promo.pk).update(priority=100)
    notice = queue_email(workspace.workspace, customer, category="service")

    assert sending.send_message(promo.pk) is None
    assert sending.send_message(notice.pk) == Message.SENT
    assert decision(promo).reason == "outranked"


def test_a_bounce_opt_out_wins_over_an_earlier_opt_in_for_later_marketing(
    workspace, email_channel, customer
):
    consent.record_consent(
        profile=customer, status=Consent.OPTED_IN, source="signup_form", channel="email"
    )
    consent.record_consent(
        profile=customer, status=Consent.OPTED_OUT, source="bounce", channel="email"
    )
    promo = queue_email(workspace.workspace, customer, category="marketing")

    sending.send_message(promo.pk)

    assert decision(promo).reason == "opted_out"
    history = list(consent.history(profile=customer).values_list("status", "source"))
    assert history == [("opted_out", "bounce"), ("opted_in", "signup_form")]


def test_an_opt_out_of_a_custom_topic_only_stops_that_topic(workspace, email_channel, customer):
    consent.record_consent(
        profile=customer, status=Consent.OPTED_OUT, source="preferences", topic="newsletter"
    )
    newsletter = services.create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="email",
        category="marketing",
        topic="newsletter",
        content=services.rendering.Content(body="News"),
        send_now=False,
    ).message
    promo = queue_email(workspace.workspace, customer, category="marketing")

    assert sending.send_message(newsletter.pk) is None
    assert sending.send_message(promo.pk) == Message.SENT


def test_a_merge_carries_opt_outs_messages_and_decisions_to_the_survivor(
    workspace, email_channel, customer
):
    other = Profile.objects.create(workspace=workspace.workspace)
    consent.record_consent(
        profile=other, status=Consent.OPTED_OUT, source="unsubscribe", channel=""
    )
    skipped = queue_email(workspace.workspace, other, category="marketing")
    sending.send_message(skipped.pk)

    merge_profiles(survivor=customer, merged=other, reason=ProfileMerge.MANUAL)

    skipped.refresh_from_db()
    assert skipped.profile_id == customer.pk
    assert MessageDecision.objects.get(message=skipped).profile_id == customer.pk
    promo = queue_email(workspace.workspace, customer, category="marketing")
    sending.send_message(promo.pk)
    assert decision(promo).reason == "opted_out"


def test_splitting_the_merge_gives_back_the_opt_out_and_messages_it_carried(
    workspace, email_channel, customer, smtp_server
):
    other = Profile.objects.create(workspace=workspace.workspace)
    consent.record_consent(profile=other, status=Consent.OPTED_OUT, source="unsubscribe")
    theirs = queue_email(workspace.workspace, other, category="marketing")
    sending.send_message(theirs.pk)
    merge = merge_profiles(survivor=customer, merged=other, reason=ProfileMerge.MANUAL)
    mine = queue_email(workspace.workspace, customer, category="transactional")

    split_merge(merge=merge, by="operator")

    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.profile_id == other.pk
    assert MessageDecision.objects.get(message=theirs).profile_id == other.pk
    assert consent.current_status(profile=other, channel="email", topic="marketing") == (
        Consent.OPTED_OUT
    )
    assert mine.profile_id == customer.pk
    # The survivor never opted out: its marketing goes out again.
    promo = queue_email(workspace.workspace, customer, category="marketing")
    assert sending.send_message(promo.pk) == Message.SENT
