import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import Client

from engage.messaging import consent, preferences, sending
from engage.messaging.admin import MessagingPolicyForm
from engage.messaging.models import Consent, Message, MessageDecision, MessagingPolicy
from engage.plugins.services import configure_plugin
from engage.profiles.merge import merge_profiles
from engage.profiles.models import Profile, ProfileMerge

from .helpers import queue_email

pytestmark = pytest.mark.django_db

FOOTER = "Hi {{ traits.first_name }}. Your choices: {{ preferences_url }}"


def page_path(profile) -> str:
    return urlsplit(preferences.preferences_url(profile)).path


def ticked(html: str) -> set[str]:
    return set(re.findall(r'value="([^"]+)"[^>]* checked', html))


@pytest.fixture
def centre(workspace, email_channel, customer):
    """Email and in-app enabled, a newsletter topic offered, and the customer
    unsubscribed from marketing mail by a link before."""
    ws = workspace.workspace
    configure_plugin(workspace=ws, plugin_id="inapp", settings={})
    MessagingPolicy.objects.create(workspace=ws, preference_topics=["newsletter"])
    consent.record_consent(
        profile=customer, status=Consent.OPTED_OUT, source="unsubscribe", channel="email"
    )
    return customer


def test_marketing_mail_links_the_customers_preference_centre_and_keeps_list_unsubscribe(
    workspace, centre, smtp_server
):
    consent.record_consent(profile=centre, status=Consent.OPTED_IN, source="api", channel="email")
    promo = queue_email(workspace.workspace, centre, category="marketing", body=FOOTER)
    assert sending.send_message(promo.pk) == Message.SENT

    [received] = smtp_server.messages
    mail = received["mail"]
    assert mail["List-Unsubscribe"] is not None
    [link] = re.findall(r"https?://\S+/t/p/\S+/", mail.get_body(("plain",)).get_content())
    token = urlsplit(link).path.split("/")[-2]
    assert preferences.customer_for(token) == centre


CENTRE_LINK = re.compile(r"https?://[^\s\"<>]+/t/p/[^\s\"<>]+/")


def parts(received) -> tuple[str, str]:
    mail = received["mail"]
    html = mail.get_body(("html",))
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    return text, html.get_content() if html else ""


def test_marketing_mail_without_the_link_gets_a_footer_with_it_once(workspace, centre, smtp_server):
    ws = workspace.workspace
    consent.record_consent(profile=centre, status=Consent.OPTED_IN, source="api", channel="email")
    bare = queue_email(ws, centre, category="marketing", key="bare", html="<p>Sale</p>")
    linked = queue_email(ws, centre, category="marketing", key="has", body=FOOTER)
    receipt = queue_email(ws, centre, key="receipt", html="<p>Paid</p>")
    for message in (bare, linked, receipt):
        assert sending.send_message(message.pk) == Message.SENT

    (bare_text, bare_html), (linked_text, _), (receipt_text, receipt_html) = (
        parts(received) for received in smtp_server.messages
    )
    assert bare_text.startswith("Hi Ada\n\n-- \n")
    [link] = CENTRE_LINK.findall(bare_text)
    assert f"Choose what you hear from us: {link}" in bare_text
    assert preferences.customer_for(urlsplit(link).path.split("/")[-2]) == centre
    assert "<p>Sale</p>" in bare_html and "Choose what you hear from us</a>" in bare_html
    # The template's own link, and no second one.
    assert len(CENTRE_LINK.findall(linked_text)) == 1
    assert "Choose what you hear" not in linked_text
    assert "Choose what you hear" not in receipt_text + receipt_html
    assert Message.objects.get(pk=bare.pk).body == "Hi Ada"  # stored as rendered


def test_the_page_shows_past_choices_and_saving_writes_only_what_changed(
    client, workspace, centre, smtp_server
):
    path = page_path(centre)
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert ticked(html) == {"marketing:inapp", "newsletter:inapp"}
    assert "you opted out" in html
    assert Consent.objects.count() == 1  # a GET changes nothing

    chosen = ["marketing:email", "marketing:inapp", "newsletter:inapp"]
    response = client.post(path, {"chosen": chosen})
    assert response.status_code == 200
    assert "Your choices are saved." in response.content.decode()
    written = set(
        Consent.objects.filter(source="preference_center").values_list("topic", "channel", "status")
    )
    assert written == {
        ("marketing", "email", "opted_in"),
        ("newsletter", "email", "opted_out"),
    }
    assert ticked(client.get(path).content.decode()) == set(chosen)
    client.post(path, {"chosen": chosen})  # saving again writes nothing
    assert Consent.objects.count() == 3

    # Sends follow the new choices.
    promo = queue_email(workspace.workspace, centre, category="marketing")
    assert sending.send_message(promo.pk) == Message.SENT
    news = queue_email(workspace.workspace, centre, category="marketing")
    Message.objects.filter(pk=news.pk).update(topic="newsletter")
    assert sending.send_message(news.pk) is None
    assert MessageDecision.objects.get(message=news).reason == "opted_out"
    client.post(path, {"chosen": []})
    later = queue_email(workspace.workspace, centre, category="marketing")
    assert sending.send_message(later.pk) is None
    assert ticked(client.get(path).content.decode()) == set()


def test_a_field_not_on_the_page_is_refused_by_name_and_nothing_is_written(client, centre):
    response = client.post(page_path(centre), {"chosen": ["marketing:email", "marketing:fax"]})
    assert response.status_code == 400
    assert "marketing:fax: not a choice on this page" in response.content.decode()
    assert not Consent.objects.filter(source="preference_center").exists()


def test_a_post_from_another_site_without_the_csrf_token_changes_nothing(centre):
    response = Client(enforce_csrf_checks=True).post(
        page_path(centre), {"chosen": ["marketing:email"]}
    )
    assert response.status_code == 403
    assert not Consent.objects.filter(source="preference_center").exists()


def test_tampered_expired_and_unknown_links_get_a_clear_page(client, workspace, centre):
    path = page_path(centre)
    tampered = path.replace("/t/p/", "/t/p/x")
    response = client.get(tampered)
    assert response.status_code == 404
    assert "This link is not valid." in response.content.decode()

    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=91)):
        response = client.post(path, {"chosen": ["marketing:email"]})
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert not Consent.objects.filter(source="preference_center").exists()

    gone = Profile.objects.create(workspace=workspace.workspace)
    gone_path = page_path(gone)
    gone.delete()
    assert client.get(gone_path).status_code == 404


def test_a_link_of_a_merged_customer_opens_the_survivors_choices(client, workspace, centre):
    other = Profile.objects.create(workspace=workspace.workspace)
    merge_profiles(survivor=centre, merged=other, reason=ProfileMerge.MANUAL)
    client.post(page_path(other), {"chosen": ["marketing:email"]})
    assert set(
        Consent.objects.filter(source="preference_center").values_list("profile_id", flat=True)
    ) == {centre.pk}


@pytest.mark.parametrize(
    ("topics", "error"),
    [
        ('"newsletter"', 'preference_topics: expected ["newsletter", "offers"]'),
        ('["offers", ""]', "preference_topics[1]: must be a topic name of 1 to 64 characters"),
    ],
    ids=["not-a-list", "empty-name"],
)
def test_the_policy_form_refuses_bad_preference_topics_by_name(workspace, topics, error):
    form = MessagingPolicyForm(
        data={
            "workspace": workspace.workspace.pk,
            "channel_caps": "{}",
            "default_timezone": "UTC",
            "support_pause_days": 30,
            "preference_topics": topics,
        }
    )
    assert not form.is_valid()
    assert form.errors["preference_topics"] == [error]
