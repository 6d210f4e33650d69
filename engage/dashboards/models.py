from django.db import models


class Overview(models.Model):
    """No table: it puts the workspace overview in the admin's index under
    Dashboards, and its view permission says which staff may open it."""

    class Meta:
        managed = False
        default_permissions = ("view",)
        verbose_name = verbose_name_plural = "overview"

    def __str__(self) -> str:
        return "overview"
