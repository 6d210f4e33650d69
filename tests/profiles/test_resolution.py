"""Identity resolution as a customer's events reveal who they are."""

import datetime as dt

from engage.events.models import Event
from engage.events.processing import process_pending
from engage.profiles.models import Identity, Profile, ProfileMerge
from tests.identity_helpers import T0, identities, pending_event, profile_of, send


def canonical_profiles(ws):
    return Profile.objects.filter(workspace=ws, merged_into__isnull=True)


def test_anonymous_visits_on_two_devices_merge_when_the_customer_logs_in(workspace):
    ws = workspace.workspace
    send(ws, anonymous_id="laptop", name="Viewed Product")
    send(ws, anonymous_id="phone", name="Viewed Cart")
    assert canonical_profiles(ws).count() == 2

    send(ws, "identify", user_id="u1", anonymous_id="laptop", traits={"email": "ada@example.com"})
    login_on_phone = send(ws, "identify", user_id="u1", anonymous_id="phone")

    customer = login_on_phone.profile
    assert list(canonical_profiles(ws)) == [customer]
    assert identities(customer) == {
        ("user_id", "u1"),
        ("anonymous_id", "laptop"),
        ("anonymous_id", "phone"),
        ("email", "ada@example.com"),
    }
    # One timeline: every event, including the anonymous ones, is on the customer.
    assert set(Event.objects.values_list("profile", flat=True)) == {customer.pk}
    merge = ProfileMerge.objects.get()
    assert merge.survivor == customer
    assert merge.reason == ProfileMerge.IDENTIFY
    assert "anonymous_id=phone" in merge.detail and "user_id=u1" in merge.detail
    assert merge.message_id == login_on_phone.message_id
    assert Profile.objects.get(pk=merge.merged_id).merged_into == customer


def test_survivor_is_the_older_profile_whatever_the_order_of_ids(workspace):
    ws = workspace.workspace
    first = send(ws, anonymous_id="a1").profile
    second = send(ws, user_id="u1").profile
    merged = send(ws, "identify", user_id="u1", anonymous_id="a1").profile
    assert first.pk < second.pk
    assert merged == first
    assert profile_of(ws, "user_id", "u1") == first


def test_alias_ties_the_previous_anonymous_id_to_the_user(workspace):
    ws = workspace.workspace
    anonymous = send(ws, anonymous_id="visitor-9").profile
    known = send(ws, user_id="u9").profile

    alias = send(ws, "alias", user_id="u9", previous_id="visitor-9")

    assert alias.profile == anonymous  # the older profile survives
    assert identities(anonymous) == {("anonymous_id", "visitor-9"), ("user_id", "u9")}
    merge = ProfileMerge.objects.get()
    assert (merge.reason, merge.merged_id) == (ProfileMerge.ALIAS, known.pk)


def test_alias_of_an_unknown_previous_id_records_it_as_anonymous(workspace):
    ws = workspace.workspace
    alias = send(ws, "alias", user_id="u1", previous_id="old-cookie")
    assert identities(alias.profile) == {("user_id", "u1"), ("anonymous_id", "old-cookie")}
    assert not ProfileMerge.objects.exists()


def test_alias_of_a_previous_user_id_merges_the_two_users_accounts(workspace):
    ws = workspace.workspace
    old = send(ws, user_id="old-login").profile
    alias = send(ws, "alias", user_id="new-login", previous_id="old-login")
    # user_id is limited to one per profile: two known logins never fuse.
    assert alias.profile != old
    assert any("user_id" in w and "old-login" in w for w in alias.warnings)
    assert not ProfileMerge.objects.exists()


def test_the_same_email_on_two_profiles_merges_them(workspace):
    ws = workspace.workspace
    send(ws, "identify", anonymous_id="web", traits={"email": "bob@example.com"})
    send(ws, "track", anonymous_id="kiosk", name="Visited Store")
    assert canonical_profiles(ws).count() == 2
    store = send(
        ws, "track", anonymous_id="kiosk", context={"traits": {"email": " BOB@example.COM "}}
    )
    assert canonical_profiles(ws).count() == 1
    assert identities(store.profile) == {
        ("anonymous_id", "web"),
        ("anonymous_id", "kiosk"),
        ("email", "bob@example.com"),
    }
    merge = ProfileMerge.objects.get()
    assert merge.reason == ProfileMerge.SHARED_IDENTIFIER
    assert "email=bob@example.com" in merge.detail


