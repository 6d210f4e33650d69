"""Scores follow customers through merges.

The survivor keeps its own scores (they were computed from its own, larger
history); a score only a merged profile had moves to the survivor until the
next computation (of several merged profiles, the earliest-created score).
History is kept the same way, week by week. A split rescores the workspace
once it commits: quintiles are relative, so the restored customer gets scores
and the survivor loses what was not its own.
"""

from django.db.models import Exists, OuterRef
from django.dispatch import receiver

from engage.profiles import repoint
from engage.profiles.signals import profiles_merged, profiles_split
from engage.server.publishing import publish_after_commit

from .models import Score, ScoreHistory


@receiver(profiles_merged, dispatch_uid="scoring-merge")
def move_scores_to_survivors(sender, *, pairs, **kwargs):
    """Three statements per table for the whole batch, whatever its size.

    Of several profiles merged into one survivor, the earliest-created row per
    model (and week) is the candidate; it moves unless the survivor has one,
    and what did not move is deleted. The move re-checks the survivor's rows
    in the same statement, as scoring may write them meanwhile: it takes no
    profile locks. Tables where no merged profile has a row are skipped after
    one probe: in processing, merged profiles are new devices without scores.
    """
    target = repoint.survivors(pairs)
    new_profile = repoint.moved_to(target)
    keys = {Score: ("model",), ScoreHistory: ("model", "week")}
    for model in repoint.holding([Score, ScoreHistory], target):
        key = keys[model]
        same_key = {field: OuterRef(field) for field in key}
        merged_rows = model.objects.filter(profile_id__in=target)
        earlier = (
            merged_rows.filter(pk__lt=OuterRef("pk"), **same_key)
            .annotate(new_profile=new_profile)
            .filter(new_profile=OuterRef("new_profile"))
        )
        model.objects.filter(
            pk__in=merged_rows.annotate(new_profile=new_profile)
            .filter(Exists(earlier))
            .values("pk")
        ).delete()
        survivor_has = model.objects.filter(profile_id=OuterRef("new_profile"), **same_key)
        movable = (
            merged_rows.annotate(new_profile=new_profile).exclude(Exists(survivor_has)).values("pk")
        )
        model.objects.filter(pk__in=movable).update(profile_id=new_profile)
        merged_rows.delete()


@receiver(profiles_split, dispatch_uid="scoring-split")
def rescore_after_split(sender, *, workspace, **kwargs):
    from .tasks import compute_workspace_scores

    publish_after_commit(compute_workspace_scores, workspace.pk)
