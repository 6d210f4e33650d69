"""Templates read the customer's current scores without the caller passing them."""

import pytest
from django.utils import timezone

from engage.messaging.models import Message, MessageTemplate
from engage.scoring.models import Score

pytestmark = pytest.mark.django_db


def send_template(client, workspace, customer, template):
    return client.post(
        "/api/messages/send",
        {
            "profile_id": customer.pk,
            "channel": "email",
            "category": "marketing",
            "template": template,
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {workspace.secret_key}",
    )


def test_an_email_renders_the_customers_scores_value_and_cell(
    client, workspace, email_channel, customer, smtp_server, django_capture_on_commit_callbacks
):
    for model, value, cell in [("rfm", 5.0, "champions"), ("ces", 2.5, "")]:
        Score.objects.create(
            workspace=workspace.workspace,
            profile=customer,
            model=model,
            value=value,
            cell=cell,
            computed_at=timezone.now(),
        )
    MessageTemplate.objects.create(
        workspace=workspace.workspace,
        name="vip",
        channel="email",
        subject="{% if scores.rfm.cell == 'champions' %}For our champions{% endif %}",
        body="RFM {{ scores.rfm.value }} ({{ scores.rfm.cell }}), effort {{ scores.ces.value }}",
        html="<p>{{ scores.rfm.cell | upcase }}</p>",
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = send_template(client, workspace, customer, "vip")

    assert response.status_code == 202, response.json()
    assert Message.objects.get(pk=response.json()["id"]).status == Message.SENT
    mail = smtp_server.messages[0]["mail"]
    assert mail["Subject"] == "For our champions"
    text = mail.get_body(("plain",)).get_content()
    assert text.splitlines()[0] == "RFM 5.0 (champions), effort 2.5"  # then the preferences footer
    assert "<p>CHAMPIONS</p>" in mail.get_body(("html",)).get_content()


def test_a_customer_without_scores_gets_the_default(client, workspace, customer):
    MessageTemplate.objects.create(
        workspace=workspace.workspace,
        name="plain",
        channel="email",
        body="You are {{ scores.rfm.cell | default: 'new here' }}",
    )

    response = send_template(client, workspace, customer, "plain")

    assert response.status_code == 202, response.json()
    assert Message.objects.get(pk=response.json()["id"]).body == "You are new here"
