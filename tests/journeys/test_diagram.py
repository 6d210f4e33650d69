"""The journey's page draws its graph as an SVG, each node with its live counts."""

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest

from engage.journeys import diagram
from engage.journeys.models import Enrollment, NodeCount
from engage.journeys.selectors import NodeCounts, node_counts, walk_order
from tests.customer_factories import ProfileFactory

from .factories import live_journey

SVG = "{http://www.w3.org/2000/svg}"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
FLOW = {
    "trigger": {"manual": True},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"hours": 1}, "next": "vip"},
        "vip": {
            "type": "branch",
            "condition": {"trait": {"key": "plan", "op": "equals", "value": "pro"}},
            "next": {"yes": "offer", "no": "pause"},
        },
        "offer": {
            "type": "send",
            "channel": "email",
            "template": "offer",
            "category": "marketing",
            "next": "done",
        },
        "done": {"type": "exit"},
    },
}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - the SVG the test just drew


def boxes(svg: str) -> dict[str, str]:
    """{node id: the text of its box, lines joined by ' | '}, read as SVG."""
    root = parse(svg)
    return {
        group.get("data-node"): " | ".join(text.text or "" for text in group.iter(f"{SVG}text"))
        for group in root.iter(f"{SVG}g")
        if group.get("class") == "journey-node"
    }


def edge_labels(svg: str) -> set[str]:
    root = parse(svg)
    return {
        text.text
        for group in root.iter(f"{SVG}g")
        if group.get("class") == "journey-edge"
        for text in group.iter(f"{SVG}text")
    }


def counted(definition, **numbers) -> list[NodeCounts]:
    rows = []
    for node_id in walk_order(definition):
        entered, waiting, left = numbers.get(node_id, (0, 0, {}))
        rows.append(
            NodeCounts(node_id, definition["nodes"][node_id]["type"], entered, waiting, left)
        )
    return rows


def test_each_node_is_a_box_with_its_type_description_and_counts():
    rows = counted(FLOW, pause=(7, 2, {"next": 5}), vip=(5, 0, {"yes": 3, "no": 2}))

    svg = diagram.render(FLOW, rows)

    assert boxes(svg) == {
        "pause": "pause | wait | 1 hours | entered 7 · waiting now 2",
        "vip": 'vip | branch | plan is "pro" | entered 5 · waiting now 0',
        "offer": "offer | send | email: offer | entered 0 · waiting now 0",
        "done": "done | exit |  | entered 0 · waiting now 0",
    }
    assert edge_labels(svg) == {"next: 5", "yes: 3", "no: 2", "next: 0"}


def test_nodes_are_drawn_a_row_below_the_node_that_first_reaches_them():
    svg = diagram.render(FLOW, counted(FLOW))

    rows = {
        group.get("data-node"): float(next(group.iter(f"{SVG}rect")).get("y"))
        for group in parse(svg).iter(f"{SVG}g")
        if group.get("class") == "journey-node"
    }
    assert rows["pause"] < rows["vip"] < rows["offer"] < rows["done"]
    # The loop back from vip to pause goes around the side, not through a box.
    loop = [path for path in parse(svg).iter(f"{SVG}path") if "V" in path.get("d", "")]
    assert len(loop) == 1


def test_an_outcome_with_no_node_ends_the_walk_and_is_labelled_so():
    definition = {
        "trigger": {"manual": True},
        "start": "vip",
        "nodes": {
            "vip": {
                "type": "branch",
                "condition": {"trait": {"key": "plan", "op": "exists"}},
                "next": {"yes": "done"},
            },
            "done": {"type": "exit"},
        },
    }

    svg = diagram.render(definition, counted(definition, vip=(4, 0, {"yes": 1, "no": 3})))

    assert edge_labels(svg) == {"yes: 1", "no: 3 (end)"}


def test_text_from_the_definition_is_escaped_and_cut_to_fit():
    hostile = "</text><script>alert(1)</script>" + "x" * 60
    definition = {
        "trigger": {"manual": True},
        "start": "mark",
        "nodes": {"mark": {"type": "update_traits", "traits": {hostile: True}}},
    }

    svg = diagram.render(definition, counted(definition))

    assert "<script>" not in svg
    text = boxes(svg)["mark"]
    assert text.startswith("mark | update_traits | sets </text><script>alert(1)</scr")
    assert "…" in text
    title = next(parse(svg).iter(f"{SVG}title")).text
    assert hostile in title


@pytest.mark.django_db
def test_the_journey_page_shows_the_diagram_with_the_live_counts(admin_client, workspace):
    journey = live_journey(workspace.workspace, FLOW, name="Welcome")
    NodeCount.objects.create(version=journey.live_version, node_id="pause", edge="", count=4)
    NodeCount.objects.create(version=journey.live_version, node_id="pause", edge="next", count=3)
    Enrollment.objects.create(
        workspace=journey.workspace,
        journey=journey,
        version=journey.live_version,
        profile=ProfileFactory(workspace=workspace.workspace),
        node_id="vip",
        entered_at=T0,
    )

    page = admin_client.get(f"/admin/journeys/journey/{journey.pk}/change/").text

    svg = re.search(r"<svg[^>]*journey-diagram.*?</svg>", page, re.S).group(0)
    assert boxes(svg)["pause"].endswith("entered 4 · waiting now 0")
    assert boxes(svg)["vip"].endswith("entered 0 · waiting now 1")
    assert "next: 3" in edge_labels(svg)
    assert boxes(svg) == boxes(diagram.render(FLOW, node_counts(journey.live_version)))
