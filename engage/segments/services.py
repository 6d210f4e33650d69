"""Creating, changing and previewing segments; uploading static members.

Every path that saves rules goes through ``validate_rules`` first and stores
the dependency index with them, so the compiler and the real-time re-check
only ever see valid trees.
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from engage.profiles.identifiers import InvalidIdentifier
from engage.profiles.selectors import profile_by_identifier
from engage.server.publishing import publish_after_commit
from engage.workspaces.models import Workspace

from . import conditions, membership, selectors
from .compiler import member_query
from .models import Segment
from .validation import InvalidSegment, validate_rules

logger = logging.getLogger(__name__)

MAX_UPLOAD = 100_000
SAMPLE_SIZE = 10


def save_segment(
    *,
    workspace: Workspace,
    segment: Segment | None = None,
    name: str,
    rules: dict | None,
    description: str = "",
    kind: str = Segment.DYNAMIC,
) -> Segment:
    """Create (``segment`` None) or update a segment; raises InvalidSegment.

    A dynamic segment is refreshed once the transaction commits (by a task,
    inline when no broker is configured), so it has members straight away.
    """
    errors = []
    name = (name or "").strip()
    if not name or len(name) > 200:
        errors.append("name: must be 1 to 200 characters")
    elif (
        Segment.objects.filter(workspace=workspace, name=name)
        .exclude(pk=segment.pk if segment else None)
        .exists()
    ):
        errors.append(f"name: a segment named {name!r} already exists")
    if segment is not None:
        kind = segment.kind
    if kind not in (Segment.DYNAMIC, Segment.STATIC):
        errors.append("kind: must be 'dynamic' or 'static'")
    elif kind == Segment.STATIC and rules is not None:
        errors.append("rules: a static segment has no rules (upload its members instead)")
    elif kind == Segment.DYNAMIC:
        if rules is None:
            errors.append("rules: is required for a dynamic segment")
        else:
            try:
                validate_rules(
                    rules, workspace_id=workspace.pk, segment_id=segment.pk if segment else None
                )
            except InvalidSegment as exc:
                errors += exc.errors
    if errors:
        raise InvalidSegment(errors)
    segment = segment or Segment(workspace=workspace, kind=kind)
    segment.name = name
    segment.description = description or ""
    segment.rules = rules
    segment.dependencies = conditions.dependencies(rules).as_json()
    segment.save()
    if kind == Segment.DYNAMIC:
        from .tasks import refresh_segment

        # A lost publish is caught by sweep_stale_segments (never refreshed
        # since saved), so a broker outage never fails the request.
        publish_after_commit(refresh_segment, segment.pk, segment.workspace_id)
    return segment


@dataclass
class Preview:
    count: int
    sample: list[int]


def preview(
    *,
    workspace: Workspace,
    rules: dict,
    segment_id: int | None = None,
    now: datetime.datetime | None = None,
) -> Preview:
    """How many profiles match ``rules`` now, and a few of them, without saving.

    ``segment_id`` is the segment being edited, so a reference back to it is
    reported as a cycle."""
    validate_rules(rules, workspace_id=workspace.pk, segment_id=segment_id)
    query = member_query(rules, workspace_id=workspace.pk, now=now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({query.sql}) q", query.params)  # noqa: S608 - parameterized member query
        count = cursor.fetchone()[0]
        cursor.execute(f"{query.sql} ORDER BY p.id DESC LIMIT {SAMPLE_SIZE}", query.params)
        sample = [row[0] for row in cursor.fetchall()]
    return Preview(count=count, sample=sample)


@dataclass
class Upload:
    matched: int = 0
    entered: int = 0
    exited: int = 0
    unknown: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def upload_members(*, segment: Segment, identifiers: list, replace: bool = False) -> Upload:
    """Members of a static segment from a list of ``{"kind", "value"}``.

    Identifiers are normalized as resolution does and followed through merges;
    the ones matching nobody are reported back, not silently dropped.
    Raises InvalidSegment for a malformed list (nothing is changed then).
    """
    if segment.kind != Segment.STATIC:
        raise InvalidSegment(["kind: members can be uploaded to static segments only"])
    if not isinstance(identifiers, list) or len(identifiers) > MAX_UPLOAD:
        raise InvalidSegment([f"identifiers: must be a list of at most {MAX_UPLOAD} items"])
    result, profile_ids = Upload(), set()
    for i, item in enumerate(identifiers):
        if not isinstance(item, dict) or set(item) != {"kind", "value"}:
            result.invalid.append(f"identifiers[{i}]: must be an object with kind and value")
            continue
        try:
            profile = profile_by_identifier(
                workspace=segment.workspace, kind=item["kind"], value=item["value"]
            )
        except InvalidIdentifier as exc:
            result.invalid.append(f"identifiers[{i}].{exc}")
            continue
        if profile is None:
            result.unknown.append(f"{item['kind']}:{item['value']}")
        else:
            profile_ids.add(profile.pk)
    if result.invalid:
        raise InvalidSegment(result.invalid)
    change = membership.add_members(segment, sorted(profile_ids), replace=replace)
    result.matched, result.entered, result.exited = len(profile_ids), change.entered, change.exited
    return result


def segments_using(segment: Segment) -> list[str]:
    """Names of the workspace's segments whose rules refer to ``segment``."""
    users = selectors.referring_segments(
        workspace_id=segment.workspace_id, segment_ids={segment.pk}
    )
    return sorted(s.name for s in users if s.pk != segment.pk)


def delete_segment(segment: Segment) -> None:
    """Delete a segment unless another segment's rules refer to it."""
    users = segments_using(segment)
    if users:
        raise InvalidSegment([f"id: used by segment(s) {', '.join(users)}"])
    segment.delete()
