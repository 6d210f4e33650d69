"""Scores follow customers through merges.

The survivor keeps its own scores (they were computed from its own, larger
history); a score only the merged profile had moves to the survivor until the
next computation. History is kept the same way, week by week. A split
rescores the workspace once it commits: quintiles are relative, so the
restored customer gets scores and the survivor loses what was not its own.
"""

from django.db.models import Exists, OuterRef
from django.dispatch import receiver

from engage.profiles.signals import profile_merged, profile_split
from engage.server.publishing import publish_after_commit

from .models import Score, ScoreHistory


@receiver(profile_merged, dispatch_uid="scoring-merge")
def move_scores_to_survivor(sender, survivor, merged, **kwargs):
    held = Score.objects.filter(profile=survivor).values_list("model", flat=True)
    Score.objects.filter(profile=merged).exclude(model__in=held).update(profile=survivor)
    Score.objects.filter(profile=merged).delete()
    survivor_week = ScoreHistory.objects.filter(
        profile=survivor, model=OuterRef("model"), week=OuterRef("week")
    )
    ScoreHistory.objects.filter(profile=merged).exclude(Exists(survivor_week)).update(
        profile=survivor
    )
    ScoreHistory.objects.filter(profile=merged).delete()


@receiver(profile_split, dispatch_uid="scoring-split")
def rescore_after_split(sender, survivor, **kwargs):
    from .tasks import compute_workspace_scores

    publish_after_commit(compute_workspace_scores, survivor.workspace_id)
