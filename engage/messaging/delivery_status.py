"""Applying provider delivery signals to messages, consent and the timeline.

Webhooks arrive at least once and out of order. A signal moves a message's
status only forward (``Message.SIGNAL_RANK``), so a late ``delivered`` never
undoes ``opened``; its time is still recorded. Every signal becomes an event
on the customer's profile, and opt-out kinds become consent opt-outs.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from engage.plugins.base import Channel, WebhookSignal
from engage.privacy.selectors import suppressed
from engage.profiles.identifiers import InvalidIdentifier, is_junk, normalize
from engage.profiles.resolution import Extracted, Identifier, resolve_identifiers
from engage.profiles.selectors import canonical_profile, profile_by_identifier
from engage.workspaces.models import Workspace

from . import consent, timeline
from .models import Consent, Message, WebhookReceipt

# Signal kinds that are also a message status, with the timestamp they set.
STATUS_SIGNALS = {
    "delivered": "delivered_at",
    "opened": "opened_at",
    "clicked": "clicked_at",
    "replied": "replied_at",
    "bounced": "bounced_at",
    "complained": "complained_at",
    "unsubscribed": "unsubscribed_at",
}
# Signals the customer sends: from an address engage has never seen, they
# start a profile (a text to the brand's number is a customer reaching out,
# and a STOP must stick to that number before anyone adds it).
CUSTOMER_SIGNALS = ("inbound", "opted_out", "opted_in")


def advance_status(message: Message, kind: str, at) -> list[str]:
    """Move ``message`` forward for signal ``kind``; the fields changed."""
    changed = []
    if kind == "failed":
        # A provider's late failure report turns a message that was handed
        # over into ``failed``, never one already delivered or opened.
        if message.status in (Message.SENT, Message.UNKNOWN, Message.SENDING):
            message.status = Message.FAILED
            message.failed_at = at
            changed += ["status", "failed_at"]
        return changed
    field = STATUS_SIGNALS.get(kind)
    if field is None:
        return changed
    if getattr(message, field) is None:
        setattr(message, field, at)
        changed.append(field)
    current = Message.SIGNAL_RANK.get(message.status)
    if current is not None and Message.SIGNAL_RANK[kind] > current:
        message.status = kind
        changed.append("status")
    return changed


def find_profile(*, workspace: Workspace, channel: type[Channel], address: str, kind: str = ""):
    """The customer at ``address``; for a signal the customer sent, created
    through identity resolution when the address is new."""
    if not (address and channel.address_kind):
        return None
    kind_of_address = channel.address_kind
    try:
        value = normalize(kind_of_address, address, phone_region=workspace.default_phone_region)
    except InvalidIdentifier:
        return None
    profile = profile_by_identifier(workspace=workspace, kind=kind_of_address, value=value)
    if profile is not None or kind not in CUSTOMER_SIGNALS:
        return profile
    if is_junk(value, extra_blocked=workspace.blocked_identifiers) or suppressed(
        workspace.pk, [(kind_of_address, value)]
    ):
        return None  # erased customers stay erased, as in event processing
    extracted = Extracted(identifiers=[Identifier(kind_of_address, value)])
    resolution = resolve_identifiers(workspace=workspace, extracted=extracted)
    return resolution.profile if resolution else None


def apply_signal(
    *, workspace: Workspace, channel: type[Channel], signal: WebhookSignal
) -> Message | None:
    """Apply one signal once; returns its message. A redelivered event id does nothing."""
    with transaction.atomic():
        message = None
        if signal.provider_message_id:
            message = (
                Message.objects.select_for_update()
                .filter(
                    workspace=workspace,
                    channel=channel.id,
                    provider_message_id=signal.provider_message_id,
                )
                .first()
            )
        try:
            with transaction.atomic():
                WebhookReceipt.objects.create(
                    workspace=workspace,
                    channel=channel.id,
                    provider_event_id=signal.provider_event_id[:255],
                    kind=signal.kind,
                    message=message,
                )
        except IntegrityError:
            return message
        apply_to_message(
            workspace=workspace,
            channel=channel,
            message=message,
            kind=signal.kind,
            key=f"engage:{channel.id}:{signal.provider_event_id}",
            at=signal.occurred_at,
            address=signal.address,
            properties={**signal.detail, **({"text": signal.text} if signal.text else {})},
        )
    return message


def apply_to_message(
    *,
    workspace: Workspace,
    channel: type[Channel],
    message: Message | None,
    kind: str,
    key: str,
    at=None,
    address: str = "",
    properties: dict | None = None,
) -> bool:
    """Record signal ``kind`` on the message, the timeline and consent.

    ``key`` identifies the signal for deduplication of the timeline event.
    Returns False when no customer could be found for it.
    """
    at = at or timezone.now()
    if message is not None:
        changed = advance_status(message, kind, at)
        if changed:
            message.save(update_fields=[*changed, "updated_at"])
        profile = canonical_profile(workspace=workspace, profile_id=message.profile_id)
    else:
        profile = find_profile(workspace=workspace, channel=channel, address=address, kind=kind)
    if profile is None:
        return False
    props = {"channel": channel.id, **(properties or {})}
    if message is not None:
        props["message_id"] = message.pk
    first_time = timeline.record_event(
        profile=profile,
        name=timeline.event_name(channel.event_label(), kind),
        key=key,
        properties=props,
        at=at,
        channel=channel.id,
    )
    if not first_time:
        return True  # the same signal again (a second click of "unsubscribe")
    if kind in consent.OPT_OUT_SOURCES:
        consent.record_consent(
            profile=profile,
            status=Consent.OPTED_OUT,
            source=consent.OPT_OUT_SOURCES[kind],
            channel=channel.id,
            message=message,
            at=at,
        )
    elif kind == "opted_in":
        consent.record_consent(
            profile=profile,
            status=Consent.OPTED_IN,
            source="opt_in_keyword",
            channel=channel.id,
            message=message,
            at=at,
        )
    return True
