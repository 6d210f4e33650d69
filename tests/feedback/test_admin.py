"""The feedback admin: answers read-only and filtered; surveys and settings
edited, with bad values refused on the field."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from engage.feedback import services
from engage.feedback.models import FeedbackSettings
from engage.messaging.models import MessageTemplate
from tests.journeys.factories import live_journey

from .helpers import links_in

pytestmark = pytest.mark.django_db

WAIT = {"trigger": {"manual": True}, "start": "done", "nodes": {"done": {"type": "exit"}}}


def test_answers_are_listed_read_only_and_filtered_by_kind_and_category(admin_client, customer):
    for kind, score, comment in (("nps", 2, "Rude driver"), ("nps", 10, "Lovely"), ("csat", 5, "")):
        services.record_answer(
            services.Answer(
                profile=customer,
                kind=kind,
                score=score,
                comment=comment,
                key=kind + str(score),
                source="api",
            )
        )
    url = reverse("admin:feedback_feedback_changelist")
    page = admin_client.get(url, {"kind": "nps", "category": "detractor"})
    assert page.status_code == 200
    assert b"Rude driver" in page.content and b"Lovely" not in page.content
    assert reverse("admin:feedback_feedback_add").encode() not in page.content


def settings_form(workspace, **changes):
    return {
        "workspace": workspace.pk,
        "detractor_max": 6,
        "csat_low_max": 2,
        "pause_days": 30,
        "notify_email": "",
        "notify_webhook_url": "",
        "notify_webhook_secret": "",
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        (
            {"notify_webhook_url": "http://127.0.0.1/hook", "notify_webhook_secret": "s"},
            b"refused: 127.0.0.1 is a loopback address",
        ),
        (
            {"notify_webhook_url": "https://hooks.example/feedback"},
            b"a signed webhook needs a secret",
        ),
        ({"detractor_max": 11}, b"an NPS score is at most 10"),
        ({"csat_low_max": 6}, b"a CSAT score is at most 5"),
        ({"pause_days": 400}, b"Ensure this value is less than or equal to 365"),
    ],
    ids=["private_webhook", "webhook_without_secret", "detractor_max", "csat_low_max", "pause"],
)
def test_bad_settings_are_refused_on_the_field(admin_client, workspace, changes, says):
    url = reverse("admin:feedback_feedbacksettings_add")
    page = admin_client.post(url, settings_form(workspace.workspace, **changes))
    assert page.status_code == 200 and says in page.content
    assert not FeedbackSettings.objects.exists()


def test_a_journey_of_another_workspace_is_refused(admin_client, workspace, other_workspace):
    theirs = live_journey(other_workspace.workspace, WAIT)
    page = admin_client.post(
        reverse("admin:feedback_feedbacksettings_add"),
        settings_form(workspace.workspace, recovery_journey=theirs.pk),
    )
    assert b"a journey of another workspace" in page.content
    assert not FeedbackSettings.objects.exists()


def test_the_webhook_secret_is_kept_when_left_empty(admin_client, workspace):
    stored = FeedbackSettings.objects.create(
        workspace=workspace.workspace,
        notify_webhook_url="https://hooks.example/feedback",
        notify_webhook_secret="s3cret",
    )
    url = reverse("admin:feedback_feedbacksettings_change", args=[stored.pk])
    page = admin_client.get(url)
    assert b"s3cret" not in page.content
    form = settings_form(workspace.workspace, notify_webhook_url=stored.notify_webhook_url)
    assert admin_client.post(url, form).status_code == 302
    stored.refresh_from_db()
    assert stored.notify_webhook_secret == "s3cret"


def test_a_survey_cannot_use_another_workspaces_template(admin_client, workspace, other_workspace):
    theirs = MessageTemplate.objects.create(
        workspace=other_workspace.workspace, name="theirs", channel="email", body="Hi"
    )
    page = admin_client.post(
        reverse("admin:feedback_survey_add"),
        {
            "workspace": workspace.workspace.pk,
            "name": "nps",
            "kind": "nps",
            "question": "Recommend us?",
            "templates": [theirs.pk],
            "fatigue_days": 30,
            "answer_days": 14,
        },
    )
    assert b"theirs is a template of another workspace" in page.content


def test_staff_are_offered_only_their_workspaces_templates_and_journeys(workspace, other_workspace):
    ws, theirs = workspace.workspace, other_workspace.workspace
    for owner, name in ((ws, "ours"), (theirs, "theirs")):
        MessageTemplate.objects.create(workspace=owner, name=f"{name}-nps", channel="email")
        live_journey(owner, WAIT, name=f"{name}-recovery")
    user = User.objects.create_user("ann", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="feedback", codename__startswith="add_")
    )
    ws.members.add(user)
    client = Client()
    client.force_login(user)

    for page in ("admin:feedback_survey_add", "admin:feedback_feedbacksettings_add"):
        content = client.get(reverse(page)).content
        assert b"ours-" in content and b"theirs-" not in content


def test_the_template_preview_shows_placeholder_survey_and_preference_links(
    admin_client, workspace, customer, nps_survey
):
    template = nps_survey.templates.get(channel="email")
    template.body += "Your choices: {{ preferences_url }}"
    template.save()
    url = reverse("admin:messaging_messagetemplate_preview", args=[template.pk])

    page = admin_client.get(url, {"profile": customer.pk}).content.decode()

    assert "10: https://preview.invalid/survey/nps/10" in page
    assert "Your choices: https://preview.invalid/preferences" in page
    assert not links_in(page)  # no signed link that would answer for the customer
    assert "/t/p/" not in page