def test_phone_device_and_external_ids_are_identities(workspace):
    ws = workspace.workspace
    event = send(
        ws,
        "identify",
        anonymous_id="a1",
        traits={"phone": "+1 (415) 555-2671"},
        context={
            "device": {"id": "dev-1"},
            "externalIds": [
                {"id": "C-42", "type": "crm", "collection": "users", "encoding": "none"},
                {"id": "ann@example.com", "type": "email"},
            ],
        },
    )
    assert identities(event.profile) == {
        ("anonymous_id", "a1"),
        ("phone", "+14155552671"),
        ("device_id", "dev-1"),
        ("crm", "C-42"),
        ("email", "ann@example.com"),
    }
    # The CRM id alone now finds the same customer.
    assert (
        send(ws, context={"externalIds": [{"id": "C-42", "type": "crm"}]}, anonymous_id="x").profile
        == event.profile
    )


def test_invalid_identifiers_are_kept_on_the_event_with_a_warning(workspace):
    ws = workspace.workspace
    event = send(
        ws,
        "identify",
        user_id="u1",
        traits={"email": "not-an-email", "phone": "12"},
    )
    assert identities(event.profile) == {("user_id", "u1")}
    assert event.traits == {"email": "not-an-email", "phone": "12"}
    assert any(w.startswith("traits.email:") for w in event.warnings)
    assert any(w.startswith("traits.phone:") for w in event.warnings)


def test_junk_identifiers_never_merge_two_customers(workspace):
    ws = workspace.workspace
    ws.blocked_identifiers = ["qa-test-user"]
    ws.save()
    one = send(ws, "identify", user_id="u1", anonymous_id="undefined").profile
    two = send(ws, "identify", user_id="u2", anonymous_id="undefined").profile
    three = send(ws, "identify", user_id="u3", anonymous_id="QA-Test-User").profile
    four = send(ws, "identify", user_id="u4", anonymous_id="qa-test-user").profile
    five = send(
        ws, "identify", user_id="u5", traits={"email": "0@0.com"}, anonymous_id="0000"
    ).profile
    assert len({one.pk, two.pk, three.pk, four.pk, five.pk}) == 5
    assert not ProfileMerge.objects.exists()
    assert not Identity.objects.filter(
        value__in=["undefined", "qa-test-user", "QA-Test-User", "0000"]
    ).exists()


def test_a_second_user_id_goes_to_its_own_profile_without_merging(workspace):
    ws = workspace.workspace
    first = send(ws, "identify", user_id="U1", anonymous_id="shared-tablet").profile

    event = send(ws, "identify", user_id="U2", anonymous_id="shared-tablet")

    assert event.profile != first
    assert identities(event.profile) == {("user_id", "U2")}
    assert identities(first) == {("user_id", "U1"), ("anonymous_id", "shared-tablet")}
    assert not ProfileMerge.objects.exists()
    assert event.anonymous_id == "shared-tablet"  # kept on the event
    assert any("anonymous_id" in w and "shared-tablet" in w for w in event.warnings)


def test_per_kind_limit_from_the_workspace(workspace):
    ws = workspace.workspace
    ws.identity_limits = {"email": 2}
    ws.save()
    customer = send(ws, "identify", user_id="u1", traits={"email": "a@example.com"}).profile
    send(ws, "identify", user_id="u1", traits={"email": "b@example.com"})
    third = send(ws, "identify", user_id="u1", traits={"email": "c@example.com"})

    assert third.profile == customer
    assert {v for k, v in identities(customer) if k == "email"} == {
        "a@example.com",
        "b@example.com",
    }
    assert not Identity.objects.filter(value="c@example.com").exists()
    assert any("c@example.com" in w and "2 email" in w for w in third.warnings)
    # Other kinds keep the server default.
    for n in range(5):
        send(ws, user_id="u1", anonymous_id=f"device-{n}")
    assert customer.identities.filter(kind="anonymous_id").count() == 5


