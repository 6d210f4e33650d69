"""A paged source's checkpoints: what came before is stored, the cursor
saved, and the next run starts from it."""

import pytest

from engage.events.importing import run_import
from engage.events.models import Event
from engage.imports.models import ImportCursor
from engage.plugins import hookimpl
from engage.plugins.base import Checkpoint, Importer
from engage.plugins.services import configure_plugin

pytestmark = pytest.mark.django_db

PAGES = {None: (["o-1", "o-2"], "p2"), "p2": (["o-3"], "p3"), "p3": (["o-4"], None)}


class PagedOrders(Importer):
    """Three pages of orders; ``fail_on`` makes the source fail on reading a page."""

    id = "test_paged"
    name = "Test paged orders"
    fail_on: str | None = None
    pages_read: list = []

    def read(self, *, workspace):
        page = (self.cursor or {}).get("next")
        while True:
            if self.fail_on and page == self.fail_on:
                raise OSError("the source answered 500")
            self.pages_read.append(page)
            ids, page = PAGES[page]
            for order_id in ids:
                yield {"type": "track", "userId": "c-1", "event": "Order", "messageId": order_id}
            if page is None:
                return
            yield Checkpoint({"next": page})


class PagedPlugin:
    @hookimpl
    def engage_importers(self):
        return [PagedOrders]


@pytest.fixture
def paged(register_plugin, workspace):
    register_plugin(PagedPlugin(), "test-paged")
    configure_plugin(workspace=workspace.workspace, plugin_id="test_paged", settings={})
    PagedOrders.pages_read = []
    yield PagedOrders
    PagedOrders.fail_on = None


def stored_ids(ws):
    return sorted(Event.objects.filter(workspace=ws).values_list("message_id", flat=True))


def test_a_failed_run_resumes_from_its_last_checkpoint(paged, workspace, other_workspace):
    ws = workspace.workspace
    paged.fail_on = "p3"
    with pytest.raises(OSError):
        run_import(workspace=ws, plugin_id="test_paged", batch_size=100)
    # Everything before the last checkpoint is stored, though no batch was full.
    assert stored_ids(ws) == ["o-1", "o-2", "o-3"]
    assert ImportCursor.objects.get(workspace=ws, importer_id="test_paged").cursor == {"next": "p3"}

    paged.fail_on = None
    paged.pages_read = []
    report = run_import(workspace=ws, plugin_id="test_paged")
    assert paged.pages_read == ["p3"]  # only what came after
    assert (report.read, report.stored, report.duplicates) == (1, 1, 0)
    assert stored_ids(ws) == ["o-1", "o-2", "o-3", "o-4"]

    # Another workspace's cursor is its own: it starts from the first page.
    configure_plugin(workspace=other_workspace.workspace, plugin_id="test_paged", settings={})
    paged.pages_read = []
    run_import(workspace=other_workspace.workspace, plugin_id="test_paged")
    assert paged.pages_read == [None, "p2", "p3"]
