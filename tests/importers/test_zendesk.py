"""Zendesk tickets through the time-based incremental export: who asked,
when each case opened and was solved, and the next run from ``end_time``."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from engage.events.importing import run_import
from engage.events.models import Event
from engage.imports.models import ImportCursor, ImportRun
from engage.imports.runs import perform_import
from engage.imports.services import create_run
from engage.messaging.models import MarketingPause
from engage.messaging.pauses import in_force
from engage.plugins.provider_http import SourceError
from engage.plugins.services import configure_plugin
from engage.profiles.models import Identity
from tests.channels.providers import Reply

from .providers import ZENDESK_EMAIL, ZENDESK_TOKEN

pytestmark = pytest.mark.django_db


def ticket(ticket_id, requester_id, status, generated, **fields):
    """A ticket shaped like Zendesk's documented example (ticket 35436)."""
    return {
        "id": ticket_id,
        "url": f"https://company.zendesk.com/api/v2/tickets/{ticket_id}.json",
        "external_id": "ahg35h3jh",
        "type": "incident",
        "subject": "Help, my printer is on fire!",
        "raw_subject": "{{dc.printer_on_fire}}",
        "description": "The fire is very colorful.",
        "priority": "high",
        "status": status,
        "recipient": "support@company.com",
        "requester_id": requester_id,
        "submitter_id": 76872,
        "assignee_id": 235323,
        "organization_id": 509974,
        "group_id": 98738,
        "tags": ["enterprise", "other_tag"],
        "via": {"channel": "web"},
        "created_at": "2009-07-20T22:55:29Z",
        "updated_at": "2011-05-05T10:38:52Z",
        "generated_timestamp": generated,
        **fields,
    }


def seed(zendesk):
    zendesk.users = {
        20978392: {
            "id": 20978392,
            "name": "Johnny Customer",
            "email": "johnny@example.org",
            "phone": None,
            "updated_at": "2011-05-05T10:38:52Z",
        },
        20978393: {
            "id": 20978393,
            "name": "Ada Customer",
            "email": "ada@example.org",
            "updated_at": "2011-05-06T08:00:00Z",
        },
    }
    zendesk.tickets = [
        ticket(35436, 20978392, "open", 1390362485),
        ticket(35437, 20978393, "solved", 1390362490, updated_at="2011-05-06T09:00:00Z"),
        ticket(35438, 20978393, "new", 1390362495, via={"channel": "email"}),
    ]
    zendesk.metric_sets = {
        35437: {"ticket_id": 35437, "reopens": 0, "solved_at": "2011-05-06T08:59:00Z"}
    }


def timeline(ws, ticket_id):
    return list(
        Event.objects.filter(workspace=ws, properties__ticket_id=str(ticket_id))
        .order_by("timestamp")
        .values_list("name", flat=True)
    )


def test_tickets_open_and_solve_cases_on_the_requesters_timeline(
    zendesk, workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    seed(zendesk)
    with django_capture_on_commit_callbacks(execute=True):
        report = run_import(workspace=ws, plugin_id="zendesk")
    assert report.invalid == 0

    first, second = zendesk.requests
    token = base64.b64encode(f"{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}".encode()).decode()
    assert first.headers["authorization"] == f"Basic {token}"
    assert first.path == "/api/v2/incremental/tickets.json"
    assert first.query == {"start_time": "0", "include": "users,metric_sets"}
    assert second.query["start_time"] == "1390362490"  # the first page's end_time

    johnny = Identity.objects.get(workspace=ws, kind="zendesk", value="20978392").profile
    assert ("email", "johnny@example.org") in set(johnny.identities.values_list("kind", "value"))
    opened = Event.objects.get(workspace=ws, name="Ticket Opened", properties__ticket_id="35436")
    assert opened.profile_id == johnny.pk
    assert opened.properties == {
        "ticket_id": "35436",
        "subject": "Help, my printer is on fire!",
        "status": "open",
        "channel": "web",
        "priority": "high",
        "type": "incident",
    }
    assert opened.timestamp.isoformat() == "2009-07-20T22:55:29+00:00"  # created_at
    assert timeline(ws, 35437) == ["Ticket Opened", "Ticket Solved"]
    solved = Event.objects.get(workspace=ws, name="Ticket Solved")
    assert solved.timestamp.isoformat() == "2011-05-06T08:59:00+00:00"  # solved_at
    assert ImportCursor.objects.get(workspace=ws, importer_id="zendesk").cursor == {
        "start_time": 1390362495
    }


def test_the_next_run_starts_at_end_time_and_a_reopened_case_opens_again(zendesk, workspace):
    ws = workspace.workspace
    seed(zendesk)
    run_import(workspace=ws, plugin_id="zendesk")
    zendesk.requests.clear()

    # Ticket 35437 is reopened, then solved again.
    zendesk.tickets[1] = ticket(
        35437, 20978393, "open", 1390363000, updated_at="2011-05-07T10:00:00Z"
    )
    zendesk.metric_sets[35437] = {"ticket_id": 35437, "reopens": 1, "solved_at": None}
    again = run_import(workspace=ws, plugin_id="zendesk")
    assert zendesk.requests[0].query["start_time"] == "1390362495"
    assert again.stored == 1
    assert timeline(ws, 35437) == ["Ticket Opened", "Ticket Solved", "Ticket Opened"]

    zendesk.tickets[1] = ticket(
        35437, 20978393, "closed", 1390364000, updated_at="2011-05-08T10:00:00Z"
    )
    zendesk.metric_sets[35437]["solved_at"] = "2011-05-08T09:00:00Z"
    run_import(workspace=ws, plugin_id="zendesk")
    assert timeline(ws, 35437) == [
        "Ticket Opened",
        "Ticket Solved",
        "Ticket Opened",
        "Ticket Solved",
    ]


def test_a_refused_token_names_zendesk_and_the_setting(zendesk, workspace):
    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="zendesk",
        settings={"url": zendesk.url, "email": ZENDESK_EMAIL, "api_token": "wrong"},
    )
    with pytest.raises(
        SourceError, match=r"Zendesk refused the credentials .*Couldn't authenticate you.*api_token"
    ):
        run_import(workspace=workspace.workspace, plugin_id="zendesk")


