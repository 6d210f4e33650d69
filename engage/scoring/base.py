"""The interface of a set-based scoring model.

``engage.plugins.base.ScoringModel`` scores one profile at a time, which at a
million customers means a million round trips. A ``SetScoringModel`` instead
returns one SELECT producing ``(profile_id, value, cell, components)`` for
every scored customer of a workspace; ``compute`` replaces the model's rows
with that result in one INSERT ... SELECT, inside the caller's transaction.
Quintiles and percentiles need the whole workspace anyway, so this is also
the only way to compute them correctly.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from engage.plugins.base import ScoringModel

from .dialect import Dialect


@dataclass(frozen=True)
class Run:
    """What a model's SELECT may depend on."""

    workspace_id: int
    settings: object  # engage.scoring.models.ScoringSettings
    as_of: datetime
    sql: Dialect


# Events engage writes itself; they are not something the customer did.
SYSTEM_SUFFIXES = ("Sent", "Delivered", "Bounced", "Failed")
SYSTEM_EVENTS = ("segment_entered", "segment_exited")
RESPONSE_SUFFIXES = ("Opened", "Clicked", "Replied")


def activity_filter(column: str = "e.name") -> str:
    """SQL true for events that show the customer doing something."""
    system = [f"{column} LIKE '%% {suffix}'" for suffix in SYSTEM_SUFFIXES]
    system += [f"{column} = '{name}'" for name in SYSTEM_EVENTS]
    return f"NOT ({' OR '.join(system)})"


def channel_of(column: str = "e.name") -> str:
    """The channel key of a delivery or response event name: "Web Push Opened" → "web_push"."""
    cut = " ".join(
        f"WHEN {column} LIKE '%% {suffix}' THEN {len(suffix) + 1}"
        for suffix in ("Delivered", *RESPONSE_SUFFIXES)
    )
    return f"lower(replace(substr({column}, 1, length({column}) - CASE {cut} END), ' ', '_'))"


def is_delivery(column: str = "e.name") -> str:
    return f"{column} LIKE '%% Delivered'"


def is_response(column: str = "e.name") -> str:
    return "(" + " OR ".join(f"{column} LIKE '%% {s}'" for s in RESPONSE_SUFFIXES) + ")"


class SetScoringModel(ScoringModel):
    """A scoring model computed for a whole workspace in SQL."""

    def select(self, run: Run) -> tuple[str, list]:
        """SQL and parameters selecting ``profile_id, value, cell, components``."""
        raise NotImplementedError

    def compute(self, *, workspace, settings, as_of: datetime) -> int:
        """Replace this model's scores in ``workspace``; returns the rows written."""
        sql = Dialect(connection)
        run = Run(workspace_id=workspace.pk, settings=settings, as_of=as_of, sql=sql)
        select, params = self.select(run)
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM scoring_score WHERE workspace_id = %s AND model = %s",
                [workspace.pk, self.id],
            )
            columns = "workspace_id, profile_id, model, value, cell, components, computed_at"
            values = "%s, s.profile_id, %s, s.value, COALESCE(s.cell, ''), s.components, %s"
            insert = f"INSERT INTO scoring_score ({columns}) SELECT {values} FROM ({select}) s"  # noqa: S608 (a model's fixed SQL; values are parameters)
            cursor.execute(insert, [workspace.pk, self.id, sql.ts(as_of), *params])
            return cursor.rowcount
