"""Logged-in admin clients: a superuser, and staff members of one workspace."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

# What an operator of one workspace is given (through a group, in practice).
OPERATOR_PERMISSIONS = [
    "workspaces.view_workspace",
    "workspaces.change_workspace",
    "workspaces.add_workspace",
    "workspaces.view_apikey",
    "workspaces.change_apikey",
    "profiles.view_profile",
    "profiles.delete_profile",
    "profiles.view_profilemerge",
    "profiles.change_profilemerge",
    "events.view_event",
    "privacy.view_privacyrequest",
    "privacy.view_suppression",
    "privacy.delete_suppression",
]


def _permissions(names):
    for name in names:
        app_label, codename = name.split(".")
        yield Permission.objects.get(content_type__app_label=app_label, codename=codename)


@pytest.fixture
def make_operator(db):
    """``make_operator("ann", workspace)``: a logged-in staff client of ``workspace``."""

    def make(username: str, *workspaces, permissions=OPERATOR_PERMISSIONS) -> Client:
        user = User.objects.create_user(username, password="not-used", is_staff=True)
        user.user_permissions.set(_permissions(permissions))
        for workspace in workspaces:
            workspace.members.add(user)
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def operator(make_operator, workspace) -> Client:
    """Staff member of the "acme" workspace only."""
    return make_operator("ann", workspace.workspace)


@pytest.fixture
def other_operator(make_operator, other_workspace) -> Client:
    """Staff member of the "globex" workspace only."""
    return make_operator("olga", other_workspace.workspace)
