"""``webhook``: POST the step to an operator's URL, signed, then go on.

``{"type": "webhook", "url": "https://hooks.example.com/journey",
"body": {"campaign": "spring"}, "next": "done"}``

The POST carries the journey, the step and the customer (id and traits)
with ``body`` under ``"body"``. It is signed like the webhook channel's
messages, with that channel's signing secret (``X-Engage-Signature``), and
goes through the SSRF-guarded client (no private addresses, no redirects).
``Idempotency-Key`` is the step's key: a step run again after a worker died
mid-call sends the same key, so the receiver can drop the repeat.

The calls of a batch go out side by side (``CONCURRENCY`` at a time), so a
slow endpoint holds the batch's enrollments for a few timeouts, not one per
customer.

A call that fails (refused address, timeout, a non-2xx answer, no webhook
channel enabled to sign with) is recorded in the ledger and the customer
goes on all the same: a journey is not held up by an endpoint that is down.
"""

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from django.core.serializers.json import DjangoJSONEncoder

from engage.messaging.models import MessageDecision
from engage.plugins import provider_http
from engage.plugins.base import SendError
from engage.plugins.outbound import url_refusal
from engage.plugins.selectors import enabled_channel
from engage.plugins.signing import SIGNATURE_HEADER, signature
from engage.profiles.models import Profile

TYPE = "webhook"
CHANNEL = "webhook"
MAX_URL = 2000
MAX_BODY_BYTES = 16 * 1024
TIMEOUT_SECONDS = 5.0
CONCURRENCY = 16


def outcomes(node: dict) -> tuple[str, ...]:
    return ("next",)


def validate(checker, node: dict, path: str) -> None:
    if not checker.fields(node, path, {"url"}, {"body"}):
        return
    url = node["url"]
    if not isinstance(url, str) or len(url) > MAX_URL:
        checker.error(f"{path}.url", f"must be a URL of at most {MAX_URL} characters")
    elif urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        checker.error(f"{path}.url", "must be an http:// or https:// URL with a host")
    elif url_refusal(url):
        checker.error(f"{path}.url", url_refusal(url))
    if "body" in node:
        if not isinstance(node["body"], dict):
            checker.error(f"{path}.body", "must be an object")
        elif len(json.dumps(node["body"])) > MAX_BODY_BYTES:
            checker.error(f"{path}.body", f"must be at most {MAX_BODY_BYTES} bytes of JSON")


def run(batch) -> None:
    channel = enabled_channel(workspace=batch.workspace, channel_id=CHANNEL)
    if channel is None:
        for enrollment in batch.enrollments:
            batch.go(
                enrollment,
                action=MessageDecision.CALL,
                reason="not_configured",
                detail="enable the webhook channel: its signing secret signs journey calls",
            )
        return
    profiles = Profile.objects.filter(pk__in=[e.profile_id for e in batch.enrollments]).only(
        "id", "traits"
    )
    traits = {p.pk: p.traits for p in profiles}
    secret = channel.settings["signing_secret"]
    results = _pool().map(
        lambda e: _call(batch, e, traits.get(e.profile_id, {}), secret), batch.enrollments
    )
    for enrollment, (reason, detail) in zip(batch.enrollments, results, strict=True):
        batch.go(enrollment, action=MessageDecision.CALL, reason=reason, detail=detail)


_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """This process's callers, kept for its life: each thread keeps its HTTP
    client (provider_http), whose TLS set-up costs more than a call. A forked
    worker starts its own (threads do not survive a fork)."""
    with _pool_lock:
        pid = os.getpid()
        if pid not in _pools:
            _pools.clear()
            _pools[pid] = ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="journey-webhook")
        return _pools[pid]


def _call(batch, enrollment, traits: dict, secret: str) -> tuple[str, str]:
    """POST one customer's step; (reason, detail) for the ledger. Runs on a
    pool thread, so it reads nothing from the database."""
    key = batch.idempotency_key(enrollment)
    payload = {
        "type": "journey_step",
        "idempotency_key": key,
        "journey": {"id": batch.journey.pk, "name": batch.journey.name},
        "version": batch.version.number,
        "node": batch.node_id,
        "enrollment": {"id": enrollment.pk, "entered_at": enrollment.entered_at},
        "profile": {"id": enrollment.profile_id, "traits": traits},
        "body": batch.node.get("body", {}),
    }
    body = json.dumps(payload, cls=DjangoJSONEncoder).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "engage-journey/1",
        "Idempotency-Key": key,
        SIGNATURE_HEADER: signature(secret, body, int(time.time())),
    }
    try:
        response = provider_http.post(
            batch.node["url"], content=body, headers=headers, timeout=TIMEOUT_SECONDS
        )
    except SendError as exc:
        return "failed", str(exc)[:500]
    return "ok", f"HTTP {response.status_code}"
