"""A customer clicks a score in a survey email, in Chromium: the page posts
the score by itself (one click answers), the follow-up page takes a comment,
and the answer and its comment are stored once."""

from engage.feedback.models import Feedback
from engage.messaging import services
from engage.messaging.models import MessageTemplate
from tests.feedback.helpers import links_in, make_customer, make_nps_survey

from .conftest import PAGE_TIMEOUT_MS


def test_one_click_on_a_score_then_a_comment(live_server, chromium, workspace):
    make_nps_survey(workspace.workspace)
    customer = make_customer(workspace.workspace)
    message = services.create_message(
        workspace=workspace.workspace,
        profile=customer,
        channel="email",
        category="service",
        template=MessageTemplate.objects.get(workspace=workspace.workspace, name="nps-email"),
        send_now=False,
    ).message
    url = live_server.url + links_in(message.body)[9]

    def click_and_comment(browser):
        context = browser.new_context()
        try:
            page = context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(url)
            page.wait_for_url("**/comment/")
            asked = page.get_by_label("What is the main reason for your score?")
            asked.fill("Fast delivery")
            page.get_by_role("button", name="Send").click()
            return page.get_by_role("heading").first.inner_text()
        finally:
            context.close()

    assert chromium.run(click_and_comment) == "Thank you for your feedback."
    feedback = Feedback.objects.get()
    assert (feedback.score, feedback.comment, feedback.message_id) == (
        9,
        "Fast delivery",
        message.pk,
    )
