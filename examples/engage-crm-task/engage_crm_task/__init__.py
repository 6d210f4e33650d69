"""The ``crm_task`` journey node, packaged the way any third-party plugin is.

engage finds it through the ``engage.plugins`` entry point in this
package's pyproject.toml; the node type is this module itself (``TYPE``,
``outcomes``, ``validate``, ``run``), as engage's own node types are.
"""

import json
import sys
from urllib.parse import urlsplit

from engage.messaging.models import MessageDecision
from engage.plugins import hookimpl, provider_http
from engage.plugins.base import SendError
from engage.plugins.outbound import url_refusal
from engage.profiles.models import Profile

TYPE = "crm_task"
MAX_TITLE = 200
MAX_URL = 2000
TIMEOUT_SECONDS = 5.0


@hookimpl
def engage_node_types():
    return [sys.modules[__name__]]


def outcomes(node: dict) -> tuple[str, ...]:
    return ("next",)


def validate(checker, node: dict, path: str) -> None:
    if not checker.fields(node, path, {"url", "title"}, {"assignee"}):
        return
    url = node["url"]
    if not isinstance(url, str) or len(url) > MAX_URL:
        checker.error(f"{path}.url", f"must be a URL of at most {MAX_URL} characters")
    elif urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        checker.error(f"{path}.url", "must be an http:// or https:// URL with a host")
    elif url_refusal(url):
        checker.error(f"{path}.url", url_refusal(url))
    checker.text(node["title"], f"{path}.title", MAX_TITLE)
    if "assignee" in node:
        checker.text(node["assignee"], f"{path}.assignee", MAX_TITLE)


def run(batch) -> None:
    """One request for the whole batch: a CRM's bulk endpoint takes a list,
    and a journey reaching thousands of customers makes a few calls, not
    thousands. A CRM that is down is noted in the ledger; the customers go on."""
    traits = dict(
        Profile.objects.filter(pk__in=[e.profile_id for e in batch.enrollments]).values_list(
            "id", "traits"
        )
    )
    tasks = [
        {
            "external_id": batch.idempotency_key(enrollment),
            "title": batch.node["title"],
            "assignee": batch.node.get("assignee", ""),
            "customer": {"id": enrollment.profile_id, "traits": traits.get(enrollment.profile_id)},
            "journey": batch.journey.name,
        }
        for enrollment in batch.enrollments
    ]
    try:
        response = provider_http.post(
            batch.node["url"],
            content=json.dumps({"tasks": tasks}).encode(),
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT_SECONDS,
        )
        reason, detail = "ok", f"task {batch.node['title']!r}: HTTP {response.status_code}"
    except SendError as exc:
        reason, detail = "failed", str(exc)[:500]
    for enrollment in batch.enrollments:
        batch.go(enrollment, action=MessageDecision.CALL, reason=reason, detail=detail)
