"""Workspaces and keys in the admin: keys shown once, stored hashed, revocable."""

import re

from django.urls import reverse

from engage.workspaces.keys import hash_key
from engage.workspaces.models import ApiKey, Workspace
from engage.workspaces.selectors import active_key

KEY = re.compile(r"\b((?:wk|sk)_[A-Za-z0-9_-]{40,})")


def shown_keys(response) -> list[str]:
    """Keys on the page a redirect led to (where the admin shows its messages)."""
    assert response.redirect_chain, response.content
    return KEY.findall(response.content.decode())


def add_workspace(client, name: str):
    return client.post(
        reverse("admin:workspaces_workspace_add"),
        {
            "name": name,
            "identity_limits": "{}",
            "blocked_identifiers": "[]",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
        follow=True,
    )


def test_new_workspace_shows_its_keys_once_and_stores_only_hashes(admin_client):
    response = add_workspace(admin_client, "initech")

    workspace = Workspace.objects.get(name="initech")
    keys = shown_keys(response)
    assert sorted(k[:3] for k in keys) == ["sk_", "wk_"]
    for raw in keys:
        key = active_key(raw)
        assert key is not None and key.workspace == workspace
        assert key.key_hash == hash_key(raw) != raw
    # Shown once: the next page has no key, and no page shows the hash.
    change = admin_client.get(reverse("admin:workspaces_workspace_change", args=[workspace.pk]))
    assert change.status_code == 200
    assert not KEY.search(change.content.decode())
    for key in workspace.api_keys.all():
        assert key.prefix in change.content.decode()
        assert key.key_hash not in change.content.decode()


def test_staff_who_create_a_workspace_become_members_of_it(make_operator):
    client = make_operator("ann")

    response = add_workspace(client, "initech")

    assert response.status_code == 200, response.content
    assert list(
        Workspace.objects.get(name="initech").members.values_list("username", flat=True)
    ) == ["ann"]
    listing = client.get(reverse("admin:workspaces_workspace_changelist"))
    assert "initech" in listing.content.decode()


def test_issue_key_action_shows_a_new_working_key(operator, workspace):
    response = operator.post(
        reverse("admin:workspaces_workspace_changelist"),
        {"action": "issue_secret_key", "_selected_action": [workspace.workspace.pk]},
        follow=True,
    )

    (raw,) = shown_keys(response)
    assert raw.startswith("sk_")
    key = active_key(raw)
    assert key.workspace == workspace.workspace and key.kind == ApiKey.SECRET
    assert key.name == "issued by ann"


def test_revoke_action_stops_the_key(operator, workspace):
    key = active_key(workspace.secret_key)

    response = operator.post(
        reverse("admin:workspaces_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )

    assert response.status_code == 302
    assert active_key(workspace.secret_key) is None
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_key_list_shows_prefixes_never_hashes(operator, workspace, other_workspace):
    response = operator.get(reverse("admin:workspaces_apikey_changelist"))

    page = response.content.decode()
    for key in workspace.workspace.api_keys.all():
        assert key.prefix in page and key.key_hash not in page
    for key in other_workspace.workspace.api_keys.all():
        assert key.prefix not in page


def test_staff_only_see_their_workspaces(operator, workspace, other_workspace):
    listing = operator.get(reverse("admin:workspaces_workspace_changelist"))
    other_page = operator.get(
        reverse("admin:workspaces_workspace_change", args=[other_workspace.workspace.pk])
    )

    assert "acme" in listing.content.decode()
    assert "globex" not in listing.content.decode()
    # Django answers a row outside the queryset like a missing one.
    assert other_page.status_code == 302
    assert "globex" not in operator.get(other_page.url).content.decode()


def test_staff_cannot_act_on_another_workspace_by_forging_ids(operator, other_workspace):
    key = active_key(other_workspace.secret_key)

    operator.post(
        reverse("admin:workspaces_apikey_changelist"),
        {"action": "revoke", "_selected_action": [key.pk]},
    )
    operator.post(
        reverse("admin:workspaces_workspace_changelist"),
        {"action": "issue_write_key", "_selected_action": [other_workspace.workspace.pk]},
    )

    assert active_key(other_workspace.secret_key) is not None
    assert other_workspace.workspace.api_keys.count() == 2


def test_staff_edit_their_workspace_but_not_its_members(operator, workspace):
    url = reverse("admin:workspaces_workspace_change", args=[workspace.workspace.pk])

    page = operator.get(url).content.decode()
    response = operator.post(
        url,
        {
            "name": "acme",
            "rate_limit_per_second": "50",
            "default_phone_region": "GB",
            "identity_limits": '{"email": 3}',
            "blocked_identifiers": '["qa-user"]',
            "api_keys-TOTAL_FORMS": "2",
            "api_keys-INITIAL_FORMS": "2",
        },
    )

    assert 'name="members"' not in page
    assert response.status_code == 302, response.content
    workspace.workspace.refresh_from_db()
    assert workspace.workspace.rate_limit_per_second == 50
    assert workspace.workspace.identity_limits == {"email": 3}
    assert list(workspace.workspace.members.values_list("username", flat=True)) == ["ann"]
