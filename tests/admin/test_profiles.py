"""The customer view in the admin: search by any identifier, tenant scoping,
merge history with split, erasure, read-only event and privacy admins."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engage.events.models import Event
from engage.privacy.models import PrivacyRequest
from engage.profiles.merge import merge_profiles
from engage.profiles.models import Identity, Profile, ProfileMerge
from tests.admin.conftest import OPERATOR_PERMISSIONS
from tests.customer_factories import EventFactory, IdentityFactory, ProfileFactory


@pytest.fixture
def ada(workspace):
    profile = ProfileFactory(
        workspace=workspace.workspace, traits={"name": "Ada Lovelace", "plan": "pro"}
    )
    IdentityFactory(profile=profile, kind="email", value="ada@example.com")
    IdentityFactory(profile=profile, kind="phone", value="+442079460018")
    IdentityFactory(profile=profile, kind="user_id", value="u-1815")
    IdentityFactory(profile=profile, kind="crm", value="CRM-77")
    return profile


@pytest.fixture
def merged_ada(ada):
    """Ada after a second device's profile (with its identity and event) merged in."""
    phone = ProfileFactory(workspace=ada.workspace, traits={"device": "phone"})
    IdentityFactory(profile=phone, kind="anonymous_id", value="anon-phone")
    EventFactory(profile=phone, message_id="from-phone")
    merge = merge_profiles(survivor=ada, merged=phone, reason=ProfileMerge.IDENTIFY)
    return ada, phone, merge


def search(client, term: str) -> str:
    response = client.get(reverse("admin:profiles_profile_changelist"), {"q": term})
    assert response.status_code == 200
    return response.content.decode()


def change_url(profile) -> str:
    return reverse("admin:profiles_profile_change", args=[profile.pk])


@pytest.mark.parametrize(
    "term",
    [
        "  Ada@Example.COM ",  # normalized as resolution does
        "+44 20 7946 0018",  # read as E.164
        "u-1815",
        "CRM-77",  # an external id, any kind
        "crm:CRM-77",
    ],
)
def test_search_finds_the_customer_by_any_identifier(operator, ada, term):
    page = search(operator, term)

    assert change_url(ada) in page
    assert "Ada Lovelace" in page


def test_search_by_profile_id(operator, ada):
    assert change_url(ada) in search(operator, str(ada.pk))


def test_search_matches_exact_identifiers_not_fragments(operator, ada):
    page = search(operator, "ada@example")

    assert change_url(ada) not in page
    assert "0 profiles" in page


def test_search_uses_the_workspace_phone_region(operator, workspace, ada):
    workspace.workspace.default_phone_region = "GB"
    workspace.workspace.save()

    assert change_url(ada) in search(operator, "020 7946 0018")


def test_another_workspace_staff_cannot_see_the_customer(other_operator, ada):
    assert change_url(ada) not in search(other_operator, "ada@example.com")
    assert change_url(ada) not in search(other_operator, "")

    change = other_operator.get(change_url(ada))
    timeline = other_operator.get(reverse("admin:profiles_profile_timeline", args=[ada.pk]))
    erase = other_operator.post(reverse("admin:profiles_profile_erase", args=[ada.pk]))

    assert change.status_code == 302  # Django's answer for a row that is not there
    assert timeline.status_code == 404
    assert erase.status_code == 404
    assert Profile.objects.filter(pk=ada.pk).exists()


def test_staff_without_workspaces_see_no_customers(make_operator, ada):
    client = make_operator("nobody")

    assert change_url(ada) not in search(client, "")


def test_superuser_sees_every_workspace(admin_client, ada):
    assert change_url(ada) in search(admin_client, "ada@example.com")


def test_profile_page_shows_identities_traits_seen_times_and_timeline_link(operator, ada):
    page = operator.get(change_url(ada)).content.decode()

    for value in ("ada@example.com", "+442079460018", "u-1815", "CRM-77"):
        assert value in page
    assert "&quot;plan&quot;: &quot;pro&quot;" in page  # pretty-printed JSON
    assert "Jan. 1, 2025" in page  # first/last seen
    assert reverse("admin:profiles_profile_timeline", args=[ada.pk]) in page


