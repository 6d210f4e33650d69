"""An operator opens a customer's admin page in Chromium and reads the ledger:
why each step happened, newest first, and only this customer's rows."""

from django.contrib.auth.models import Permission, User

from engage.messaging.models import Message, MessageDecision
from tests.customer_factories import ProfileFactory

# (action, reason, detail, channel, journey node), oldest first
ROWS = [
    ("enter", "event", "12", "", "start"),
    ("skip", "no_address", "no phone known", "sms", "nudge"),
    ("send", "queued", "", "email", "nudge"),
]


def operator_of(workspace) -> User:
    user = User.objects.create_user("ann", password="not-used", is_staff=True)
    user.user_permissions.set(
        [Permission.objects.get(content_type__app_label="profiles", codename="view_profile")]
    )
    workspace.members.add(user)
    return user


def read_ledger(page) -> dict:
    ledger = page.locator("#ledger")
    rows = ledger.locator("tbody tr")
    return {
        "visible": ledger.is_visible(),
        "heading": ledger.locator("h2").inner_text(),
        "rows": [
            [cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()]
            for i in range(rows.count())
        ],
    }


def test_the_customer_page_lists_the_ledger_newest_first(open_admin_page, workspace):
    customer = ProfileFactory(workspace=workspace.workspace)
    someone_else = ProfileFactory(workspace=workspace.workspace)
    for action, reason, detail, channel, node in ROWS:
        MessageDecision.objects.create(
            workspace=workspace.workspace,
            profile=customer,
            action=action,
            reason=reason,
            detail=detail,
            channel=channel,
            source=Message.JOURNEY,
            journey_id=7,
            journey_version=2,
            journey_node_id=node,
        )
    MessageDecision.objects.create(
        workspace=workspace.workspace, profile=someone_else, action="skip", reason="opted_out"
    )

    seen = open_admin_page(
        operator_of(workspace.workspace),
        f"/admin/profiles/profile/{customer.pk}/change/",
        read_ledger,
    )

    assert seen["visible"]
    assert seen["heading"].lower() == "messaging ledger (latest 3)"
    shown = [(row[1], row[2], row[3], row[4]) for row in seen["rows"]]
    assert shown == [
        ("sent", "queued", "email", "journey (journey 7 v2, node nudge)"),
        ("skipped", "no_address: no phone known", "sms", "journey (journey 7 v2, node nudge)"),
        ("entered a journey", "event: 12", "", "journey (journey 7 v2, node start)"),
    ]
