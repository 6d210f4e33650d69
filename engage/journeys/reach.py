"""Whether a batch of customers can be reached on a channel, in a few queries.

A send node skips a customer without an address, and the escalation ladder
sends on the first rung a customer can be reached on. Asking messaging one
customer at a time would cost a query per customer and channel, so this
module answers for a whole engine batch: one query for the addresses (the
identities of the channel's ``address_kind``; the trait fallback and the
channels that find addresses their own way need none) and one for consent.

The rules are messaging's, read the same way: the channel enabled in the
workspace (``plugins.selectors.enabled_channel``), ``Channel.address_for``,
and the consent step of ``messaging.policy``. Policy still runs when the
message is sent; this only decides where a journey tries.
"""

from django.db.models import Q

from engage.messaging.models import Consent, Message
from engage.plugins.base import Channel
from engage.plugins.selectors import enabled_channel
from engage.profiles.models import Identity, Profile

NO_ADDRESS = "no_address"
CHANNEL_DISABLED = "channel_disabled"
OPTED_OUT = "opted_out"
NO_OPT_IN = "no_opt_in"


def address_label(channel: Channel) -> str:
    """What the channel's address is called, as messaging's ``no_address`` detail says it."""
    return channel.address_kind or channel.address_trait or "address"


def addresses(channel: Channel, profiles: list[Profile]) -> dict[int, str]:
    """{profile id: address} of the customers ``channel`` has an address for."""
    if type(channel).address_for is not Channel.address_for:
        # A channel with its own lookup (web push reads a trait, the webhook
        # channel needs none) finds it without a query per customer.
        found = {profile.pk: channel.address_for(profile) for profile in profiles}
        return {pk: address for pk, address in found.items() if address}
    found: dict[int, str] = {}
    if channel.address_kind:
        rows = (
            Identity.objects.filter(
                profile_id__in=[profile.pk for profile in profiles], kind=channel.address_kind
            )
            .order_by("profile_id", "-created_at", "-id")
            .values_list("profile_id", "value")
        )
        for profile_id, value in rows:
            if value:
                found.setdefault(profile_id, value)
    if channel.address_trait:
        for profile in profiles:
            value = (profile.traits or {}).get(channel.address_trait)
            if profile.pk not in found and value not in (None, ""):
                found[profile.pk] = str(value)
    return found


def consent_refusals(
    channel: Channel, profiles: list[Profile], *, category: str, topic: str = ""
) -> dict[int, tuple[str, str]]:
    """{profile id: (reason, detail)} of the customers policy's consent step
    would skip on ``channel`` (an opt-out of the topic, or of marketing for
    marketing; no opt-in where the channel needs one), in one query."""
    consent_topic = topic or category
    topics = [consent_topic]
    if category == Message.MARKETING and Consent.MARKETING not in topics:
        topics.append(Consent.MARKETING)
    rows = (
        Consent.objects.filter(
            profile_id__in=[profile.pk for profile in profiles],
            topic__in=topics,
        )
        .filter(Q(channel=channel.id) | Q(channel=""))
        .order_by("profile_id", "-created_at", "-id")
        .values_list("profile_id", "topic", "status")
    )
    latest: dict[int, dict[str, str]] = {}
    for profile_id, row_topic, status in rows:
        latest.setdefault(profile_id, {}).setdefault(row_topic, status)
    needs_opt_in = category == Message.MARKETING and channel.capabilities.needs_opt_in
    refused = {}
    for profile in profiles:
        status = latest.get(profile.pk, {})
        opted_out = next((t for t in topics if status.get(t) == Consent.OPTED_OUT), None)
        if opted_out:
            refused[profile.pk] = (
                OPTED_OUT,
                f"the customer opted out of {opted_out} on {channel.id}",
            )
        elif needs_opt_in and status.get(consent_topic) != Consent.OPTED_IN:
            refused[profile.pk] = (NO_OPT_IN, f"{channel.id} needs the customer's opt-in")
    return refused


def addressed(
    *, workspace, channel_id: str, profiles: list[Profile]
) -> tuple[Channel | None, dict[int, str], dict[int, tuple[str, str]]]:
    """The enabled channel (or None), the addresses it has for the customers,
    and why it has none for the others: ``(reason, detail)`` with the reason
    ``channel_disabled`` or ``no_address``."""
    channel = enabled_channel(workspace=workspace, channel_id=channel_id)
    if channel is None:
        detail = f"{channel_id} is not enabled (or its settings are invalid)"
        return None, {}, {profile.pk: (CHANNEL_DISABLED, detail) for profile in profiles}
    found = addresses(channel, profiles)
    missing = f"no {address_label(channel)} known"
    refused = {profile.pk: (NO_ADDRESS, missing) for profile in profiles if profile.pk not in found}
    return channel, found, refused


def reachable(
    *, workspace, channel_id: str, profiles: list[Profile], category: str, topic: str = ""
) -> tuple[Channel | None, dict[int, str], dict[int, tuple[str, str]]]:
    """As ``addressed``, with consent as policy judges it for a message of
    ``category`` and ``topic``: a refusal may also be ``opted_out`` or ``no_opt_in``."""
    channel, found, refused = addressed(
        workspace=workspace, channel_id=channel_id, profiles=profiles
    )
    with_address = [profile for profile in profiles if profile.pk in found]
    if with_address:
        refused.update(consent_refusals(channel, with_address, category=category, topic=topic))
    return channel, {pk: a for pk, a in found.items() if pk not in refused}, refused
