"""Customers, surveys and links for feedback tests (the browser test too)."""

import re

from django.conf import settings

from engage.feedback.models import Survey
from engage.messaging.models import MessageTemplate
from engage.profiles.models import Identity, Profile

LINK = re.compile(r"https?://[^\s\"<>]+/f/[^\s\"<>]+/")


def make_customer(workspace) -> Profile:
    """A customer with a user id, an email address and a phone number."""
    profile = Profile.objects.create(workspace=workspace, traits={"first_name": "Ada"})
    for kind, value in (
        (Identity.USER_ID, "u-1"),
        (Identity.EMAIL, "ada@example.com"),
        (Identity.PHONE, "+14155552671"),
    ):
        Identity.objects.create(workspace=workspace, profile=profile, kind=kind, value=value)
    return profile


def make_nps_survey(workspace) -> Survey:
    """An NPS survey asked by an email template (one link per score) and an SMS one."""
    email = MessageTemplate.objects.create(
        workspace=workspace,
        name="nps-email",
        channel="email",
        subject="{{ survey.nps.question }}",
        body="{% for link in survey.nps.links %}{{ link.score }}: {{ link.url }}\n{% endfor %}",
    )
    sms = MessageTemplate.objects.create(
        workspace=workspace,
        name="nps-sms",
        channel="sms",
        body="{{ survey.nps.question }} Reply 0-10.",
    )
    survey = Survey.objects.create(
        workspace=workspace,
        name="nps",
        kind="nps",
        question="How likely are you to recommend us?",
        comment_question="What is the main reason for your score?",
    )
    survey.templates.set([email, sms])
    return survey


def links_in(body: str) -> dict[int, str]:
    """The body's survey links by score, as paths of the test server."""
    found = {}
    for url in LINK.findall(body):
        path = url.removeprefix(settings.ENGAGE_PUBLIC_URL.rstrip("/"))
        found[int(path.rstrip("/").rsplit("/", 1)[1])] = path
    return found
