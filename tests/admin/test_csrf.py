"""The admin refuses state-changing POSTs without the CSRF token.

A logged-in operator's browser would otherwise act for any page that posts
to the admin. Each POST is sent first without the token (403, nothing
changed), then with the token the admin's own page gave (it acts).
"""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from engage.privacy.models import PrivacyRequest
from engage.profiles.merge import merge_profiles
from engage.profiles.models import Profile, ProfileMerge
from engage.workspaces.models import ApiKey
from tests.customer_factories import IdentityFactory, ProfileFactory

from .conftest import OPERATOR_PERMISSIONS, _permissions

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def browser(workspace):
    """A logged-in operator's browser, with CSRF checks on as in production."""
    user = User.objects.create_user("ann", password="not-used", is_staff=True)
    user.user_permissions.set(_permissions(OPERATOR_PERMISSIONS))
    workspace.workspace.members.add(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def token_from(client: Client, url: str) -> str:
    """The token in the form the admin serves at ``url``."""
    page = client.get(url)
    assert page.status_code == 200
    return TOKEN.search(page.content.decode()).group(1)


def assert_refused(response):
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()


def test_an_action_needs_the_token(browser, workspace):
    key = ApiKey.objects.filter(workspace=workspace.workspace).first()
    url = reverse("admin:workspaces_apikey_changelist")
    form = {"action": "revoke", "_selected_action": [key.pk]}

    assert_refused(browser.post(url, form))
    key.refresh_from_db()
    assert key.revoked_at is None

    done = browser.post(url, {**form, "csrfmiddlewaretoken": token_from(browser, url)})
    assert done.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_a_change_form_needs_the_token(browser, workspace):
    ws = workspace.workspace
    url = reverse("admin:workspaces_workspace_change", args=[ws.pk])
    form = {
        "name": "acme-renamed",
        "rate_limit_per_second": "",
        "default_phone_region": "",
        "identity_limits": "{}",
        "blocked_identifiers": "[]",
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
    }

    assert_refused(browser.post(url, form))
    ws.refresh_from_db()
    assert ws.name == "acme"

    done = browser.post(url, {**form, "csrfmiddlewaretoken": token_from(browser, url)})
    assert done.status_code == 302, done.content.decode()[:2000]
    ws.refresh_from_db()
    assert ws.name == "acme-renamed"


def test_the_split_and_erase_confirmations_need_the_token(browser, workspace):
    ada = ProfileFactory(workspace=workspace.workspace)
    IdentityFactory(profile=ada, kind="email", value="ada@example.com")
    phone = ProfileFactory(workspace=workspace.workspace)
    IdentityFactory(profile=phone, kind="anonymous_id", value="anon-phone")
    merge = merge_profiles(survivor=ada, merged=phone, reason=ProfileMerge.IDENTIFY)
    split = reverse("admin:profiles_profile_split", args=[ada.pk, merge.pk])
    erase = reverse("admin:profiles_profile_erase", args=[ada.pk])

    assert_refused(browser.post(split))
    assert_refused(browser.post(erase))
    merge.refresh_from_db()
    assert merge.split_at is None
    assert Profile.objects.filter(pk=ada.pk).exists()
    assert not PrivacyRequest.objects.exists()

    assert (
        browser.post(split, {"csrfmiddlewaretoken": token_from(browser, split)}).status_code == 302
    )
    merge.refresh_from_db()
    assert merge.split_at is not None
    assert (
        browser.post(erase, {"csrfmiddlewaretoken": token_from(browser, erase)}).status_code == 302
    )
    assert not Profile.objects.filter(pk=ada.pk).exists()
    assert PrivacyRequest.objects.filter(profile_id=ada.pk).exists()


def test_a_token_from_another_session_is_refused(browser, make_operator, workspace):
    """A token is bound to its browser: one an attacker got from their own login fails."""
    key = ApiKey.objects.filter(workspace=workspace.workspace).first()
    url = reverse("admin:workspaces_apikey_changelist")
    attacker = Client(enforce_csrf_checks=True)
    attacker.force_login(User.objects.create_user("mallory", is_staff=True))
    theirs = token_from(attacker, reverse("admin:index"))
    token_from(browser, url)  # the browser has a CSRF cookie of its own

    assert_refused(
        browser.post(
            url, {"action": "revoke", "_selected_action": [key.pk], "csrfmiddlewaretoken": theirs}
        )
    )
    key.refresh_from_db()
    assert key.revoked_at is None
