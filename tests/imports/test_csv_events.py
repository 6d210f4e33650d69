"""Events and orders from a CSV file become track calls on the timeline."""

from io import StringIO

import pytest
from django.core.management import call_command

from engage.events.models import Event
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity

pytestmark = pytest.mark.django_db

CSV = (
    "user_id,email,event,timestamp,order_id,revenue,currency,products,plan,properties\n"
    'u-1,,Viewed Product,2026-03-02T09:00:00Z,,,,,gold,"{""sku"": ""A-1"", ""qty"": 2}"\n'
    'u-1,,,2026-03-02T09:05:00+01:00,1001,42.50,EUR,"[{""product_id"": ""A-1""}]",,\n'
    ",bo@example.com,,2026-03-03T10:00:00,1002,7,EUR,A-1; B-2,,\n"
    ",,Viewed Product,2026-03-02T09:00:00Z,,,,,,\n"
    "u-2,,Viewed Product,yesterday,,,,,,\n"
    "u-2,,Viewed Product,2026-03-02T09:00:00Z,,,,,,[1]\n"
    "u-2,,,2026-03-02T09:00:00Z,1003,a lot,,,,\n"
    "u-2,,,2026-03-02T09:00:00Z,1004,1,,[1],,\n"
)


def run(tmp_path, content: str, capture) -> str:
    path = tmp_path / "orders.csv"
    path.write_text(content)
    out = StringIO()
    with capture(execute=True):
        call_command(
            "import_source", "csv_events", "--workspace", "acme", "--file", str(path), stdout=out
        )
    return out.getvalue()


def test_rows_become_track_calls_and_bad_ones_are_placed_by_line_and_column(
    workspace, tmp_path, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    configure_plugin(workspace=ws, plugin_id="csv_events", settings={"source": "shop"})

    out = run(tmp_path, CSV, django_capture_on_commit_callbacks)

    assert "read 8, stored 3, duplicates 0, invalid 5" in out
    problems = [line.strip() for line in out.splitlines() if line.startswith("  line")]
    assert [p.split(": ")[:2] for p in problems] == [
        ["line 5", "user_id,anonymous_id,email"],
        ["line 6", "timestamp"],
        ["line 7", "properties"],
        ["line 8", "revenue"],
        ["line 9", "products"],
    ]
    events = {e.message_id: e for e in Event.objects.filter(workspace=ws)}
    viewed = next(e for e in events.values() if e.name == "Viewed Product")
    assert viewed.user_id == "u-1"
    assert viewed.properties == {"sku": "A-1", "qty": 2, "plan": "gold"}
    order = events["shop:Order Completed:1001"]
    assert order.properties == {
        "order_id": "1001",
        "revenue": 42.5,
        "currency": "EUR",
        "products": [{"product_id": "A-1"}],
    }
    assert order.timestamp.isoformat() == "2026-03-02T08:05:00+00:00"
    by_email = events["shop:Order Completed:1002"]
    assert by_email.properties["products"] == [{"product_id": "A-1"}, {"product_id": "B-2"}]
    # The email finds the customer: the order is on their profile.
    bo = Identity.objects.get(workspace=ws, kind="email", value="bo@example.com")
    assert Event.objects.get(pk=by_email.pk).profile_id == bo.profile_id

    # The same file again stores nothing; an order exported again with an
    # edited amount is still the one order.
    again = run(tmp_path, CSV.replace("42.50", "40.00"), django_capture_on_commit_callbacks)
    assert "read 8, stored 0, duplicates 3, invalid 5" in again


def test_a_file_without_the_needed_columns_is_one_problem(
    workspace, tmp_path, django_capture_on_commit_callbacks
):
    configure_plugin(workspace=workspace.workspace, plugin_id="csv_events", settings={})
    out = run(tmp_path, "name,city\nAda,London\nGrace,NYC\n", django_capture_on_commit_callbacks)
    assert "read 1, stored 0, duplicates 0, invalid 1" in out
    assert (
        "line 1: columns: the file lacks a user_id, anonymous_id or email column; "
        "an event (or order_id) column; a timestamp column"
    ) in out
