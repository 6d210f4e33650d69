"""The admin's key pages in Chromium, as an operator uses them: log in, find
a customer by any identifier and read their timeline and ledger, preview a
segment. (A journey's diagram: test_journey_page.py; the overview:
test_dashboard.py.)"""

import json
import re

from django.contrib.auth.models import Permission, User

from engage.messaging.models import MessageDecision
from engage.profiles.models import Identity
from engage.segments.services import save_segment
from tests.browser.conftest import PAGE_TIMEOUT_MS
from tests.customer_factories import EventFactory, IdentityFactory, ProfileFactory

PRO = {"trait": {"key": "plan", "op": "equals", "value": "pro"}}


def staff_of(workspace, *permissions: str, password: str | None = None) -> User:
    user = User.objects.create_user("ann", password=password, is_staff=True)
    user.user_permissions.set(
        [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in (name.split(".") for name in permissions)
        ]
    )
    workspace.members.add(user)
    return user


def test_an_operator_logs_in_and_lands_on_the_index(live_server, chromium, workspace):
    staff_of(workspace.workspace, "dashboards.view_overview", password="correct horse")

    def log_in(browser):
        context = browser.new_context()
        try:
            page = context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(live_server.url + "/admin/")
            page.fill("#id_username", "ann")
            page.fill("#id_password", "wrong")
            page.click("input[type=submit]")
            refused = page.locator(".errornote").inner_text()
            page.fill("#id_password", "correct horse")
            page.click("input[type=submit]")
            page.wait_for_url(live_server.url + "/admin/")
            return (
                refused,
                page.locator("#content h1").inner_text(),
                page.get_by_role("link", name="Overview").count(),
            )
        finally:
            context.close()

    refused, heading, overview_links = chromium.run(log_in)

    assert "Please enter the correct username and password" in refused
    assert heading == "Site administration"
    assert overview_links == 1


def test_a_customer_is_found_by_any_identifier_with_timeline_and_ledger(open_admin_page, workspace):
    ws = workspace.workspace
    ada = ProfileFactory(workspace=ws, traits={"name": "Ada"})
    for kind, value in [
        (Identity.EMAIL, "ada@example.com"),
        (Identity.PHONE, "+442079460018"),
        ("crm", "8812"),
    ]:
        IdentityFactory(profile=ada, kind=kind, value=value)
    ProfileFactory(workspace=ws, traits={"name": "Someone else"})
    for name in ("Signed Up", "Order Completed"):
        EventFactory(profile=ada, name=name)
    MessageDecision.objects.create(
        workspace=ws, profile=ada, channel="sms", action="skip", reason="no_consent"
    )
    operator = staff_of(ws, "profiles.view_profile", "events.view_event")

    def look_up(page) -> dict:
        found = {}
        for term in ("Ada@Example.COM", "+44 20 7946 0018", "crm:8812"):
            page.fill("#searchbar", term)
            page.press("#searchbar", "Enter")
            page.wait_for_load_state()
            found[term] = page.locator("#result_list tbody tr").all_inner_texts()
        page.locator("#result_list tbody tr a").first.click()
        page.wait_for_url(re.compile(r"/change/"))
        ledger = page.locator("#ledger tbody tr").all_inner_texts()
        page.get_by_role("link", name="Event timeline").click()
        page.wait_for_url(re.compile(r"/timeline/"))
        events = page.locator("#timeline tr.event td:nth-child(3)").all_inner_texts()
        return {"found": found, "ledger": ledger, "events": events}

    seen = open_admin_page(operator, "/admin/profiles/profile/", look_up)

    for term, rows in seen["found"].items():
        assert len(rows) == 1 and "Ada" in rows[0], term
    assert len(seen["ledger"]) == 1 and "no_consent" in seen["ledger"][0]
    assert seen["events"] == ["Order Completed", "Signed Up"]


def test_a_segment_page_previews_its_members(open_admin_page, workspace):
    ws = workspace.workspace
    pros = [ProfileFactory(workspace=ws, traits={"plan": "pro"}) for _ in range(2)]
    ProfileFactory(workspace=ws, traits={"plan": "free"})
    segment = save_segment(workspace=ws, name="Pro", rules=PRO)
    operator = staff_of(ws, "segments.view_segment", "segments.change_segment")

    def preview(page) -> dict:
        page.fill("[name=rules]", json.dumps({"trait": {"key": "plan", "op": "exists"}}))
        page.click("#segment-preview-button")
        summary = page.locator("#segment-preview p")
        summary.wait_for()
        return {
            "summary": summary.inner_text(),
            "members": sorted(page.locator("#segment-preview a").all_inner_texts()),
        }

    seen = open_admin_page(operator, f"/admin/segments/segment/{segment.pk}/change/", preview)

    assert seen["summary"] == "3 member(s) now: plan is set"
    assert len(seen["members"]) == 3
    assert {f"profile {p.pk}" for p in pros} <= set(seen["members"])
