from django.db import models

from engage.workspaces.models import Workspace


class Rollup(models.Model):
    """One closed day (attribution) or closed period (retention, dated by its
    first day) of a heavy metric, for one set of settings (``key``), as the
    metric's own JSON; read back instead of recomputed (``rollups``)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    metric = models.CharField(max_length=32)
    key = models.CharField(max_length=400, help_text="The settings it was computed with.")
    day = models.DateField()
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "metric", "key", "day"], name="metric_rollup_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.day}"


class RollupCoverage(models.Model):
    """Every day up to ``through`` is rolled up for this metric and settings,
    days without a row included (nothing happened): readers compute live
    only what comes after."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)
    metric = models.CharField(max_length=32)
    key = models.CharField(max_length=400)
    through = models.DateField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "metric", "key"], name="metric_rollup_coverage_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} through {self.through}"
