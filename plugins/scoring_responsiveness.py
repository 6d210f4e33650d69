"""Channel responsiveness: responses per delivered message, per customer and channel.

Over the workspace's window (30 to 90 days), every "<Channel> Delivered"
event counts as a delivery and every "<Channel> Opened", "Clicked" or
"Replied" as a response on that channel. The value is the customer's
responses per delivery over all channels; the cell is the preferred channel:
the best rate among channels with at least ``min_delivered`` deliveries, else
the workspace's default channel. Per-channel figures are the components.
"""

from datetime import timedelta

from engage.plugins import hookimpl
from engage.plugins.base import Run, ScoringModel, SettingField
from engage.scoring.shared_settings import MAX_DAYS, WINDOW_DAYS, between, check_shared, text


class Responsiveness(ScoringModel):
    id = "responsiveness"
    name = "Channel responsiveness"
    settings_schema = (
        WINDOW_DAYS,
        SettingField(
            "min_delivered",
            "integer",
            default=3,
            help="Deliveries a channel needs before it can be a customer's preferred channel.",
        ),
        SettingField(
            "default_channel",
            default="email",
            help="Preferred channel of customers without enough evidence.",
        ),
    )

    @classmethod
    def check_settings(cls, settings):
        return {
            **check_shared(settings),
            **between(settings, "min_delivered", 1, MAX_DAYS),
            **text(settings, "default_channel", 64),
        }

    def select(self, run: Run) -> tuple[str, list]:
        sql = run.sql
        settings = self.settings
        window = settings["responsiveness_window_days"]
        kinds, kinds_params = run.kinds
        rate = "CASE WHEN delivered > 0 THEN responses * 1.0 / delivered ELSE 0 END"
        per_channel = sql.json_object(
            {"delivered": "delivered", "responses": "responses", "rate": "rate"}
        )
        components = sql.json_object(
            {"window_days": "%s", "channels": sql.object_agg("channel", per_channel)}
        )
        text = f"""
            WITH {kinds}, per_channel AS (
                SELECT e.profile_id, k.channel,
                       SUM(k.delivery) AS delivered, SUM(k.response) AS responses
                FROM events_event e
                JOIN kinds k ON k.name = e.name AND (k.delivery = 1 OR k.response = 1)
                WHERE e.workspace_id = %s AND e.profile_id IS NOT NULL
                  AND e.timestamp > %s AND e.timestamp <= %s
                GROUP BY e.profile_id, k.channel
            ), rated AS (
                SELECT c.*, {rate} AS rate,
                       ROW_NUMBER() OVER (
                           PARTITION BY profile_id
                           ORDER BY CASE WHEN delivered >= %s THEN 1 ELSE 0 END DESC,
                                    {rate} DESC, delivered DESC, channel
                       ) AS rn
                FROM per_channel c
            )
            SELECT profile_id,
                   CASE WHEN SUM(delivered) > 0
                        THEN SUM(responses) * 1.0 / SUM(delivered) ELSE 0 END AS value,
                   COALESCE(MAX(CASE WHEN rn = 1 AND delivered >= %s THEN channel END), %s)
                       AS cell,
                   {components} AS components
            FROM rated
            GROUP BY profile_id
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
        params = [
            *kinds_params,
            run.workspace_id,
            sql.ts(run.as_of - timedelta(days=window)),
            sql.ts(run.as_of),
            settings["min_delivered"],
            settings["min_delivered"],
            settings["default_channel"],
            window,
        ]
        return text, params


@hookimpl
def engage_scoring_models():
    return [Responsiveness]
