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


def test_a_value_used_before_is_refused_once_the_workspace_blocks_it(workspace, settings):
    ws = workspace.workspace
    first = send(ws, "track", anonymous_id="kiosk-7")
    seen = send(ws, "track", anonymous_id="device-qa")
    ws.blocked_identifiers = ["Kiosk-7"]
    ws.save()
    blocked = send(ws, "track", anonymous_id="kiosk-7")
    settings.ENGAGE_BLOCKED_IDENTIFIERS = ["device-qa"]
    by_setting = send(ws, "track", anonymous_id="device-qa", user_id="u-9")

    assert first.warnings == seen.warnings == []
    assert first.profile_id is not None and seen.profile_id is not None
    assert blocked.profile_id is None
    assert any("placeholder value" in w for w in blocked.warnings), blocked.warnings
    assert any("placeholder value" in w for w in by_setting.warnings), by_setting.warnings
    assert set(by_setting.profile.identities.values_list("kind", "value")) == {("user_id", "u-9")}
