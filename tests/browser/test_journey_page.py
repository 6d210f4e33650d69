"""An operator opens a journey's admin page in Chromium and reads the diagram:
every node drawn with who entered it and who waits there, every edge with
how many left by it."""

import datetime as dt

from django.contrib.auth.models import Permission, User

from engage.journeys.models import Enrollment, NodeCount
from tests.customer_factories import ProfileFactory
from tests.journeys.factories import live_journey

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
FLOW = {
    "trigger": {"manual": True},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"hours": 1}, "next": "vip"},
        "vip": {
            "type": "branch",
            "condition": {"trait": {"key": "plan", "op": "equals", "value": "pro"}},
            "next": {"yes": "mark", "no": "done"},
        },
        "mark": {"type": "update_traits", "traits": {"vip": True}, "next": "done"},
        "done": {"type": "exit"},
    },
}
# node: (entered, {edge: left}); and who stands where now
COUNTS = {"pause": (9, {"next": 6}), "vip": (6, {"yes": 2, "no": 4}), "mark": (2, {"next": 2})}
STANDING = {"pause": 3}


def staff_of(workspace) -> User:
    user = User.objects.create_user("ann", password="not-used", is_staff=True)
    user.user_permissions.set(
        [Permission.objects.get(content_type__app_label="journeys", codename="view_journey")]
    )
    workspace.members.add(user)
    return user


def read_diagram(page) -> dict:
    diagram = page.locator("svg.journey-diagram")
    nodes = diagram.locator("g.journey-node")
    boxes = {}
    for i in range(nodes.count()):
        node = nodes.nth(i)
        boxes[node.get_attribute("data-node")] = {
            "visible": node.is_visible(),
            "text": node.locator("text").all_text_contents(),
            "box": node.locator("rect").bounding_box(),
        }
    edges = diagram.locator("g.journey-edge text").all_text_contents()
    return {"nodes": boxes, "edges": sorted(edges)}


def test_the_diagram_shows_each_node_with_its_counts(open_admin_page, workspace):
    journey = live_journey(workspace.workspace, FLOW, name="Cart")
    for node_id, (entered, left) in COUNTS.items():
        NodeCount.objects.create(version=journey.live_version, node_id=node_id, count=entered)
        for edge, count in left.items():
            NodeCount.objects.create(
                version=journey.live_version, node_id=node_id, edge=edge, count=count
            )
    for node_id, standing in STANDING.items():
        for _ in range(standing):
            Enrollment.objects.create(
                workspace=journey.workspace,
                journey=journey,
                version=journey.live_version,
                profile=ProfileFactory(workspace=workspace.workspace),
                node_id=node_id,
                waiting=True,
                entered_at=T0,
            )

    seen = open_admin_page(
        staff_of(workspace.workspace), f"/admin/journeys/journey/{journey.pk}/change/", read_diagram
    )

    assert set(seen["nodes"]) == set(FLOW["nodes"])
    for node_id, node in seen["nodes"].items():
        entered = COUNTS.get(node_id, (0, {}))[0]
        waiting = STANDING.get(node_id, 0)
        assert node["visible"], node_id
        assert node["text"][:2] == [node_id, FLOW["nodes"][node_id]["type"]]
        assert node["text"][-1] == f"entered {entered} · waiting now {waiting}"
    tops = [seen["nodes"][node_id]["box"]["y"] for node_id in ("pause", "vip", "mark", "done")]
    assert tops == sorted(tops) and len(set(tops)) == 4  # one row per step from the start
    assert seen["edges"] == ["next: 2", "next: 6", "no: 4", "yes: 2"]
