"""Privacy records in the admin: suppressions found by the identifier itself,
and deletable so a customer can come back; privacy requests kept."""

import pytest
from django.contrib import admin
from django.urls import reverse

from engage.privacy.models import PrivacyRequest, Suppression
from engage.privacy.services import erase_profile
from engage.profiles import admin as profiles_admin
from engage.profiles.models import ProfileMerge
from tests.customer_factories import IdentityFactory, MergeFactory, ProfileFactory
from tests.identity_helpers import profile_of, send


@pytest.fixture
def erased(workspace):
    """Ada, erased: her email and user id are suppressed."""
    ada = ProfileFactory(workspace=workspace.workspace)
    IdentityFactory(profile=ada, kind="email", value="ada@example.com")
    IdentityFactory(profile=ada, kind="user_id", value="u-1815")
    erase_profile(profile=ada, requested_by="test")
    return ada


def suppressions_page(client, term: str) -> str:
    response = client.get(reverse("admin:privacy_suppression_changelist"), {"q": term})
    assert response.status_code == 200
    return response.content.decode()


def test_suppression_is_found_by_the_identifier_as_typed(operator, other_operator, erased):
    email = Suppression.objects.get(kind="email")

    found = suppressions_page(operator, " ADA@example.com")
    elsewhere = suppressions_page(other_operator, "ada@example.com")

    assert email.identity_hash[:16] in found
    assert Suppression.objects.get(kind="user_id").identity_hash[:16] not in found
    assert email.identity_hash[:16] not in elsewhere
    # Hashes only: the identifier appears once, in the search box.
    assert found.lower().count("ada@example.com") == 1


def test_deleting_the_suppression_lets_the_customer_come_back(operator, workspace, erased):
    email = Suppression.objects.get(kind="email")

    response = operator.post(
        reverse("admin:privacy_suppression_delete", args=[email.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Suppression.objects.filter(pk=email.pk).exists()
    send(
        workspace.workspace,
        "identify",
        anonymous_id="new-device",
        traits={"email": "ada@example.com"},
    )
    assert profile_of(workspace.workspace, "email", "ada@example.com")


def test_privacy_requests_cannot_be_deleted(admin_client, erased):
    request = PrivacyRequest.objects.get(profile_id=erased.pk)

    response = admin_client.post(
        reverse("admin:privacy_privacyrequest_delete", args=[request.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert PrivacyRequest.objects.filter(pk=request.pk).exists()


class MergesOutInline(admin.TabularInline):
    model = ProfileMerge
    fk_name = "survivor"
    fields = ["merged", "reason"]
    readonly_fields = fields


def test_other_apps_add_inlines_to_the_profile_page(admin_client, workspace, monkeypatch):
    monkeypatch.setattr(profiles_admin, "_extra_inlines", [])
    profiles_admin.register_profile_inline(MergesOutInline)
    profiles_admin.register_profile_inline(MergesOutInline)  # once is enough
    merge = MergeFactory(survivor=ProfileFactory(workspace=workspace.workspace))
    IdentityFactory(profile=merge.survivor, kind="email", value="ada@example.com")

    page = admin_client.get(reverse("admin:profiles_profile_change", args=[merge.survivor_id]))

    html = page.content.decode()
    assert html.count('id="merges_in-group"') == 1
    assert html.index('id="identities-group"') < html.index('id="merges_in-group"')
