"""The engage_enrich_event hook: what a plugin adds is on the stored event
before segments and journeys read it; a failing plugin holds nothing up."""

import pytest

from engage.events.models import Event
from engage.plugins import hookimpl
from tests.identity_helpers import send

pytestmark = pytest.mark.django_db


class Geo:
    @hookimpl
    def engage_enrich_event(self, event, workspace):
        if event.name == "Order Completed":
            return {"region": "EU", "shop": workspace.name}
        return None


class Broken:
    @hookimpl
    def engage_enrich_event(self, event):
        raise RuntimeError("lookup service down")


def test_enriched_properties_are_stored_on_the_event(workspace, register_plugin):
    register_plugin(Geo(), "test-geo")
    ws = workspace.workspace

    send(ws, user_id="ann", name="Order Completed", properties={"revenue": 10})
    send(ws, user_id="ann", name="Page Viewed")

    order = Event.objects.get(name="Order Completed")
    assert order.properties == {"revenue": 10, "region": "EU", "shop": ws.name}
    assert order.processed_at is not None and order.profile_id is not None
    assert Event.objects.get(name="Page Viewed").properties == {}


def test_a_failing_plugin_leaves_a_warning_and_the_event_is_processed(workspace, register_plugin):
    register_plugin(Broken(), "test-broken")
    ws = workspace.workspace

    send(ws, user_id="ann", name="Order Completed", properties={"revenue": 10})

    order = Event.objects.get(name="Order Completed")
    assert order.properties == {"revenue": 10}
    assert order.profile_id is not None
    assert any("lookup service down" in w for w in order.warnings)