def test_merge_history_lists_merged_profiles_and_splits_on_confirm(operator, merged_ada):
    ada, phone, merge = merged_ada
    split_url = reverse("admin:profiles_profile_split", args=[ada.pk, merge.pk])

    page = operator.get(change_url(ada)).content.decode()
    assert change_url(phone) in page and "identify linked identifiers" in page
    assert split_url in page

    confirm = operator.get(split_url)
    assert confirm.status_code == 200
    assert "anon-phone" in confirm.content.decode()
    merge.refresh_from_db()
    assert merge.split_at is None  # GET only asks

    response = operator.post(split_url)

    assert response.status_code == 302 and response.url == change_url(ada)
    merge.refresh_from_db()
    phone.refresh_from_db()
    assert merge.split_at is not None and merge.split_by == "ann"
    assert phone.merged_into_id is None
    assert Identity.objects.get(value="anon-phone").profile_id == phone.pk
    assert Event.objects.get(message_id="from-phone").profile_id == phone.pk
    assert LogEntry.objects.filter(object_id=str(ada.pk), user__username="ann").exists()
    after = operator.get(change_url(ada)).content.decode()
    assert "by ann" in after and split_url not in after


def test_splitting_twice_says_it_was_split(operator, merged_ada):
    ada, _, merge = merged_ada
    split_url = reverse("admin:profiles_profile_split", args=[ada.pk, merge.pk])
    operator.post(split_url)

    response = operator.post(split_url, follow=True)

    assert f"merge {merge.pk} was already split" in response.content.decode()


def test_split_needs_the_merge_change_permission(make_operator, workspace, merged_ada):
    ada, _, merge = merged_ada
    permissions = [p for p in OPERATOR_PERMISSIONS if p != "profiles.change_profilemerge"]
    client = make_operator("viewer", workspace.workspace, permissions=permissions)

    split_url = reverse("admin:profiles_profile_split", args=[ada.pk, merge.pk])

    page = client.get(change_url(ada)).content.decode()
    response = client.post(split_url)

    assert "identify linked identifiers" in page and split_url not in page
    assert response.status_code == 403
    merge.refresh_from_db()
    assert merge.split_at is None


def test_erase_goes_through_the_privacy_service(operator, merged_ada):
    ada, phone, _ = merged_ada
    url = reverse("admin:profiles_profile_erase", args=[ada.pk])

    assert "anon-phone" in operator.get(url).content.decode()
    response = operator.post(url)

    assert response.status_code == 302
    assert not Profile.objects.filter(pk__in=[ada.pk, phone.pk]).exists()
    request = PrivacyRequest.objects.get(profile_id=ada.pk)
    assert request.kind == PrivacyRequest.ERASE and request.requested_by == "ann"


@pytest.mark.parametrize(
    "model", ["profiles/profile", "profiles/profilemerge", "events/event", "privacy/privacyrequest"]
)
def test_customer_data_is_read_only_in_the_admin(admin_client, merged_ada, model):
    ada, _, _ = merged_ada
    changelist = admin_client.get(f"/admin/{model}/")
    add = admin_client.get(f"/admin/{model}/add/")

    assert changelist.status_code == 200
    assert add.status_code == 403
    assert 'name="_save"' not in admin_client.get(change_url(ada)).content.decode()


def test_event_and_merge_lists_are_scoped(other_operator, operator, merged_ada):
    for client, visible in ((operator, True), (other_operator, False)):
        events = client.get(reverse("admin:events_event_changelist")).content.decode()
        merges = client.get(reverse("admin:profiles_profilemerge_changelist")).content.decode()
        assert ("from-phone" in events) is visible
        assert (change_url(merged_ada[1]) in merges) is visible


@pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans of PostgreSQL")
def test_search_reads_identities_through_the_unique_index(operator, workspace, ada):
    crowd = ProfileFactory(workspace=workspace.workspace)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO profiles_identity (workspace_id, profile_id, kind, value, created_at)
            SELECT %s, %s, k.kind, k.kind || '-' || n, now()
            FROM generate_series(1, 20000) AS n,
                 (VALUES ('email'), ('anonymous_id'), ('crm'), ('pos')) AS k(kind)
            """,
            [workspace.workspace.pk, crowd.pk],
        )
        cursor.execute("ANALYZE profiles_identity")

    with CaptureQueriesContext(connection) as queries:
        page = search(operator, "Ada@Example.COM")

    assert change_url(ada) in page and change_url(crowd) not in page
    identity_sql = [
        q["sql"]
        for q in queries.captured_queries
        if "profiles_identity" in q["sql"] and "profiles_profile" in q["sql"]
    ]
    assert identity_sql
    for sql in identity_sql:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "identity_unique_per_workspace" in plan, plan
        assert "Seq Scan on profiles_identity" not in plan, plan
