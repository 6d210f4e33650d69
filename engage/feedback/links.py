"""Signed survey links, and the ``survey`` key every template reads them from.

A link carries the workspace, the customer and the survey, signed with the
server's SECRET_KEY (``django.core.signing``, a salt of its own, as the
messaging app's tracking links): it cannot be forged or pointed at another
customer, and it expires ``Survey.answer_days`` after the message was
written. The score is the customer's choice, so it is a plain part of the
URL (``/f/<token>/9/``), checked against the survey's scale: one signature
per customer and survey, however many scores the message offers.

Templates read ``{{ survey.<name>.links }}`` (a list of ``{score, url}``),
``{{ survey.<name>.url }}`` (a page offering every score, for channels with
one link), ``{{ survey.<name>.question }}`` and ``.comment_question``.
Only the survey's own templates (``Survey.templates``) see it: a survey
message is then always one the fatigue check counts and an answer is
always tied to the message that asked. A staff preview gets placeholder
links, since a real one would answer for the customer.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, partial

from django.conf import settings
from django.core import signing
from django.urls import reverse

from engage.messaging.rendering import PREVIEW_URL
from engage.profiles.models import Profile

from . import scales
from .models import Survey

SALT = "engage.feedback.answer"


class InvalidLink(ValueError):
    """A link whose signature does not check out, or that has expired; the
    message says which, for the page the customer sees."""


@dataclass(frozen=True)
class Link:
    workspace_id: int
    profile_id: int
    survey_id: int
    #: unix time the message was written (the expiry counts from it)
    issued: int


def token_for(profile_id: int, survey: Survey, issued: int | None = None) -> str:
    payload = {
        "w": survey.workspace_id,
        "p": profile_id,
        "s": survey.pk,
        "t": int(time.time()) if issued is None else issued,
    }
    return signing.dumps(payload, salt=SALT, compress=True)


def read(token: str) -> tuple[Link, Survey]:
    """The link ``token`` carries and its survey; InvalidLink when tampered
    with or expired.

    The survey's own answer window decides the expiry, so the payload is
    checked once to find the survey, then against its window."""
    try:
        payload = signing.loads(token, salt=SALT)
        link = Link(int(payload["w"]), int(payload["p"]), int(payload["s"]), int(payload["t"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidLink("This survey link is not valid.") from None
    survey = (
        Survey.objects.select_related("workspace")
        .filter(pk=link.survey_id, workspace_id=link.workspace_id)
        .first()
    )
    if survey is None:
        raise InvalidLink("This survey is no longer open.")
    if time.time() - link.issued > survey.answer_days * 86400:
        raise InvalidLink("This survey link has expired.")
    return link, survey


def _public_url(path: str) -> str:
    return settings.ENGAGE_PUBLIC_URL.rstrip("/") + path


def answer_url(token: str, score: int | None = None) -> str:
    if score is None:
        return _public_url(reverse("feedback:survey", args=[token]))
    return _public_url(reverse("feedback:answer", args=[token, score]))


class _Batch:
    """The surveys ``template`` asks, for a batch of customers' workspaces,
    read on first use."""

    def __init__(self, workspace_ids: set[int], template, preview: bool):
        self.workspace_ids = workspace_ids
        self.template = template
        self.preview = preview
        self.issued = int(time.time())

    @cached_property
    def surveys(self) -> dict[int, list[Survey]]:
        if self.template is None or self.template.pk is None:
            return {}
        by_workspace: dict[int, list[Survey]] = {}
        asked = Survey.objects.filter(
            workspace_id__in=self.workspace_ids, templates=self.template.pk
        )
        for survey in asked:
            by_workspace.setdefault(survey.workspace_id, []).append(survey)
        return by_workspace


class SurveyLinks(Mapping):
    """One customer's ``{survey name: {kind, question, comment_question, url,
    links}}``, built when a template first reads it: the many templates that
    ask no survey cost no query and no signature."""

    def __init__(self, batch: _Batch, profile: Profile):
        self._batch = batch
        self._profile = profile

    @cached_property
    def _links(self) -> dict[str, dict]:
        profile, batch = self._profile, self._batch
        return {
            survey.name: _survey_links(
                survey,
                partial(_preview_url, survey)
                if batch.preview
                else partial(answer_url, token_for(profile.pk, survey, batch.issued)),
            )
            for survey in batch.surveys.get(profile.workspace_id, [])
        }

    def __getitem__(self, name: str) -> dict:
        return self._links[name]

    def __iter__(self):
        return iter(self._links)

    def __len__(self) -> int:
        return len(self._links)


def survey_context(
    profiles: list[Profile], *, template=None, preview: bool = False
) -> dict[int, SurveyLinks]:
    """The ``survey`` key of a batch of customers' contexts for ``template``:
    one query for the surveys it asks if it reads the key, one signature per
    customer and survey."""
    batch = _Batch({profile.workspace_id for profile in profiles}, template, preview)
    return {profile.pk: SurveyLinks(batch, profile) for profile in profiles}


def _survey_links(survey: Survey, url) -> dict:
    """``url(score=None)``: the link to the page offering every score, or to one."""
    low, high = scales.SCALES[survey.kind]
    return {
        "kind": survey.kind,
        "question": survey.question,
        "comment_question": survey.comment_question,
        "url": url(),
        "links": [{"score": score, "url": url(score)} for score in range(low, high + 1)],
    }


def _preview_url(survey: Survey, score: int | None = None) -> str:
    path = f"survey/{survey.name}" + (f"/{score}" if score is not None else "")
    return PREVIEW_URL + path
