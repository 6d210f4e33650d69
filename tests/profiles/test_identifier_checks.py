"""Emails and phones are checked once per value and process (the outcome is kept);
every event must still get the same outcome as the first."""

from tests.identity_helpers import send


def test_an_invalid_email_is_refused_on_every_event_that_carries_it(workspace):
    ws = workspace.workspace
    warned = [
        send(ws, "identify", user_id=f"u-{n}", traits={"email": "nobody@@example.com"})
        for n in range(2)
    ]

    for event in warned:
        assert any("not a valid email address" in w for w in event.warnings), event.warnings
        assert event.profile.identities.filter(kind="email").count() == 0


def test_a_valid_email_and_phone_normalize_the_same_on_every_event(workspace):
    ws = workspace.workspace
    traits = {"email": "Grace.H@Example.COM", "phone": "+1 (415) 555-2671"}
    first = send(ws, "identify", user_id="u-1", traits=traits)
    second = send(ws, "identify", user_id="u-1", traits=traits)

    assert first.warnings == second.warnings == []
    assert second.profile_id == first.profile_id
    # Normalized differently the second time, the values would be a second
    # email and phone on the profile.
    assert set(first.profile.identities.values_list("kind", "value")) == {
        ("user_id", "u-1"),
        ("email", "grace.h@example.com"),
        ("phone", "+14155552671"),
    }
