"""An operator opens a customer's admin page in Chromium, reads their loyalty
tier and points, and follows the link to the points history."""

from django.contrib.auth.models import Permission, User

from tests.customer_factories import ProfileFactory
from tests.loyalty.helpers import make_programme, record


def operator_of(workspace) -> User:
    user = User.objects.create_user("ann", password="not-used", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_profile", "view_loyaltyaccount"])
    )
    workspace.members.add(user)
    return user


def read_loyalty_then_history(page) -> dict:
    block = page.locator("#loyalty_accounts-group")
    cells = block.locator("tbody tr.has_original td, tbody tr.form-row td")
    seen = {
        "heading": block.locator("h2").first.inner_text(),
        "cells": [text.strip() for text in cells.all_inner_texts()],
    }
    block.get_by_role("link", name="points history").click()
    page.wait_for_load_state()
    rows = page.locator(".field-movements tbody tr")
    seen["history"] = [
        [cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()][1:3]
        for i in range(rows.count())
    ]
    return seen


def test_the_customer_page_shows_loyalty_and_links_to_the_history(open_admin_page, workspace):
    make_programme(workspace.workspace, tiers=[{"name": "gold", "rank": 1, "threshold": 100}])
    customer = ProfileFactory(workspace=workspace.workspace)
    record(customer, message_id="o-1", revenue=80)
    record(customer, message_id="o-2", revenue=45)

    seen = open_admin_page(
        operator_of(workspace.workspace),
        f"/admin/profiles/profile/{customer.pk}/change/",
        read_loyalty_then_history,
    )

    assert seen["heading"].lower() == "loyalty"
    assert "gold" in seen["cells"] and "125" in seen["cells"]
    assert seen["history"] == [["earned", "+45"], ["earned", "+80"]]
