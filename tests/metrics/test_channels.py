from engage.metrics.channels import channels
from tests.metrics.dataset import END, START


def test_rates_per_channel(shop):
    rows = {row["channel"]: row for row in channels(shop.workspace, start=START, end=END).rows}
    # Email: m1 (opened), m3 (opened), m5 (delivered), m6 (bounced).
    email = rows["email"]
    assert (email["sent"], email["delivered"], email["opened"], email["bounced"]) == (4, 3, 2, 1)
    assert email["delivered_rate"] == 3 / 4
    assert email["bounced_rate"] == 1 / 4
    # SMS m2: clicked (so delivered), unsubscribed.
    sms = rows["sms"]
    assert (sms["sent"], sms["delivered"], sms["clicked"], sms["unsubscribed"]) == (1, 1, 1, 1)
    assert rows["webpush"]["clicked_rate"] == 1.0
    assert set(rows) == {"email", "sms", "webpush"}
