"""A customer opens their preference centre from a link in Chromium, unticks
a topic and saves: the form posts with its CSRF token, the page says so and
shows the new choice, and consent history has it."""

from urllib.parse import urlsplit

from engage.messaging import preferences
from engage.messaging.models import Consent, MessagingPolicy
from engage.plugins.services import configure_plugin
from tests.customer_factories import ProfileFactory

from .conftest import PAGE_TIMEOUT_MS


def test_a_customer_unticks_a_topic_and_saves(live_server, chromium, workspace):
    ws = workspace.workspace
    configure_plugin(workspace=ws, plugin_id="inapp", settings={})
    MessagingPolicy.objects.create(workspace=ws, preference_topics=["newsletter"])
    customer = ProfileFactory(workspace=ws)
    url = live_server.url + urlsplit(preferences.preferences_url(customer)).path

    def untick_and_save(browser):
        context = browser.new_context()
        try:
            page = context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            before = page.goto(url)
            boxes = page.locator("input[type=checkbox]")
            ticked_before = [boxes.nth(i).is_checked() for i in range(boxes.count())]
            page.get_by_label("newsletter by inapp").uncheck()
            page.get_by_role("button", name="Save my choices").click()
            status = page.get_by_role("status").inner_text()
            return {
                "status_code": before.status,
                "ticked_before": ticked_before,
                "saved": status,
                "marketing": page.get_by_label("marketing by inapp").is_checked(),
                "newsletter": page.get_by_label("newsletter by inapp").is_checked(),
            }
        finally:
            context.close()

    seen = chromium.run(untick_and_save)

    assert seen == {
        "status_code": 200,
        "ticked_before": [True, True],
        "saved": "Your choices are saved.",
        "marketing": True,
        "newsletter": False,
    }
    assert list(
        Consent.objects.filter(profile=customer).values_list("topic", "channel", "status", "source")
    ) == [("newsletter", "inapp", "opted_out", "preference_center")]
