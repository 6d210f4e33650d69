import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from engage.messaging.models import Message, MessageTemplate, MessagingPolicy
from engage.profiles.models import Profile

from .helpers import queue_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    # No password: hashing one costs a second, and force_login needs none.
    client.force_login(
        get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    )
    return client


@pytest.fixture
def template(workspace):
    return MessageTemplate.objects.create(
        workspace=workspace.workspace,
        name="welcome",
        channel="email",
        subject="Welcome {{ traits.first_name }}",
        body="Hi {{ traits.first_name }} from {{ traits.city | default: 'somewhere' }}",
        html="<p>{{ traits.first_name }}</p>",
        variants={"fr": {"subject": "Bienvenue {{ traits.first_name }}"}},
    )


def preview_url(template):
    return f"/admin/messaging/messagetemplate/{template.pk}/preview/"


def test_preview_renders_the_template_for_a_chosen_customer(superuser_client, template, customer):
    customer.traits["first_name"] = "<Ada>"
    customer.locale = "fr"
    customer.save()

    response = superuser_client.get(preview_url(template), {"profile": customer.pk})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Bienvenue &lt;Ada&gt;" in html
    assert "Hi &lt;Ada&gt; from somewhere" in html
    assert "<Ada>" not in html


def test_preview_refuses_a_customer_of_another_workspace(
    superuser_client, template, other_workspace
):
    stranger = Profile.objects.create(workspace=other_workspace.workspace)
    response = superuser_client.get(preview_url(template), {"profile": stranger.pk})
    assert response.status_code == 404
    assert superuser_client.get(preview_url(template), {"profile": "x"}).status_code == 400


def test_staff_of_another_workspace_see_neither_templates_nor_messages(
    client, workspace, other_workspace, template, customer, email_channel
):
    queue_email(workspace.workspace, customer)
    staff = get_user_model().objects.create(username="eve", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="messaging"))
    other_workspace.workspace.members.add(staff)
    client.force_login(staff)

    assert client.get(preview_url(template), {"profile": customer.pk}).status_code == 404
    listing = client.get("/admin/messaging/message/")
    assert listing.status_code == 200
    assert Message.objects.count() == 1
    assert "ada@example.com" not in listing.content.decode()


def test_a_template_with_broken_liquid_is_refused_naming_the_field(superuser_client, workspace):
    response = superuser_client.post(
        "/admin/messaging/messagetemplate/add/",
        {
            "workspace": workspace.workspace.pk,
            "name": "broken",
            "channel": "email",
            "subject": "ok",
            "body": "{% for %}",
            "html": "",
            "variants": '{"fr": {"subject": "{{ x | }}"}}',
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "body: " in html and "variants.fr.subject: " in html
    assert not MessageTemplate.objects.filter(name="broken").exists()


def test_policy_caps_and_timezone_are_validated(superuser_client, workspace):
    response = superuser_client.post(
        "/admin/messaging/messagingpolicy/add/",
        {
            "workspace": workspace.workspace.pk,
            "channel_caps": '{"email": {"month": 3}}',
            "default_timezone": "Mars/Olympus",
            "quiet_start": "21:00",
        },
    )
    html = response.content.decode()
    assert "channel_caps.email.month: window must be day or week" in html
    assert "&#x27;Mars/Olympus&#x27; is not an IANA timezone" in html
    assert "quiet hours need both a start and an end" in html
    assert not MessagingPolicy.objects.exists()
