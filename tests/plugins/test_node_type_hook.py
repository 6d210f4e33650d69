"""``engage_node_types``: a plugin adds a journey node type (the example
package examples/engage-crm-task, installed like any plugin), which a journey
validates and runs like a built-in one; a plugin type that takes a built-in's
name is refused."""

import json
import types
from importlib.metadata import entry_points
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from engage.journeys import engine
from engage.journeys.models import Enrollment, Journey
from engage.journeys.nodes import NODE_TYPES
from engage.plugins import hookimpl
from tests.channels.providers import Receiver
from tests.customer_factories import ProfileFactory
from tests.journeys.factories import live_journey
from tests.journeys.walking import T0, enroll, ledger
from tests.live_processes import run_embedded

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm(settings):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def api(client, workspace):
    def call(method, path, body=None):
        return getattr(client, method)(
            path,
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}",
        )

    return call


def task_flow(task: dict) -> dict:
    return {
        "trigger": {"manual": True},
        "start": "task",
        "nodes": {"task": {"type": "crm_task", **task, "next": "done"}, "done": {"type": "exit"}},
    }


def test_the_example_comes_in_through_the_entry_point_group():
    [entry] = [e for e in entry_points(group="engage.plugins") if e.name == "crm_task"]
    assert entry.dist.name == "engage-crm-task"
    assert NODE_TYPES["crm_task"].__name__ == "engage_crm_task"


def test_a_plugin_node_is_validated_naming_its_fields(api):
    bad = task_flow({"url": "ftp://crm.example.com/tasks", "title": "", "owner": "sam"})

    response = api("post", "/api/journeys", {"name": "Trial calls", "definition": bad})

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "definition.nodes.task.owner": ["unknown field"],
        "definition.nodes.task.url": ["must be an http:// or https:// URL with a host"],
        "definition.nodes.task.title": ["must be a non-empty string of at most 200 characters"],
    }
    assert not Journey.objects.exists()


def test_a_plugin_node_with_good_fields_is_saved(api):
    good = task_flow({"url": "https://crm.example.com/tasks", "title": "Call about the trial"})

    response = api("post", "/api/journeys", {"name": "Trial calls", "definition": good})

    assert response.status_code == 201, response.json()


def test_a_plugin_node_runs_in_a_journey(workspace, crm):
    ws = workspace.workspace
    ada = ProfileFactory(workspace=ws, traits={"first_name": "Ada"})
    bo = ProfileFactory(workspace=ws, traits={"first_name": "Bo"})
    journey = live_journey(
        ws,
        task_flow({"url": crm.url + "/tasks", "title": "Call", "assignee": "sam@shop.example"}),
    )
    first, second = enroll(journey, [ada, bo])

    engine.advance(now=T0)

    [request] = crm.requests  # the whole batch in one call
    assert (request.method, request.path) == ("POST", "/tasks")
    tasks = json.loads(request.body)["tasks"]
    assert sorted((t["customer"]["traits"]["first_name"], t["assignee"]) for t in tasks) == [
        ("Ada", "sam@shop.example"),
        ("Bo", "sam@shop.example"),
    ]
    assert {t["external_id"] for t in tasks} == {
        f"journey:{journey.pk}:1:task:{e.pk}:0" for e in (first, second)
    }
    for enrollment in (first, second):
        enrollment.refresh_from_db()
        assert enrollment.end_reason == Enrollment.COMPLETED
        assert ledger(enrollment) == [("call", "ok", "task"), ("exit", "completed", "done")]


class TakesWait:
    @hookimpl
    def engage_node_types(self):
        return [types.SimpleNamespace(TYPE="wait", outcomes=tuple, validate=print, run=print)]


class NotANodeType:
    @hookimpl
    def engage_node_types(self):
        return [types.SimpleNamespace(TYPE="ticket")]


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (TakesWait(), "node type 'wait' is provided by both 'engage (built-in)' and 'test-nodes'"),
        (NotANodeType(), "plugin 'test-nodes': engage_node_types returned namespace("),
    ],
    ids=["built-in-name", "no-run"],
)
def test_manage_py_check_refuses_a_bad_plugin_node_type(register_plugin, plugin, message):
    register_plugin(plugin, "test-nodes")

    with pytest.raises(SystemCheckError) as failed:
        call_command("check", stdout=StringIO())

    assert f"engage.plugins.E001) {message}" in str(failed.value)


def test_an_installed_plugin_taking_a_built_in_type_stops_the_wsgi_app(tmp_path):
    """Installed through its entry point like any plugin, not registered by a
    test: the server refuses to start rather than run journeys on the wrong node."""
    dist = tmp_path / "engage_waits-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: engage-waits\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[engage.plugins]\nwaits = engage_waits\n")
    (tmp_path / "engage_waits.py").write_text(
        "from engage.plugins import hookimpl\n"
        "TYPE = 'wait'\n"
        "def outcomes(node): return ('next',)\n"
        "def validate(checker, node, path): pass\n"
        "def run(batch): pass\n"
        "@hookimpl\n"
        "def engage_node_types():\n"
        "    import engage_waits\n"
        "    return [engage_waits]\n"
    )

    result = run_embedded(
        ["-c", "from config.wsgi import application"],
        tmp_path / "db.sqlite3",
        PYTHONPATH=str(tmp_path),
    )

    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: node type 'wait' is provided by both 'engage (built-in)' and 'waits'"
    ) in result.stderr
