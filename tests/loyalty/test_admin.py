"""Admin: the loyalty state on the profile page, the account's history, and
importing accounts from a pasted CSV."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from engage.loyalty.models import LoyaltyAccount
from tests.customer_factories import IdentityFactory, ProfileFactory

from .helpers import account, make_programme, record

pytestmark = pytest.mark.django_db


def operator_of(workspace, *codenames: str) -> Client:
    user = User.objects.create_user("ann", password="not-used", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    workspace.members.add(user)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def member(workspace):
    make_programme(workspace.workspace, tiers=[{"name": "gold", "rank": 1, "threshold": 100}])
    ada = ProfileFactory(workspace=workspace.workspace)
    record(ada, message_id="o-1", revenue=120)
    return ada


def test_the_profile_page_shows_tier_and_points_and_the_account_its_history(workspace, member):
    client = operator_of(workspace.workspace, "view_profile", "view_loyaltyaccount")

    page = client.get(f"/admin/profiles/profile/{member.pk}/change/")
    [inline] = [f for f in page.context["inline_admin_formsets"] if f.opts.model is LoyaltyAccount]
    assert [(f.form.instance.tier, f.form.instance.points) for f in inline] == [("gold", 120)]
    assert not inline.has_change_permission

    history = client.get(f"/admin/loyalty/loyaltyaccount/{account(member).pk}/change/")
    assert "Order Completed" in history.content.decode()
    assert "+120" in history.content.decode()


def test_a_pasted_csv_with_a_bad_line_names_it_and_applies_nothing(workspace, member):
    IdentityFactory(profile=member, kind="loyalty", value="L-1")
    programme = member.loyalty_accounts.get().programme
    client = operator_of(workspace.workspace, "view_programme", "change_programme", "import_data")
    url = f"/admin/loyalty/programme/{programme.pk}/import/"
    page = client.get(f"/admin/loyalty/programme/{programme.pk}/change/")
    assert "Import accounts from a CSV" in page.content.decode()

    bad = client.post(url, {"rows": "external_id,tier,points\nL-1,gold,500\nL-9,,ten\n"})

    assert bad.status_code == 200
    assert bad.context["errors"] == [
        "line 3, external_id: no customer with this identifier in this workspace",
        "line 3, points: must be an integer from 0 to 1000000000000",
    ]
    assert account(member).points == 120

    good = client.post(url, {"rows": "L-1,gold,500\n"})

    assert good.status_code == 302
    assert account(member).points == 500


def test_importing_accounts_needs_the_bulk_import_permission(workspace, member):
    IdentityFactory(profile=member, kind="loyalty", value="L-1")
    programme = member.loyalty_accounts.get().programme
    client = operator_of(workspace.workspace, "view_programme", "change_programme")
    url = f"/admin/loyalty/programme/{programme.pk}/import/"

    page = client.get(f"/admin/loyalty/programme/{programme.pk}/change/")

    assert page.status_code == 200
    assert "Import accounts from a CSV" not in page.content.decode()
    assert client.get(url).status_code == 403
    assert client.post(url, {"rows": "L-1,gold,500\n"}).status_code == 403
    assert account(member).points == 120


def test_another_workspaces_programme_cannot_be_imported_into(workspace, other_workspace):
    theirs = make_programme(other_workspace.workspace)
    client = operator_of(workspace.workspace, "view_programme", "change_programme", "import_data")

    answer = client.post(f"/admin/loyalty/programme/{theirs.pk}/import/", {"rows": "L-1,,5"})

    assert answer.status_code == 404
