"""In-app messages: delivered to the customer's inbox in engage, which the
customer's app reads through the inbox API with a per-profile token.

The address is the customer's ``user_id``: only a signed-in customer has an
inbox their app can show. Delivery is a database write, so a resend of the
same message finds its entry instead of adding another (idempotent).
"""

from engage.inbox.services import add_to_inbox
from engage.plugins import hookimpl
from engage.plugins.base import Capabilities, Channel, SendResult


class InAppChannel(Channel):
    id = "inapp"
    name = "In-app inbox"
    label = "In-App"
    address_kind = "user_id"
    capabilities = Capabilities(two_way=False, rich_content=True)
    idempotent = True

    def send(self, *, message, address: str) -> SendResult:
        entry = add_to_inbox(message)
        return SendResult(provider_message_id=f"inbox-{entry.pk}")


@hookimpl
def engage_channels():
    return [InAppChannel]
