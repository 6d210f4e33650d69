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

from .base import Run, SetScoringModel, activity_filter


class Dormancy(SetScoringModel):
    id = "dormancy"
    name = "Dormancy"

    def select(self, run: Run) -> tuple[str, list]:
        sql = run.sql
        settings = run.settings
        today_sql, today = sql.date_param(run.as_of.date())
        inactive = sql.date_diff(today_sql, "l.last_day")
        previous = "LAG(day) OVER (PARTITION BY profile_id ORDER BY day)"
        components = sql.json_object(
            {
                "days_inactive": "days_inactive",
                "median_gap_days": "median_gap",
                "active_days": "active_days",
            }
        )
        text = f"""
            WITH days AS (
                SELECT DISTINCT e.profile_id, {sql.day("e.timestamp")} AS day
                FROM events_event e
                WHERE e.workspace_id = %s AND e.profile_id IS NOT NULL AND e.timestamp <= %s
                  AND {activity_filter()}
            ), gaps AS (
                SELECT profile_id, {sql.date_diff("day", previous)} AS gap FROM days
            ), ordered AS (
                SELECT profile_id, gap,
                       ROW_NUMBER() OVER (PARTITION BY profile_id ORDER BY gap) AS rn,
                       COUNT(*) OVER (PARTITION BY profile_id) AS n
                FROM gaps WHERE gap IS NOT NULL
            ), medians AS (
                SELECT profile_id, AVG(gap * 1.0) AS median_gap
                FROM ordered WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
                GROUP BY profile_id
            ), latest AS (
                SELECT l.*, {inactive} AS days_inactive
                FROM (
                    SELECT profile_id, COUNT(*) AS active_days, MAX(day) AS last_day
                    FROM days GROUP BY profile_id
                ) l
            )
            SELECT l.profile_id, l.days_inactive AS value,
                   CASE WHEN l.days_inactive >= %s THEN 'dormant'
                        WHEN l.days_inactive >= %s THEN 'at_risk'
                        WHEN m.median_gap IS NOT NULL
                             AND l.days_inactive >= %s * m.median_gap THEN 'drifting'
                        ELSE 'active' END AS cell,
                   {components} AS components
            FROM latest l LEFT JOIN medians m ON m.profile_id = l.profile_id
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
        params = [
            run.workspace_id,
            run.sql.ts(run.as_of),
            today,
            settings.dormancy_dormant_days,
            settings.dormancy_at_risk_days,
            settings.dormancy_overdue_factor,
        ]
        return text, params
