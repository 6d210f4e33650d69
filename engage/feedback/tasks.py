"""Telling staff of negative answers; safe to run twice (a second email or
POST is a repeat notice, never a changed record)."""

import json
import logging
import time

from celery import shared_task
from django.conf import settings as django_settings
from django.core.mail import send_mail

from engage.plugins import provider_http
from engage.plugins.base import SendError
from engage.plugins.signing import SIGNATURE_HEADER, signature

from .models import Feedback, FeedbackSettings

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 10.0


def payload(row: Feedback) -> dict:
    """What staff are told: the answer, its comment and where it came from."""
    return {
        "type": "feedback.negative",
        "feedback_id": row.pk,
        "profile_id": row.profile_id,
        "kind": row.kind,
        "score": row.score,
        "category": row.category,
        "comment": row.comment,
        "channel": row.channel,
        "message_id": row.message_id,
        "journey_id": row.journey_id,
        "answered_at": row.answered_at.isoformat(),
    }


@shared_task(name="engage.feedback.tasks.notify_staff", ignore_result=True)
def notify_staff(feedback_ids: list[int]) -> None:
    rows = Feedback.objects.filter(pk__in=feedback_ids).order_by("pk")
    settings = {
        s.workspace_id: s
        for s in FeedbackSettings.objects.filter(workspace_id__in={r.workspace_id for r in rows})
    }
    for row in rows:
        chosen = settings.get(row.workspace_id)
        if chosen is None:
            continue
        data = payload(row)
        if chosen.notify_email:
            _email(chosen.notify_email, data)
        if chosen.notify_webhook_url:
            _webhook(chosen, data)


def _email(to: str, data: dict) -> None:
    subject = f"Feedback: {data['kind'].upper()} {data['score']} ({data['category']})"
    lines = [f"{name}: {value}" for name, value in data.items() if value not in ("", None)]
    send_mail(subject, "\n".join(lines), django_settings.DEFAULT_FROM_EMAIL, [to])


def _webhook(chosen: FeedbackSettings, data: dict) -> None:
    body = json.dumps(data).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "engage-feedback/1"}
    if chosen.notify_webhook_secret:
        headers[SIGNATURE_HEADER] = signature(chosen.notify_webhook_secret, body, int(time.time()))
    try:
        provider_http.post(
            chosen.notify_webhook_url,
            content=body,
            headers=headers,
            timeout=WEBHOOK_TIMEOUT_SECONDS,
        )
    except SendError as exc:
        logger.warning("feedback %s: the staff webhook failed: %s", data["feedback_id"], exc)
