"""RFM: recency, frequency and monetary quintiles from purchase events.

Each customer with at least one purchase (the workspace's purchase event) up
to the computation time gets R, F and M from 1 to 5 by rank within the
workspace: ``1 + 5 * (rank - 1) / customers`` with ``RANK()``, so equal
values share a quintile (NTILE would split a tie across two). A later last
purchase, more purchases and more revenue score higher. The value is
``R*100 + F*10 + M`` (555 is best); the cell comes from R and F only, with
the usual RFM segment map (docs/scoring.md).
"""

from engage.plugins import hookimpl
from engage.plugins.base import Run, ScoringModel
from engage.scoring.shared_settings import PURCHASE_EVENT, REVENUE_PROPERTY, check_shared

# (condition on r and f, cell), first match wins: the usual R/F grid, with
# the bottom corner (R=1, F=1) told apart from the rest of "hibernating".
CELLS = (
    ("r = 1 AND f = 1", "lost"),
    ("r <= 2 AND f <= 2", "hibernating"),
    ("r <= 2 AND f <= 4", "at_risk"),
    ("r <= 2", "cant_lose"),
    ("r = 3 AND f <= 2", "about_to_sleep"),
    ("r = 3 AND f = 3", "need_attention"),
    ("r <= 4 AND f >= 4", "loyal"),
    ("r = 4 AND f = 1", "promising"),
    ("r = 5 AND f = 1", "new"),
    ("f <= 3", "potential_loyalist"),
    ("TRUE", "champions"),
)


def quintile(order_by: str) -> str:
    return f"1 + (5 * (RANK() OVER (ORDER BY {order_by}) - 1)) / COUNT(*) OVER ()"


class RFM(ScoringModel):
    id = "rfm"
    name = "RFM quintiles"
    settings_schema = (PURCHASE_EVENT, REVENUE_PROPERTY)

    @classmethod
    def check_settings(cls, settings):
        return check_shared(settings)

    def select(self, run: Run) -> tuple[str, list]:
        sql = run.sql
        settings = self.settings
        revenue, revenue_params = sql.number_property("e.properties", settings["revenue_property"])
        cell = " ".join(f"WHEN {cond} THEN '{name}'" for cond, name in CELLS)
        components = sql.json_object(
            {
                "r": "r",
                "f": "f",
                "m": "m",
                "recency_days": sql.days_between("%s", "last_at"),
                "frequency": "frequency",
                "monetary": "monetary",
            }
        )
        text = f"""
            WITH purchases AS (
                SELECT e.profile_id, MAX(e.timestamp) AS last_at, COUNT(*) AS frequency,
                       SUM({revenue}) AS monetary
                FROM events_event e
                WHERE e.workspace_id = %s AND e.name = %s AND e.profile_id IS NOT NULL
                  AND e.timestamp <= %s
                GROUP BY e.profile_id
            ), ranked AS (
                SELECT p.*, {quintile("last_at")} AS r, {quintile("frequency")} AS f,
                       {quintile("monetary")} AS m
                FROM purchases p
            )
            SELECT profile_id, r * 100 + f * 10 + m AS value,
                   CASE {cell} END AS cell, {components} AS components
            FROM ranked
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
        as_of = sql.ts(run.as_of)
        params = [
            *revenue_params,
            run.workspace_id,
            settings["purchase_event"],
            as_of,
            as_of,
        ]
        return text, params


@hookimpl
def engage_scoring_models():
    return [RFM]
