"""Reads of segments and their members, for the API (and anything else that asks).

Every function takes the workspace or a segment already scoped to one, so no
caller can read another workspace's segments.
"""

from django.db.models import QuerySet

from engage.profiles.models import Profile
from engage.workspaces.models import Workspace

from . import schema
from .models import Segment, SegmentMembership


def segments(*, workspace: Workspace) -> QuerySet[Segment]:
    return Segment.objects.filter(workspace=workspace).order_by("name")


def segment(*, workspace: Workspace, segment_id: int) -> Segment | None:
    return Segment.objects.filter(workspace=workspace, pk=segment_id).first()


def segment_names(*, workspace: Workspace) -> dict[int, str]:
    """Id to name, so rules that refer to other segments can be described by name."""
    return dict(Segment.objects.filter(workspace=workspace).values_list("id", "name"))


def current_members(*, segment: Segment) -> QuerySet[SegmentMembership]:
    """The segment's members now (a stay that has not ended), one row per profile."""
    return SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)


def current_stay(*, segment: Segment, profile: Profile) -> SegmentMembership | None:
    """The profile's membership of the segment now, or None if it is not a member."""
    return current_members(segment=segment).filter(profile=profile).first()


def referring_segments(*, workspace_id: int, segment_ids: set[int]) -> list[Segment]:
    """The workspace's segments whose rules refer to any of ``segment_ids``."""
    return [
        s
        for s in Segment.objects.filter(workspace_id=workspace_id).only("pk", "name", "rules")
        if segment_ids & schema.referenced_segment_ids(s.rules)
    ]