def test_a_merge_that_would_exceed_a_limit_does_not_happen(workspace):
    ws = workspace.workspace
    ws.identity_limits = {"anonymous_id": 2}
    ws.save()
    send(ws, "identify", user_id="u1", anonymous_id="a1")
    send(ws, "identify", user_id="u1", anonymous_id="a2")
    other = send(ws, anonymous_id="a3").profile

    event = send(ws, "identify", user_id="u1", anonymous_id="a3")

    # a3's profile would bring a third anonymous_id: a3 is set aside and the
    # event goes to u1 alone.
    assert event.profile == profile_of(ws, "user_id", "u1")
    assert profile_of(ws, "anonymous_id", "a3") == other
    assert Profile.objects.get(pk=other.pk).merged_into is None


def test_workspaces_never_share_identities(workspace, other_workspace):
    mine = send(workspace.workspace, user_id="u1").profile
    theirs = send(other_workspace.workspace, user_id="u1").profile
    assert mine != theirs
    assert not ProfileMerge.objects.exists()


def test_identify_traits_latest_update_wins_including_late_events(workspace):
    ws = workspace.workspace
    send(ws, "identify", user_id="u1", traits={"plan": "pro", "city": "Paris"}, at=T0)
    late = send(
        ws,
        "identify",
        user_id="u1",
        traits={"plan": "free", "age": 30},
        at=T0 - dt.timedelta(days=3),
    )
    profile = late.profile
    assert profile.traits == {"plan": "pro", "city": "Paris", "age": 30}
    newer = send(
        ws, "identify", user_id="u1", traits={"city": "Lyon"}, at=T0 + dt.timedelta(hours=1)
    )
    assert newer.profile.traits == {"plan": "pro", "city": "Lyon", "age": 30}


def test_context_traits_count_but_group_traits_do_not(workspace):
    ws = workspace.workspace
    send(ws, "track", user_id="u1", context={"traits": {"plan": "pro"}})
    group = send(ws, "group", user_id="u1", traits={"name": "Acme Inc", "email": "ops@acme.com"})
    assert group.profile.traits == {"plan": "pro"}
    assert not Identity.objects.filter(kind="email").exists()


def test_traits_merge_by_latest_update_per_trait(workspace):
    ws = workspace.workspace
    send(ws, "identify", anonymous_id="a1", traits={"plan": "free", "color": "red"}, at=T0)
    send(
        ws,
        "identify",
        user_id="u1",
        traits={"plan": "pro"},
        at=T0 + dt.timedelta(days=1),
    )
    send(ws, "identify", user_id="u1", traits={"color": "blue"}, at=T0 - dt.timedelta(days=1))
    merged = send(ws, "identify", user_id="u1", anonymous_id="a1", at=T0 + dt.timedelta(days=2))
    assert merged.profile.traits == {"plan": "pro", "color": "red"}


def test_unprocessed_events_of_the_same_customer_in_one_batch_resolve_together(workspace):
    ws = workspace.workspace
    pending_event(ws, anonymous_id="a1")
    pending_event(ws, "identify", user_id="u1", anonymous_id="a1")
    pending_event(ws, user_id="u1")
    pending_event(ws, anonymous_id="a1")
    assert process_pending() == 4
    assert canonical_profiles(ws).count() == 1
    assert Event.objects.filter(profile=canonical_profiles(ws).get()).count() == 4


def test_resolution_retries_when_a_matched_profile_moved_under_it(workspace, monkeypatch):
    """A webhook or the careful processing path resolving while another worker
    merges: the first attempt finds the profile moved, the next one succeeds."""
    from engage.profiles import resolution
    from engage.profiles.locks import ProfilesMoved

    ws = workspace.workspace
    send(ws, "identify", user_id="ann", traits={"email": "ann@example.com"})
    real_lock = resolution.try_lock_profiles
    attempts = []

    def moved_once(profile_ids):
        attempts.append(profile_ids)
        if len(attempts) == 1:
            real_lock(profile_ids)  # locked, then found merged away
            raise ProfilesMoved
        return real_lock(profile_ids)

    monkeypatch.setattr(resolution, "try_lock_profiles", moved_once)
    extracted = resolution.Extracted(
        identifiers=[resolution.Identifier(Identity.EMAIL, "ann@example.com")]
    )
    found = resolution.resolve_identifiers(workspace=ws, extracted=extracted)

    assert len(attempts) == 2
    assert found.profile == profile_of(ws, "user_id", "ann")
