"""How the models read event names: deliveries, responses, channels, activity."""

import pytest

from engage.scoring.kinds import channel_labels, classify


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Email Delivered", (0, 1, 0, "email")),
        ("SMS Replied", (1, 0, 1, "sms")),
        ("Web Push Opened", (1, 0, 1, "webpush")),
        ("In-App Opened", (1, 0, 1, "inapp")),
        ("WhatsApp Clicked", (1, 0, 1, "whatsapp")),
        ("Email Sent", (0, 0, 0, "")),
        ("Email Bounced", (0, 0, 0, "")),
        ("SMS Failed", (0, 0, 0, "")),
        ("segment_entered", (0, 0, 0, "")),
        ("segment_exited", (0, 0, 0, "")),
        # Plain customer actions.
        ("Order Completed", None),
        ("Message Received", None),
        ("Opened", None),
        # A customer's own event that happens to end like a delivery signal.
        ("Order Delivered", None),
        ("Parcel Failed", None),
        ("", None),
    ],
)
def test_classify(name, kind):
    assert classify(name, channel_labels()) == kind
