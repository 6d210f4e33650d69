"""Writing to inboxes: adding an in-app message, reading and dismissing it."""

from django.db import transaction
from django.utils import timezone

from engage.messaging.delivery_status import apply_to_message
from engage.messaging.models import Message

from .models import InboxEntry


def add_to_inbox(message: Message) -> InboxEntry:
    """Put ``message`` in its customer's inbox; again for the same message is a no-op."""
    entry, _ = InboxEntry.objects.get_or_create(
        message=message,
        defaults={"workspace_id": message.workspace_id, "profile_id": message.profile_id},
    )
    return entry


def mark_read(entry: InboxEntry, *, channel) -> InboxEntry:
    """The first read records ``opened`` on the message and the customer's timeline."""
    with transaction.atomic():
        entry = InboxEntry.objects.select_for_update().select_related("message").get(pk=entry.pk)
        if entry.read_at is None:
            entry.read_at = timezone.now()
            entry.save(update_fields=["read_at"])
            apply_to_message(
                workspace=entry.message.workspace,
                channel=channel,
                message=entry.message,
                kind="opened",
                key=f"engage:{channel.id}:read:{entry.pk}",
                at=entry.read_at,
            )
    return entry


def dismiss(entry: InboxEntry) -> InboxEntry:
    if entry.dismissed_at is None:
        entry.dismissed_at = timezone.now()
        entry.save(update_fields=["dismissed_at"])
    return entry
