"""The outbox channel: sending is writing a row the reading system picks up."""

from engage.plugins import Channel, SendResult, hookimpl

# engage loads plugin modules once every app's models are loaded (in the
# plugins app's ready()), so a channel may import its models at the top.
from .models import OutboxMessage


class Outbox(Channel):
    id = "outbox"  # unique across all plugins
    name = "Outbox"
    address_kind = "user_id"
    idempotent = True  # a resend finds the message's row

    def send(self, *, message, address: str) -> SendResult:
        row, _ = OutboxMessage.objects.get_or_create(
            message=message,
            defaults={
                "workspace_id": message.workspace_id,
                "profile_id": message.profile_id,
                "address": address,
                "subject": message.subject,
                "body": message.body,
            },
        )
        return SendResult(provider_message_id=f"outbox-{row.pk}")


@hookimpl
def engage_channels():
    return [Outbox]
