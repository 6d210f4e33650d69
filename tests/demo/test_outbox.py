"""The email channel's outbox delivery, and the admin page that shows it.

The demo has no mail server; its email channel keeps each mail in an outbox
the admin lists, rendered, for the workspace's staff only.
"""

import html

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from engage.demo.models import OutboxEmail
from engage.messaging import sending, services
from engage.messaging.models import Message
from engage.messaging.rendering import Content
from engage.plugins.base import SettingsError
from engage.plugins.services import configure_plugin
from engage.privacy.services import erase_profile
from engage.profiles.models import Identity, Profile

pytestmark = pytest.mark.django_db

OUTBOX = {"backend": "outbox", "from_email": "shop@acme.example", "from_name": "Acme"}
HOSTILE_HTML = (
    '<p>Hi <b>{{ traits.first_name }}</b>, <a href="https://shop.example/boots">boots</a></p>'
    "<script>parent.document.title = 'owned'</script>"
)


def customer(workspace, email: str) -> Profile:
    profile = Profile.objects.create(workspace=workspace, traits={"first_name": "Ada"})
    Identity.objects.create(workspace=workspace, profile=profile, kind="email", value=email)
    return profile


def send_email(workspace, profile, *, key: str = "restock") -> Message:
    message = services.create_message(
        workspace=workspace,
        profile=profile,
        channel="email",
        category="marketing",
        idempotency_key=key,
        content=Content(subject="Back in stock", body="The boots are back.", html=HOSTILE_HTML),
        send_now=False,
    ).message
    assert sending.send_message(message.pk) == Message.SENT
    message.refresh_from_db()
    return message


def staff_of(workspace, username: str) -> Client:
    user = User.objects.create_user(username, is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="demo", codename="view_outboxemail")
    )
    workspace.members.add(user)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def acme(workspace):
    configure_plugin(workspace=workspace.workspace, plugin_id="email", settings=OUTBOX)
    return workspace.workspace


def test_an_email_is_kept_in_the_outbox_as_it_would_have_been_sent(acme):
    message = send_email(acme, customer(acme, "ada@example.com"))

    [kept] = OutboxEmail.objects.all()
    assert (kept.workspace_id, kept.message_id, kept.to) == (acme.pk, message.pk, "ada@example.com")
    assert kept.from_email == "Acme <shop@acme.example>"
    assert kept.subject == "Back in stock"
    assert kept.body.startswith("The boots are back.\n\n-- \nChoose what you hear from us: ")
    # The tracked HTML a mail server would have had, with its headers.
    assert "<b>Ada</b>" in kept.html
    assert "https://shop.example/boots" not in kept.html  # the link goes through click tracking
    assert "/t/c/" in kept.html
    assert kept.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.provider_message_id == kept.headers["Message-ID"] == kept.message_id_header


def test_the_outbox_needs_no_mail_server_but_a_sender(workspace):
    config = configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={"backend": "outbox", "from_email": "shop@acme.example"},
    )
    assert "smtp_host" not in config.settings
    with pytest.raises(SettingsError) as refused:
        configure_plugin(
            workspace=workspace.workspace, plugin_id="email", settings={"backend": "outbox"}
        )
    assert refused.value.errors == {"from_email": "required"}
    with pytest.raises(SettingsError) as refused:
        configure_plugin(
            workspace=workspace.workspace,
            plugin_id="email",
            settings={"backend": "outbx", "from_email": "shop@acme.example"},
        )
    assert refused.value.errors == {
        "backend": 'must be "smtp", "outbox" or an anymail.backends.* backend'
    }


def test_the_outbox_page_shows_the_workspaces_mail_rendered_and_sandboxed(acme):
    message = send_email(acme, customer(acme, "ada@example.com"))
    kept = OutboxEmail.objects.get()
    client = staff_of(acme, "ann")

    listing = client.get(reverse("admin:demo_outboxemail_changelist")).content.decode()
    page = client.get(reverse("admin:demo_outboxemail_change", args=[kept.pk]))

    assert "ada@example.com" in listing and "Back in stock" in listing
    assert page.status_code == 200
    content = page.content.decode()
    assert reverse("admin:messaging_message_change", args=[message.pk]) in content
    assert 'sandbox=""' in content
    # The email's HTML is only ever the frame's escaped srcdoc: its script
    # never reaches the admin page itself.
    srcdoc = content.split('srcdoc="', 1)[1].split('"', 1)[0]
    assert "<script>" not in content
    frame = html.unescape(srcdoc)
    assert frame.endswith(kept.html)
    assert "img-src data:" in frame  # no remote image: the open pixel is not counted


def test_another_workspaces_staff_see_none_of_it(acme, other_workspace):
    send_email(acme, customer(acme, "ada@example.com"))
    kept = OutboxEmail.objects.get()
    stranger = staff_of(other_workspace.workspace, "olga")

    listing = stranger.get(reverse("admin:demo_outboxemail_changelist"))
    page = stranger.get(reverse("admin:demo_outboxemail_change", args=[kept.pk]))

    assert listing.status_code == 200
    assert "ada@example.com" not in listing.content.decode()
    assert page.status_code == 302  # Django's answer for a row that is not there


def test_erasing_the_customer_erases_their_mail(acme):
    ada = customer(acme, "ada@example.com")
    send_email(acme, ada)
    send_email(acme, customer(acme, "bob@example.com"), key="bob")

    erase_profile(profile=ada, requested_by="test")

    assert list(OutboxEmail.objects.values_list("to", flat=True)) == ["bob@example.com"]