def test_a_run_that_fails_mid_export_keeps_its_pages_and_the_next_run_resumes(zendesk, workspace):
    ws = workspace.workspace
    seed(zendesk)
    original = zendesk.handle

    def second_page_fails(req):
        if req.query.get("start_time") != "0":
            raise Reply(500, {"error": "InternalServerError", "description": "Try again"})
        return original(req)

    zendesk.handle = second_page_fails
    run = perform_import(create_run(workspace=ws, importer_id="zendesk").pk)
    assert run.status == ImportRun.FAILED
    assert "Zendesk failed 5 times in a row" in run.failure
    assert "HTTP 500 InternalServerError: Try again" in run.failure
    assert run.stored == 5  # the first page: two identifies, three ticket events
    cursor = ImportCursor.objects.get(workspace=ws, importer_id="zendesk").cursor
    assert cursor == {"start_time": 1390362490}

    zendesk.handle = original
    zendesk.requests.clear()
    resumed = perform_import(create_run(workspace=ws, importer_id="zendesk").pk)
    assert resumed.status == ImportRun.SUCCEEDED
    assert zendesk.requests[0].query["start_time"] == "1390362490"
    # Ticket 35438 opened; 35437 and its requester (Ada, 35438's too) read again.
    assert (resumed.stored, resumed.duplicates) == (1, 4)
    assert Event.objects.filter(workspace=ws).count() == 6


def test_an_open_case_pauses_marketing_to_its_requester_until_it_is_solved(
    zendesk, workspace, django_capture_on_commit_callbacks
):
    ws = workspace.workspace
    seed(zendesk)
    opened_at = timezone.now() - timedelta(hours=1)
    recent = opened_at.isoformat().replace("+00:00", "Z")
    zendesk.tickets = [ticket(35440, 20978392, "open", 1390362485, created_at=recent)]
    with django_capture_on_commit_callbacks(execute=True):
        run_import(workspace=ws, plugin_id="zendesk")
    johnny = Identity.objects.get(workspace=ws, kind="zendesk", value="20978392").profile
    assert in_force([johnny.pk], timezone.now())[johnny.pk].reason == MarketingPause.SUPPORT_CASE

    zendesk.tickets = [ticket(35440, 20978392, "solved", 1390362500, created_at=recent)]
    solved = (opened_at + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    zendesk.metric_sets[35440] = {"ticket_id": 35440, "reopens": 0, "solved_at": solved}
    with django_capture_on_commit_callbacks(execute=True):
        run_import(workspace=ws, plugin_id="zendesk")
    assert johnny.pk not in in_force([johnny.pk], timezone.now())


def test_a_full_page_within_one_second_stops_instead_of_asking_forever(zendesk, workspace):
    seed(zendesk)
    zendesk.per_page = 1
    zendesk.tickets = [ticket(35436, 20978392, "open", 1390362485)] * 2
    with pytest.raises(SourceError, match="did not move past start_time=1390362485"):
        run_import(workspace=workspace.workspace, plugin_id="zendesk")
    assert len(zendesk.requests) == 2
