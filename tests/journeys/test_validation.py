"""A journey definition is refused whole, with errors naming the JSON path of what is wrong."""

import copy

import pytest

from engage.journeys.validation import InvalidDefinition, validate_definition
from engage.messaging.models import MessageTemplate
from engage.plugins.services import configure_plugin
from engage.segments import services as segment_services

pytestmark = pytest.mark.django_db

GOOD = {
    "trigger": {
        "event": "Signed Up",
        "where": [{"property": "plan", "op": "equals", "value": "pro"}],
    },
    "entry": {"reentry": "after", "after_days": 30, "daily_limit": 1000},
    "goal": {"event": "Order Completed", "within_hours": 72},
    "exit": {"when": {"trait": {"key": "unsubscribed", "op": "equals", "value": True}}},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"days": 1, "hours": 2}, "next": "done"},
        "done": {"type": "exit"},
    },
}


def errors(workspace, definition) -> list[str]:
    try:
        validate_definition(definition, workspace=workspace)
    except InvalidDefinition as exc:
        return exc.errors
    return []


def changed(**top) -> dict:
    definition = copy.deepcopy(GOOD)
    for key, value in top.items():
        if value is None:
            definition.pop(key)
        else:
            definition[key] = value
    return definition


def with_nodes(**nodes) -> dict:
    definition = copy.deepcopy(GOOD)
    for node_id, node in nodes.items():
        if node is None:
            definition["nodes"].pop(node_id)
        else:
            definition["nodes"][node_id] = node
    return definition


def test_a_whole_definition_passes(workspace):
    assert errors(workspace.workspace, GOOD) == []


BAD = [
    ("not-an-object", ["start", "pause"], "definition: must be an object"),
    ("no-trigger", changed(trigger=None), "definition.trigger: is required"),
    ("no-nodes", changed(nodes=None), "definition.nodes: is required"),
    ("empty-nodes", changed(nodes={}), "definition.nodes: must be a non-empty object"),
    ("unknown-key", changed(then="pause"), "definition.then: unknown field"),
    ("start-dangles", changed(start="welcome"), "definition.start: no node 'welcome' in nodes"),
    (
        "unknown-type",
        with_nodes(pause={"type": "teleport", "next": "done"}),
        "definition.nodes.pause.type: unknown node type 'teleport'",
    ),
    (
        "dangling-edge",
        with_nodes(pause={"type": "wait", "duration": {"hours": 1}, "next": "nowhere"}),
        "definition.nodes.pause.next: no node 'nowhere' in nodes",
    ),
    (
        "outcome-of-another-type",
        with_nodes(pause={"type": "wait", "duration": {"hours": 1}, "next": {"yes": "done"}}),
        "definition.nodes.pause.next.yes: not an outcome of wait (next)",
    ),
    (
        "wait-of-zero",
        with_nodes(pause={"type": "wait", "duration": {"hours": 0}, "next": "done"}),
        "definition.nodes.pause.duration: must be longer than zero",
    ),
    (
        "negative-wait",
        with_nodes(pause={"type": "wait", "duration": {"days": -1}, "next": "done"}),
        "definition.nodes.pause.duration.days: must be a non-negative integer",
    ),
    (
        "unknown-node-field",
        with_nodes(done={"type": "exit", "colour": "red"}),
        "definition.nodes.done.colour: unknown field",
    ),
    (
        "bad-node-id",
        with_nodes(**{"bad id": {"type": "exit"}}),
        "definition.nodes.bad id: a node id has 1 to 64 letters",
    ),
    (
        "trigger-of-nothing",
        changed(trigger={"when": "now"}),
        "definition.trigger: must have one of event, segment or manual",
    ),
    (
        "trigger-filter-op",
        changed(trigger={"event": "Signed Up", "where": [{"property": "plan", "op": "like"}]}),
        "definition.trigger.where[0].op: unknown operator 'like'",
    ),
    (
        "trigger-event-empty",
        changed(trigger={"event": ""}),
        "definition.trigger.event: must be a non-empty string",
    ),
    ("manual-false", changed(trigger={"manual": False}), "definition.trigger.manual: must be true"),
    (
        "segment-unknown",
        changed(trigger={"segment": 999999}),
        "definition.trigger.segment: no segment 999999 in this workspace",
    ),
    (
        "reentry-unknown",
        changed(entry={"reentry": "sometimes"}),
        "definition.entry.reentry: must be one of never, always, after",
    ),
    (
        "reentry-after-without-days",
        changed(entry={"reentry": "after"}),
        "definition.entry.after_days: is required when reentry is 'after'",
    ),
    (
        "daily-limit-zero",
        changed(entry={"daily_limit": 0}),
        "definition.entry.daily_limit: must be an integer from 1 to",
    ),
    ("goal-without-event", changed(goal={"within_hours": 5}), "definition.goal.event: is required"),
    (
        "goal-window-zero",
        changed(goal={"event": "Order Completed", "within_hours": 0}),
        "definition.goal.within_hours: must be an integer from 1 to",
    ),
    (
        "leaves-segment-without-segment-trigger",
        changed(exit={"leaves_segment": True}),
        "definition.exit.leaves_segment: needs a segment trigger",
    ),
    (
        "leaves-segment-entered-on-leaving",
        changed(trigger={"segment": 999999, "on": "leave"}, exit={"leaves_segment": True}),
        "definition.exit.leaves_segment: customers enter on leaving the segment",
    ),
    (
        "exit-condition-malformed",
        changed(exit={"when": {"trait": {"key": "vip", "op": "nearly"}}}),
        "definition.exit.when.trait.op: unknown operator 'nearly'",
    ),
]


