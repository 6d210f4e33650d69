"""Customer Engagement Score, 0 to 100, with its five components beside it.

Each component is between 0 and 1:

- recency: 1 on the day of the last activity, falling linearly to 0 at the
  workspace's dormancy threshold (120 days by default);
- frequency: the customer's place (cumulative share) among the workspace's
  customers by activity events in the window; 0 without activity;
- breadth: channels the customer responded on in the window, over the
  channels the workspace delivered on in the window;
- monetary: the customer's place among the workspace's customers by revenue
  (all purchases up to now); 0 without purchases;
- response_rate: responses per delivered message in the window, capped at 1.

The total is ``100 * sum(weight * component) / sum(weights)``.
"""

from datetime import timedelta

from engage.plugins import hookimpl
from engage.plugins.base import Run, ScoringModel, SettingField
from engage.scoring import validation
from engage.scoring.kinds import IS_ACTIVITY, IS_DELIVERY, IS_RESPONSE
from engage.scoring.shared_settings import (
    DORMANT_DAYS,
    PURCHASE_EVENT,
    REVENUE_PROPERTY,
    WINDOW_DAYS,
    check_shared,
)


def _place(column: str) -> str:
    return f"CASE WHEN {column} > 0 THEN CUME_DIST() OVER (ORDER BY {column}) ELSE 0 END"


class CES(ScoringModel):
    id = "ces"
    name = "Customer Engagement Score"
    settings_schema = (
        SettingField(
            "ces_weights",
            "json",
            default=validation.DEFAULT_CES_WEIGHTS,
            help="Weight of each component: recency, frequency, breadth, monetary, "
            "response_rate (a missing one weighs 0).",
        ),
        PURCHASE_EVENT,
        REVENUE_PROPERTY,
        WINDOW_DAYS,
        DORMANT_DAYS,
    )

    @classmethod
    def check_settings(cls, settings):
        errors = check_shared(settings)
        try:
            validation.check_ces_weights(settings["ces_weights"])
        except validation.SettingsInvalid as exc:
            errors["ces_weights"] = str(exc)
        return errors

    def select(self, run: Run) -> tuple[str, list]:
        sql = run.sql
        settings = self.settings
        weights = validation.check_ces_weights(settings["ces_weights"])
        total_weight = sum(weights.values())
        revenue, revenue_params = sql.number_property("e.properties", settings["revenue_property"])
        kinds, kinds_params = run.kinds
        activity = IS_ACTIVITY
        in_window = "e.timestamp > %s"
        horizon = float(settings["dormancy_dormant_days"])
        recency = sql.greatest("0", f"1 - {sql.days_between('%s', 'last_at')} / {horizon}")
        components = sql.json_object(
            {
                "recency": "recency",
                "frequency": "frequency",
                "breadth": "breadth",
                "monetary": "monetary",
                "response_rate": "response_rate",
                "days_since_activity": "days_since_activity",
                "activity_events": "activity",
                "revenue": "revenue",
                "delivered": "delivered",
                "responses": "responses",
                "channels": "channels",
            }
        )
        weighted = " + ".join(f"%s * {name}" for name in validation.CES_COMPONENTS)
        text = f"""
            WITH {kinds}, totals AS (
                SELECT e.profile_id,
                       MAX(CASE WHEN {activity} THEN e.timestamp END) AS last_at,
                       SUM(CASE WHEN {activity} AND {in_window} THEN 1 ELSE 0 END) AS activity,
                       SUM(CASE WHEN e.name = %s THEN {revenue} ELSE 0 END) AS revenue,
                       SUM(CASE WHEN {IS_DELIVERY} AND {in_window} THEN 1 ELSE 0 END) AS delivered,
                       SUM(CASE WHEN {IS_RESPONSE} AND {in_window} THEN 1 ELSE 0 END) AS responses
                FROM events_event e LEFT JOIN kinds k ON k.name = e.name
                WHERE e.workspace_id = %s AND e.profile_id IS NOT NULL AND e.timestamp <= %s
                GROUP BY e.profile_id
            ), responded AS (
                SELECT e.profile_id, COUNT(DISTINCT k.channel) AS channels
                FROM events_event e JOIN kinds k ON k.name = e.name AND {IS_RESPONSE}
                WHERE e.workspace_id = %s AND e.profile_id IS NOT NULL
                  AND {in_window} AND e.timestamp <= %s
                GROUP BY e.profile_id
            ), workspace_channels AS (
                SELECT COUNT(DISTINCT k.channel) AS n
                FROM kinds k
                WHERE {IS_DELIVERY} AND EXISTS (
                    SELECT 1 FROM events_event e
                    WHERE e.workspace_id = %s AND e.name = k.name AND {in_window}
                      AND e.timestamp <= %s
                )
            ), parts AS (
                SELECT t.profile_id, t.activity, t.revenue, t.delivered, t.responses,
                       COALESCE(r.channels, 0) AS channels,
                       CASE WHEN t.last_at IS NULL THEN NULL
                            ELSE {sql.days_between("%s", "t.last_at")} END AS days_since_activity,
                       CASE WHEN t.last_at IS NULL THEN 0 ELSE {recency} END AS recency,
                       {_place("t.activity")} AS frequency,
                       CASE WHEN w.n > 0
                            THEN {sql.least("1.0", "COALESCE(r.channels, 0) * 1.0 / w.n")}
                            ELSE 0 END
                           AS breadth,
                       {_place("t.revenue")} AS monetary,
                       CASE WHEN t.delivered > 0
                            THEN {sql.least("1.0", "t.responses * 1.0 / t.delivered")} ELSE 0 END
                           AS response_rate
                FROM totals t CROSS JOIN workspace_channels w
                LEFT JOIN responded r ON r.profile_id = t.profile_id
            )
            SELECT profile_id, 100.0 * ({weighted}) / %s AS value, '' AS cell,
                   {components} AS components
            FROM parts
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
        as_of = sql.ts(run.as_of)
        start = sql.ts(run.as_of - timedelta(days=settings["responsiveness_window_days"]))
        params = [
            *kinds_params,
            # totals
            start,
            settings["purchase_event"],
            *revenue_params,
            start,
            start,
            run.workspace_id,
            as_of,
            # responded
            run.workspace_id,
            start,
            as_of,
            # workspace_channels
            run.workspace_id,
            start,
            as_of,
            # parts
            as_of,
            as_of,
            # total
            *(weights[name] for name in validation.CES_COMPONENTS),
            total_weight,
        ]
        return text, params


@hookimpl
def engage_scoring_models():
    return [CES]
