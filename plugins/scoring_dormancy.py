"""Dormancy: days since the customer's last activity, against their own usual gap.

Activity days are the distinct days with an event the customer caused
(engage's own delivery and segment events do not count). The usual gap is
the median of the gaps between consecutive activity days. Cells, first
match wins:

- ``dormant``: inactive for ``dormancy_dormant_days`` (120) or more;
- ``at_risk``: inactive for ``dormancy_at_risk_days`` (60) or more;
- ``drifting``: inactive for ``dormancy_overdue_factor`` (3) times the usual gap or more;
- ``active``: otherwise.

The value is the number of whole days inactive.
"""

from engage.plugins import hookimpl
from engage.plugins.base import Run, ScoringModel, SettingField
from engage.scoring.kinds import IS_ACTIVITY
from engage.scoring.shared_settings import DORMANT_DAYS, MAX_DAYS, between, check_shared

# Drifting at a thousand times one's usual gap is never: a bound that keeps
# the product of factor and gap a finite number in SQL.
MAX_OVERDUE_FACTOR = 1000

# The median gap per customer: an ordered-set aggregate on PostgreSQL; SQLite
# has none, so the middle gap(s) are picked with window functions there.
PG_LATEST = """
    SELECT profile_id, COUNT(*) AS active_days, MAX(day) AS last_day,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap
    FROM gaps GROUP BY profile_id
"""
SQLITE_LATEST = """
    SELECT g.profile_id, COUNT(*) AS active_days, MAX(g.day) AS last_day, m.median_gap
    FROM gaps g LEFT JOIN (
        SELECT profile_id, AVG(gap * 1.0) AS median_gap FROM (
            SELECT profile_id, gap,
                   ROW_NUMBER() OVER (PARTITION BY profile_id ORDER BY gap) AS rn,
                   COUNT(*) OVER (PARTITION BY profile_id) AS n
            FROM gaps WHERE gap IS NOT NULL
        ) ordered
        WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
        GROUP BY profile_id
    ) m ON m.profile_id = g.profile_id
    GROUP BY g.profile_id, m.median_gap
"""


class Dormancy(ScoringModel):
    id = "dormancy"
    name = "Dormancy"
    settings_schema = (
        SettingField(
            "dormancy_at_risk_days",
            "integer",
            default=60,
            help="Days without activity after which a customer is at risk.",
        ),
        DORMANT_DAYS,
        SettingField(
            "dormancy_overdue_factor",
            "number",
            default=3.0,
            help="Drifting: inactive for this many times the customer's own usual gap.",
        ),
    )

    @classmethod
    def check_settings(cls, settings):
        errors = {
            **check_shared(settings),
            **between(settings, "dormancy_at_risk_days", 1, MAX_DAYS),
            **between(settings, "dormancy_overdue_factor", 1, MAX_OVERDUE_FACTOR),
        }
        at_risk, dormant = settings["dormancy_at_risk_days"], settings["dormancy_dormant_days"]
        if not errors and at_risk >= dormant:
            errors["dormancy_dormant_days"] = (
                f"must be more than dormancy_at_risk_days ({at_risk}): dormant comes after at risk"
            )
        return errors

    def select(self, run: Run) -> tuple[str, list]:
        sql = run.sql
        settings = self.settings
        kinds, kinds_params = run.kinds
        today_sql, today = sql.date_param(run.as_of.date())
        previous = "LAG(day) OVER (PARTITION BY profile_id ORDER BY day)"
        components = sql.json_object(
            {
                "days_inactive": "days_inactive",
                "median_gap_days": "median_gap",
                "active_days": "active_days",
            }
        )
        text = f"""
            WITH {kinds}, days AS (
                SELECT e.profile_id, {sql.day("e.timestamp")} AS day
                FROM events_event e LEFT JOIN kinds k ON k.name = e.name
                WHERE e.workspace_id = %s AND e.profile_id IS NOT NULL AND e.timestamp <= %s
                  AND {IS_ACTIVITY}
                GROUP BY e.profile_id, {sql.day("e.timestamp")}
            ), gaps AS (
                SELECT profile_id, day, {sql.date_diff("day", previous)} AS gap FROM days
            ), latest AS (
                SELECT l.*, {sql.date_diff(today_sql, "l.last_day")} AS days_inactive
                FROM ({PG_LATEST if sql.pg else SQLITE_LATEST}) l
            )
            SELECT profile_id, days_inactive AS value,
                   CASE WHEN days_inactive >= %s THEN 'dormant'
                        WHEN days_inactive >= %s THEN 'at_risk'
                        WHEN median_gap IS NOT NULL
                             AND days_inactive >= %s * median_gap THEN 'drifting'
                        ELSE 'active' END AS cell,
                   {components} AS components
            FROM latest
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
        params = [
            *kinds_params,
            run.workspace_id,
            run.sql.ts(run.as_of),
            today,
            settings["dormancy_dormant_days"],
            settings["dormancy_at_risk_days"],
            settings["dormancy_overdue_factor"],
        ]
        return text, params


@hookimpl
def engage_scoring_models():
    return [Dormancy]
