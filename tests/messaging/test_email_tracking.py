import re
from urllib.parse import urlsplit

import pytest

from engage.events.models import Event
from engage.messaging import sending
from engage.messaging.models import Consent, Message, MessageDecision

from .helpers import queue_email

pytestmark = pytest.mark.django_db

HTML = (
    '<html><body><p>Sale!</p><a href="https://shop.example/sale?a=1&amp;b=2">Shop</a></body></html>'
)


@pytest.fixture
def marketing_mail(workspace, email_channel, customer, smtp_server):
    """A marketing email sent to the loopback server: (message, received mail)."""
    message = queue_email(workspace.workspace, customer, category="marketing", html=HTML)
    sending.send_message(message.pk)
    message.refresh_from_db()
    [received] = smtp_server.messages
    return message, received["mail"]


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_marketing_mail_carries_one_click_unsubscribe_headers(marketing_mail):
    _, mail = marketing_mail
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<https?://[^>]+/t/u/[^>]+/>", mail["List-Unsubscribe"].strip())


def test_transactional_mail_has_no_unsubscribe_header(
    workspace, email_channel, customer, smtp_server
):
    sending.send_message(queue_email(workspace.workspace, customer).pk)
    assert smtp_server.messages[0]["mail"]["List-Unsubscribe"] is None


def test_one_click_unsubscribe_opts_out_and_refuses_later_marketing(
    client, workspace, customer, smtp_server, marketing_mail
):
    message, mail = marketing_mail
    url = path_of(mail["List-Unsubscribe"].strip().strip("<>"))

    # A link scanner's GET changes nothing.
    assert client.get(url).status_code == 200
    assert not Consent.objects.filter(profile=customer).exists()

    response = client.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    client.post(url)  # a second click changes nothing more
    consent = Consent.objects.get(profile=customer)
    assert (consent.status, consent.channel, consent.topic, consent.source) == (
        "opted_out",
        "email",
        "marketing",
        "unsubscribe",
    )
    message.refresh_from_db()
    assert message.status == Message.UNSUBSCRIBED
    assert Event.objects.filter(profile=customer, name="Email Unsubscribed").exists()

    later = queue_email(workspace.workspace, customer, category="marketing", html=HTML)
    sending.send_message(later.pk)
    later.refresh_from_db()
    assert later.status == Message.SKIPPED
    assert MessageDecision.objects.get(message=later).reason == "opted_out"
    receipt = queue_email(workspace.workspace, customer, category="transactional")
    assert sending.send_message(receipt.pk) == Message.SENT
    assert len(smtp_server.messages) == 2


def test_a_tampered_unsubscribe_link_does_nothing(client, customer, marketing_mail):
    _, mail = marketing_mail
    url = path_of(mail["List-Unsubscribe"].strip().strip("<>"))
    assert client.post(url[:-3] + "xx/").status_code == 404
    assert not Consent.objects.filter(profile=customer).exists()


def test_clicks_redirect_to_the_original_link_and_reach_the_timeline(
    client, customer, marketing_mail
):
    message, mail = marketing_mail
    html = mail.get_body(("html",)).get_content()
    [link, _preference_centre] = re.findall(r'href="([^"]+)"', html)
    assert "shop.example" not in link

    response = client.get(path_of(link.replace("&amp;", "&")))
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example/sale?a=1&b=2"
    client.get(path_of(link.replace("&amp;", "&")))

    [clicked] = Event.objects.filter(profile=customer, name="Email Clicked")
    assert clicked.properties["url"] == "https://shop.example/sale?a=1&b=2"
    assert clicked.properties["message_id"] == message.pk
    message.refresh_from_db()
    assert message.status == Message.CLICKED and message.clicked_at is not None


def test_the_click_endpoint_is_not_an_open_redirect(client, marketing_mail):
    _, mail = marketing_mail
    [link, _] = re.findall(r'href="([^"]+)"', mail.get_body(("html",)).get_content())
    token = path_of(link).split("/")[3]
    payload, _, _ = token.partition(":")
    forged = client.get(f"/t/c/{payload}:forged:sig/")
    assert forged.status_code == 404 and "Location" not in forged
    assert client.get("/t/c/https%3A%2F%2Fevil.example/").status_code == 404


def test_the_open_pixel_records_one_open_and_a_late_delivered_does_not_undo_it(
    client, customer, marketing_mail
):
    message, mail = marketing_mail
    [pixel] = re.findall(r'<img src="([^"]+)"', mail.get_body(("html",)).get_content())

    for _ in range(2):
        response = client.get(path_of(pixel.replace("&amp;", "&")))
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"

    assert Event.objects.filter(profile=customer, name="Email Opened").count() == 1
    message.refresh_from_db()
    assert message.status == Message.OPENED

    from engage.messaging.delivery_status import apply_to_message
    from plugins.email import Email

    apply_to_message(
        workspace=message.workspace, channel=Email, message=message, kind="delivered", key="k1"
    )
    message.refresh_from_db()
    assert message.status == Message.OPENED and message.delivered_at is not None


def test_an_esp_backend_through_anymail_records_the_esps_message_id(
    workspace, customer, mailoutbox
):
    from engage.plugins.services import configure_plugin

    configure_plugin(
        workspace=workspace.workspace,
        plugin_id="email",
        settings={
            "from_email": "news@shop.example",
            "backend": "anymail.backends.test.EmailBackend",
            "esp_api_key": "esp-key",
        },
    )
    message = queue_email(workspace.workspace, customer, category="marketing", html=HTML)

    assert sending.send_message(message.pk) == Message.SENT

    [sent] = mailoutbox
    message.refresh_from_db()
    assert message.provider_message_id == str(sent.anymail_status.message_id)
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
