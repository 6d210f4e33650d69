"""The admin shows events whose stored row cannot be read, as quarantined, and never fails on them.

Rows are written straight into the table (see tests/events/test_poison_rows.py,
which also runs this file again on the embedded SQLite default).
"""

from django.urls import reverse

from engage.events.processing import process_pending
from tests.events.test_poison_rows import POISONS, insert_raw, nested
from tests.identity_helpers import pending_event, profile_of


def test_event_list_and_pages_render_with_poison_rows_and_show_the_quarantine(operator, workspace):
    ws = workspace.workspace
    pending_event(ws, user_id="ada")
    process_pending()
    ada = profile_of(ws, "user_id", "ada")
    waiting = {kind: insert_raw(ws, kind, **columns) for kind, columns in POISONS.items()}
    attached = insert_raw(ws, "deep-attached", properties=nested(950), profile=ada)

    changelist = reverse("admin:events_event_changelist")
    page = operator.get(changelist)
    assert page.status_code == 200
    for pk in [*waiting.values(), attached]:
        assert f"/admin/events/event/{pk}/change/" in page.content.decode()
    # Unreadable but not yet set aside: its page says why and shows no payload.
    page = operator.get(reverse("admin:events_event_change", args=[waiting["before year 1"]]))
    assert page.status_code == 200
    assert "timestamp: cannot be read" in page.content.decode()
    assert "Not shown: the event is quarantined" in page.content.decode()

    process_pending()
    quarantined = operator.get(changelist, {"processed": "quarantined"}).content.decode()
    for pk in waiting.values():
        assert f"/admin/events/event/{pk}/change/" in quarantined
    assert "properties: nested too deeply to load" in quarantined
    processed = operator.get(changelist, {"processed": "yes"}).content.decode()
    assert f"/admin/events/event/{waiting['after year 9999']}/change/" not in processed

    profile_page = operator.get(reverse("admin:profiles_profile_change", args=[ada.pk]))
    assert profile_page.status_code == 200
    timeline = operator.get(reverse("admin:profiles_profile_timeline", args=[ada.pk]))
    assert timeline.status_code == 200
    body = timeline.content.decode()
    assert f'data-event-id="{attached}"' in body
    assert "quarantined: properties: nested" in body
