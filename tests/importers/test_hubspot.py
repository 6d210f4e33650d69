"""HubSpot CRM: contacts and deals through the search API, page by page,
and the next run asks only for what changed since."""

import pytest

from engage.events.importing import run_import
from engage.events.models import Event
from engage.imports.models import ImportCursor
from engage.plugins.base import SettingsError
from engage.plugins.provider_http import SourceError
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity

from .providers import HUBSPOT_TOKEN

pytestmark = pytest.mark.django_db


def seed(hubspot):
    # Contacts from HubSpot's documented examples.
    hubspot.add(
        "contacts",
        "512",
        "2019-12-07T16:50:06.678Z",
        {"email": "bh@hubspot.com", "firstname": "Brian", "lastname": "Halligan", "phone": None},
    )
    hubspot.add(
        "contacts",
        "151",
        "2020-01-15T09:12:44.210Z",
        {"email": "emailmaria@hubspot.com", "firstname": "Maria", "lastname": "Johnson"},
    )
    hubspot.add(
        "contacts",
        "201",
        "2020-01-15T09:12:44.210Z",  # the same millisecond as Maria
        {"email": "coolrobot@hubspot.com", "firstname": "Cool", "lastname": "Robot"},
    )
    won = {"dealname": "Annual plan", "amount": "1500.00", "dealstage": "closedwon"}
    won |= {"pipeline": "default", "closedate": "2020-02-01T10:00:00Z"}
    hubspot.add("deals", "3654", "2020-02-01T10:00:05.000Z", won)
    open_deal = {"dealname": "Add-on", "amount": "200", "dealstage": "appointmentscheduled"}
    hubspot.add("deals", "3655", "2020-02-02T10:00:00.000Z", open_deal)
    hubspot.add("deals", "3656", "2020-02-03T10:00:00.000Z", {"dealname": "Orphan"})
    hubspot.deal_contacts = {"3654": [512], "3655": [151]}


def events(ws, name):
    return Event.objects.filter(workspace=ws, name=name).order_by("timestamp")


def test_contacts_and_deals_become_customers_orders_and_deal_events(
    hubspot, workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    seed(hubspot)
    with django_capture_on_commit_callbacks(execute=True):
        report = run_import(workspace=ws, plugin_id="hubspot")

    assert (report.stored, report.invalid) == (6, 1)  # 3 identifies, 2 deal events, 1 order
    assert report.errors[0]["where"] == "deal 3656"
    assert report.errors[0]["field"] == "associations.contacts"

    # The requests are HubSpot's: a bearer token, the search body, paging by after.
    searches = [r for r in hubspot.requests if r.path.endswith("/search")]
    first = searches[0]
    assert first.path == "/crm/v3/objects/contacts/search"
    assert first.headers["authorization"] == f"Bearer {HUBSPOT_TOKEN}"
    assert first.json["filterGroups"][0]["filters"] == [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}
    ]
    assert first.json["limit"] == 2 and "after" not in first.json
    assert {"email", "firstname", "lastname", "phone"} <= set(first.json["properties"])
    assert searches[1].json["after"] == "2"
    assert searches[2].path == "/crm/v3/objects/deals/search"

    brian = Identity.objects.get(workspace=ws, kind="hubspot", value="512").profile
    assert set(brian.identities.values_list("kind", "value")) >= {
        ("email", "bh@hubspot.com"),
        ("hubspot", "512"),
    }
    assert brian.traits["first_name"] == "Brian"
    assert "phone" not in brian.traits  # HubSpot's null sets nothing
    (order,) = events(ws, "Order Completed")
    assert order.profile_id == brian.pk
    assert order.properties == {"order_id": "3654", "revenue": 1500.0}
    assert order.timestamp.isoformat() == "2020-02-01T10:00:00+00:00"
    maria = Identity.objects.get(workspace=ws, kind="hubspot", value="151").profile
    (add_on,) = events(ws, "Deal Updated").filter(properties__deal_id="3655")
    assert add_on.profile_id == maria.pk
    assert add_on.properties["stage"] == "appointmentscheduled"
    assert add_on.properties["amount"] == 200.0


def test_the_next_run_asks_for_what_changed_and_stores_a_change_once(
    hubspot, workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    seed(hubspot)
    run_import(workspace=ws, plugin_id="hubspot")
    cursor = ImportCursor.objects.get(workspace=ws, importer_id="hubspot").cursor
    assert cursor["contacts"]["ids"] == ["151", "201"]  # both at the last millisecond

    hubspot.requests.clear()
    again = run_import(workspace=ws, plugin_id="hubspot")
    assert (again.stored, again.duplicates) == (0, 0)
    contacts_search = hubspot.requests[0].json["filterGroups"][0]["filters"][0]
    assert contacts_search["value"] == str(cursor["contacts"]["since"])

    # Maria changes her name and the won deal is edited: her identify is new,
    # the order is not counted twice.
    hubspot.add(
        "contacts",
        "151",
        "2020-03-01T08:00:00.000Z",
        {"email": "emailmaria@hubspot.com", "firstname": "Mary", "lastname": "Johnson"},
    )
    edited = {"dealname": "Annual plan", "amount": "1600.00", "dealstage": "closedwon"}
    hubspot.add("deals", "3654", "2020-03-01T08:00:00.000Z", edited)
    third = run_import(workspace=ws, plugin_id="hubspot")
    assert (third.stored, third.duplicates) == (2, 1)  # identify + Deal Updated; order a dup
    assert events(ws, "Order Completed").count() == 1
    assert Event.objects.filter(workspace=ws, type="identify", traits__first_name="Mary").exists()


def test_a_refused_token_names_hubspot_and_the_setting(hubspot, workspace):
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="hubspot",
        settings={"access_token": "pat-expired", "api_url": hubspot.url},
    )
    with pytest.raises(
        SourceError, match=r"HubSpot refused the credentials .*HTTP 401.*access_token"
    ):
        run_import(workspace=workspace.workspace, plugin_id="hubspot")
    assert not Event.objects.exists()


def test_settings_are_checked_field_by_field(workspace):
    with pytest.raises(SettingsError) as refused:
        configure_plugin(
            workspace=workspace.workspace,
            plugin_id="hubspot",
            settings={
                "access_token": "x",
                "api_url": "http://169.254.169.254/",
                "page_size": 500,
                "properties": "a b",
            },
        )
    assert set(refused.value.errors) == {"api_url", "page_size", "properties"}
    assert "link-local" in refused.value.errors["api_url"]
