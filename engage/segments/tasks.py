"""Celery tasks for segments: thin wrappers around ``membership`` and ``realtime``.

All are idempotent: a refresh compares the stored membership with the rules
as of now, so running one twice (a retried task, an overlapping beat) changes
nothing the second time.
"""

import logging

from celery import shared_task

from . import membership, realtime
from .models import Segment

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def refresh_segment(segment_id: int, workspace_id: int | None = None) -> None:
    """Refresh one dynamic segment, for ``workspace_id``: another workspace's
    segment is logged and left alone. Without ``workspace_id`` (tasks queued
    by older versions) no check."""
    segment = Segment.objects.filter(pk=segment_id, kind=Segment.DYNAMIC).first()
    if segment is None:
        return  # deleted, or made static, since it was queued
    if workspace_id is not None and segment.workspace_id != workspace_id:
        logger.warning(
            "refresh_segment: segment %s is not in workspace %s; nothing done",
            segment_id,
            workspace_id,
        )
        return
    membership.refresh(segment)


@shared_task(ignore_result=True)
def refresh_time_dependent_segments() -> int:
    """The periodic refresh: segments whose answer changes with time alone
    (windows, relative dates) or with data that arrives without an event
    (consents, scores, other segments). Returns how many were refreshed."""
    segments = Segment.objects.filter(
        kind=Segment.DYNAMIC, dependencies__time_dependent=True
    ).order_by("id")
    count = 0
    for segment in segments.iterator():
        try:
            membership.refresh(segment)
            count += 1
        except Exception:
            # One broken segment must not starve the others; it is retried next run.
            logger.exception("refreshing segment %s failed", segment.pk)
    return count


@shared_task(ignore_result=True)
def sweep_stale_segments() -> int:
    """Fill dynamic segments whose refresh was never published (a broker outage)."""
    return membership.refresh_stale_segments()


@shared_task(ignore_result=True)
def recheck_profiles(workspace_id: int, profile_ids: list[int], segment_ids: list[int]) -> int:
    return realtime.recheck(
        workspace_id=workspace_id, profile_ids=profile_ids, segment_ids=segment_ids
    )
