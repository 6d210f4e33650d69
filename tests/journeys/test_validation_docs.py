"""Every example of docs/journeys.md validates, so the page cannot drift from the code.

Whole definitions are validated as written; a lone node is validated inside
the smallest journey that holds it (an exit at each of its edges). The
workspace has what the examples name: their channels enabled, a template
for each template and channel, and the segments they trigger on.
"""

import json
import re
from pathlib import Path

import pytest

from engage.journeys import graph
from engage.journeys.validation import InvalidDefinition, validate_definition
from engage.messaging.models import MessageTemplate
from engage.plugins.models import PluginConfig
from engage.segments.models import Segment

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "journeys.md"
PUSH_KINDS = ("push", "webpush")


def examples() -> list[tuple[str, dict]]:
    """(the heading above it, the example) for each JSON block of the page."""
    found, heading = [], ""
    for part in re.split(r"^```json\n(.*?)^```", DOC.read_text(), flags=re.S | re.M):
        if part.lstrip().startswith(("{", "[")):
            found.append((heading, json.loads(part)))
        else:
            headings = re.findall(r"^#+ (.+)$", part, flags=re.M)
            heading = headings[-1] if headings else heading
    return found


EXAMPLES = examples()


def as_definition(example: dict) -> dict:
    if "nodes" in example:
        return example
    nodes = {"example": example}
    nodes.update({target: {"type": "exit"} for target in graph.edges(example).values()})
    start = "example"
    if "response_to" in example:
        start = example["response_to"]
        nodes[start] = {
            "type": "send",
            "channel": "email",
            "template": "welcome",
            "category": "marketing",
            "next": "example",
        }
    return {"trigger": {"manual": True}, "start": start, "nodes": nodes}


def templates_named(definition: dict) -> set[tuple[str, str]]:
    """(template, channel) of each send node and ladder rung."""
    named = {("welcome", "email")}
    for node in definition["nodes"].values():
        if node["type"] == "send":
            named.add((node["template"], node["channel"]))
        for rung in node.get("rungs", []):
            template = rung["template"]
            if isinstance(template, dict):
                named.update((name, kind) for kind, name in template.items())
            else:
                named.add((template, "push" if rung["channel"] == "push" else rung["channel"]))
    return named


def test_the_page_has_every_node_type_and_the_seed_flows():
    types = {e["type"] for _, e in EXAMPLES if "type" in e}
    flows = {heading for heading, e in EXAMPLES if "nodes" in e}
    assert types >= {"send", "wait", "wait_until", "branch", "split", "update_traits"}
    assert types >= {"wait_for", "webhook", "ladder", "exit"}
    assert {"Welcome series", "Cart abandonment", "Post-purchase", "Win-back"} <= flows


@pytest.mark.parametrize(
    "example",
    [example for _, example in EXAMPLES],
    ids=[
        f"{i}-{re.sub(r'[^a-z0-9]+', '-', heading.lower())}"
        for i, (heading, _) in enumerate(EXAMPLES)
    ],
)
def test_each_example_validates(workspace, example):
    ws = workspace.workspace
    definition = as_definition(example)
    named = templates_named(definition)
    for channel in {channel for _, channel in named} | {"webhook"}:
        PluginConfig.objects.create(workspace=ws, plugin_id=channel, enabled=True, settings={})
    MessageTemplate.objects.bulk_create(
        MessageTemplate(workspace=ws, name=name, channel=channel, body="Hi")
        for name, channel in named
    )
    segment = definition["trigger"].get("segment")
    if segment is not None:
        Segment.objects.create(
            pk=segment, workspace=ws, name="Dormant 60-120 days", rules={"event": {"name": "X"}}
        )
    try:
        validate_definition(definition, workspace=ws)
    except InvalidDefinition as exc:
        pytest.fail("\n".join(exc.errors))
