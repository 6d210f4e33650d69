from engage.metrics.crosschannel import crosschannel
from tests.metrics.dataset import END, START


def test_conversion_by_number_of_channels_engaged_and_by_journey(shop):
    result = crosschannel(shop.workspace, start=START, end=END)
    rows = {(row["group"], row["key"]): row for row in result.rows}
    # Ann: opened an email, clicked an SMS (2). Bob: opened an email, clicked
    # a web push, wrote in by SMS (3); his delivered-only email adds nothing.
    # Cy: wrote in on WhatsApp and SMS (2). Dee: sent an email, engaged on
    # none (0). Ann, Bob and Cy bought in the range; Dee did not.
    assert {key: (row["customers"], row["converted"]) for (group, key), row in rows.items()} == {
        "0": (1, 0),
        "1": (0, 0),
        "2": (2, 2),
        "3+": (1, 1),
        str(shop.welcome.pk): (2, 2),  # opened a Welcome email: Ann and Bob
    }
    assert rows[("channels", "0")]["conversion_rate"] == 0.0
    assert rows[("channels", "1")]["conversion_rate"] is None
    assert rows[("journey", str(shop.welcome.pk))]["label"] == "Welcome"
