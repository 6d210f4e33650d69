"""The workspace overview in the admin: every chart's table holds the shop's
numbers worked out by hand, for the workspace and days chosen, and only for
staff who may see that workspace."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from tests.dashboards.shop import EXPECTED, QUERY, seed
from tests.dashboards.tables import chart_tables

URL = "/admin/dashboards/overview/"


def staff(username, *workspaces, may_view=True) -> Client:
    user = User.objects.create_user(username, password="not-used", is_staff=True)
    if may_view:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="dashboards", codename="view_overview")
        )
    for workspace in workspaces:
        workspace.members.add(user)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def shop(workspace, other_workspace):
    seed(workspace.workspace, other_workspace.workspace)
    return workspace.workspace, other_workspace.workspace


def test_every_chart_shows_the_workspaces_numbers_as_a_table(shop):
    acme, _globex = shop
    response = staff("ann", acme).get(URL, QUERY)

    assert response.status_code == 200
    assert chart_tables(response.content.decode()) == EXPECTED


def test_the_index_links_the_overview_for_staff_allowed_to_see_it(shop):
    acme, _globex = shop

    assert f'href="{URL}"' in staff("ann", acme).get("/admin/").content.decode()
    assert f'href="{URL}"' not in staff("bob", acme, may_view=False).get("/admin/").content.decode()
    assert staff("cid", acme, may_view=False).get(URL).status_code == 403


def test_the_overview_is_the_only_page_there_is(shop, admin_client):
    for page in ("1/change/", "1/delete/", "1/history/", "add/"):
        assert admin_client.get(URL + page).status_code == 404, page


def test_another_workspace_is_refused_by_name(shop):
    acme, globex = shop
    response = staff("ann", acme).get(URL, {**QUERY, "workspace": globex.pk})

    assert response.status_code == 400
    assert "workspace: Select a valid choice." in response.content.decode()
    assert chart_tables(response.content.decode()) == {}


def test_a_superuser_chooses_any_workspace(shop, admin_client):
    _acme, globex = shop
    response = admin_client.get(URL, {**QUERY, "workspace": globex.pk})

    tables = chart_tables(response.content.decode())
    assert tables["decisions"] == [["skipped: elsewhere", "1"]]
    assert tables["revenue"] == [["2026-03", "999.00", "999.00"]]


def test_staff_of_no_workspace_are_told_so(shop):
    response = staff("dan").get(URL)

    assert response.status_code == 400
    assert "workspace: you are a member of no workspace yet" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"start": "2026-02-30"}, "start: Enter a valid date."),
        ({"end": "yesterday"}, "end: Enter a valid date."),
        ({"start": "2026-03-05", "end": "2026-03-04"}, "end: must not be before start"),
        ({"start": "2025-01-01", "end": "2026-03-04"}, "end: at most 366 days after start"),
    ],
    ids=["impossible-day", "not-a-date", "end-before-start", "longer-than-a-year"],
)
def test_a_bad_range_is_refused_naming_the_field(shop, query, error):
    acme, _globex = shop
    response = staff("ann", acme).get(URL, query)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert chart_tables(response.content.decode()) == {}


def test_the_charts_library_is_served_from_the_projects_static_files(shop):
    acme, _globex = shop
    page = staff("ann", acme).get(URL, QUERY).content.decode()

    library = "/static/dashboards/vendor/chartjs-4.6.1/chart.umd.min.js"
    assert f'src="{library}"' in page
    assert "cdn" not in page.lower()
    served = Client().get(library)
    assert served.status_code == 200
    assert b"Chart.js v4.6.1" in b"".join(served.streaming_content)