@pytest.mark.parametrize(("definition", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_definition_is_refused_naming_the_path(workspace, definition, expected):
    found = errors(workspace.workspace, definition)
    assert any(error.startswith(expected) for error in found), found


def test_every_error_is_reported_at_once(workspace):
    definition = changed(start="nowhere", entry={"reentry": "sometimes"})
    definition["nodes"]["pause"]["duration"] = {}
    found = errors(workspace.workspace, definition)
    assert [e.split(":")[0] for e in found] == [
        "definition.entry.reentry",
        "definition.nodes.pause.duration",
        "definition.start",
    ]


def test_a_segment_trigger_names_a_segment_of_this_workspace(workspace, other_workspace):
    theirs = segment_services.save_segment(
        workspace=other_workspace.workspace, name="VIP", rules={"event": {"name": "Paid"}}
    )
    ours = segment_services.save_segment(
        workspace=workspace.workspace, name="VIP", rules={"event": {"name": "Paid"}}
    )
    on_enter = changed(trigger={"segment": ours.pk}, exit={"leaves_segment": True})
    assert errors(workspace.workspace, on_enter) == []
    assert errors(workspace.workspace, changed(trigger={"segment": theirs.pk})) == [
        f"definition.trigger.segment: no segment {theirs.pk} in this workspace"
    ]


@pytest.fixture
def welcome(workspace):
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={"from_email": "news@shop.example", "smtp_host": "smtp.shop.example"},
    )
    return MessageTemplate.objects.create(
        workspace=workspace.workspace, name="welcome", channel="email", body="Hi"
    )


def sends(**fields) -> dict:
    node = {"type": "send", "channel": "email", "template": "welcome", "category": "marketing"}
    return with_nodes(pause={**node, **fields, "next": "done"})


def test_a_send_names_an_installed_channel_and_a_template_for_it(workspace, welcome):
    ws = workspace.workspace
    assert errors(ws, sends()) == []
    assert errors(ws, sends(template="goodbye")) == [
        "definition.nodes.pause.template: no template named 'goodbye' in this workspace"
    ]
    assert errors(ws, sends(channel="sms")) == [
        "definition.nodes.pause.channel: not enabled in this workspace (enable the plugin)",
        "definition.nodes.pause.template: template 'welcome' is for email, not sms",
    ]
    [not_installed] = errors(ws, sends(channel="pigeon"))
    assert not_installed.startswith("definition.nodes.pause.channel: channel not installed")


def test_a_loop_needs_a_wait_in_it(workspace):
    vip = {"trait": {"key": "vip", "op": "equals", "value": True}}
    spinning = with_nodes(
        pause={"type": "branch", "condition": vip, "next": {"yes": "mark", "no": "done"}},
        mark={"type": "update_traits", "traits": {"seen": True}, "next": "pause"},
    )
    assert errors(workspace.workspace, spinning) == [
        "definition.nodes.mark.next: closes a loop without a wait (pause → mark → pause); "
        "put a wait, wait_until, wait_for or ladder node in it"
    ]
    waiting = with_nodes(
        pause={"type": "branch", "condition": vip, "next": {"yes": "mark", "no": "done"}},
        mark={"type": "update_traits", "traits": {"seen": True}, "next": "rest"},
        rest={"type": "wait", "duration": {"days": 1}, "next": "pause"},
    )
    assert errors(workspace.workspace, waiting) == []


def test_a_split_adds_up_to_a_hundred_and_leaves_by_its_variants(workspace):
    split = {"type": "split", "variants": {"a": 50, "b": 40}, "next": {"a": "done", "b": "done"}}
    assert errors(workspace.workspace, with_nodes(pause=split)) == [
        "definition.nodes.pause.variants: the percentages must add up to 100, not 90"
    ]
    split = {"type": "split", "variants": {"a": 50, "b": 50}, "next": {"a": "done", "c": "done"}}
    assert errors(workspace.workspace, with_nodes(pause=split)) == [
        "definition.nodes.pause.next.c: not an outcome of split (a, b)"
    ]
