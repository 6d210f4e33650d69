"""Intent: recent high-intent behaviour, from the workspace's rules.

A rule matches a customer when every one of its conditions holds: at least
``at_least`` events named ``event`` (with properties equal to ``where``, if
given) in the last ``within_days`` days. The customer gets the level and
score of the best-scoring matching rule; customers matching no rule get no
intent row. Components: the index of the matched rule and its condition counts.
"""

from datetime import timedelta

from engage.plugins import hookimpl
from engage.plugins.base import Run, ScoringModel, SettingField
from engage.scoring import validation


class Intent(ScoringModel):
    id = "intent"
    name = "Intent"
    settings_schema = (
        SettingField(
            "intent_rules",
            "json",
            default=validation.DEFAULT_INTENT_RULES,
            help='Rules like {"level": "high", "score": 90, "all": [{"event": "Pricing Viewed", '
            '"at_least": 3, "within_days": 2}]}; the best-scoring matching rule wins.',
        ),
    )

    @classmethod
    def check_settings(cls, settings):
        try:
            validation.check_intent_rules(settings["intent_rules"])
        except validation.SettingsInvalid as exc:
            return {"intent_rules": str(exc)}
        return {}

    def select(self, run: Run) -> tuple[str, list]:
        sql = run.sql
        rules = self.settings["intent_rules"]
        if not rules:
            # Nothing, with the column types of a score row.
            return "SELECT profile_id, value, cell, components FROM scoring_score WHERE 1 = 0", []
        counts, count_params = [], []
        names: list[str] = []
        longest = 0.0
        for i, rule in enumerate(rules):
            for j, cond in enumerate(rule["all"]):
                test = "e.name = %s AND e.timestamp > %s"
                params = [cond["event"], sql.ts(run.as_of - timedelta(days=cond["within_days"]))]
                for key, value in cond.get("where", {}).items():
                    clause, clause_params = sql.property_equals("e.properties", key, value)
                    test += f" AND {clause}"
                    params += clause_params
                counts.append(f"SUM(CASE WHEN {test} THEN 1 ELSE 0 END) AS c{i}_{j}")
                count_params += params
                names.append(cond["event"])
                longest = max(longest, cond["within_days"])
        # Best score first; on equal scores, the earlier rule.
        order = sorted(range(len(rules)), key=lambda i: (-rules[i]["score"], i))
        matches = {
            i: " AND ".join(
                f"c{i}_{j} >= {int(cond.get('at_least', 1))}" for j, cond in enumerate(rule["all"])
            )
            for i, rule in enumerate(rules)
        }
        level = value = rule_index = components = "CASE"
        for i in order:
            counts_json = sql.json_array([f"c{i}_{j}" for j in range(len(rules[i]["all"]))])
            level += f" WHEN {matches[i]} THEN %s"
            value += f" WHEN {matches[i]} THEN %s"
            rule_index += f" WHEN {matches[i]} THEN {i}"
            components += f" WHEN {matches[i]} THEN {counts_json}"
        components_json = sql.json_object({"rule": "rule", "counts": sql.json_value("counts")})
        distinct = sorted(set(names))
        text = f"""
            WITH counted AS (
                SELECT e.profile_id, {", ".join(counts)}
                FROM events_event e
                WHERE e.workspace_id = %s AND e.profile_id IS NOT NULL
                  AND e.name IN ({", ".join(["%s"] * len(distinct))})
                  AND e.timestamp > %s AND e.timestamp <= %s
                GROUP BY e.profile_id
            ), matched AS (
                SELECT profile_id, {level} END AS cell, {value} END AS value,
                       {rule_index} END AS rule, {components} END AS counts
                FROM counted
            )
            SELECT profile_id, value, cell, {components_json} AS components
            FROM matched WHERE cell IS NOT NULL
        """  # noqa: S608 (SQL from fixed pieces; every value is a parameter)
        cases_params = [rules[i]["level"] for i in order] + [
            float(rules[i]["score"]) for i in order
        ]
        params = [
            *count_params,
            run.workspace_id,
            *distinct,
            sql.ts(run.as_of - timedelta(days=longest)),
            sql.ts(run.as_of),
            *cases_params,
        ]
        return text, params


@hookimpl
def engage_scoring_models():
    return [Intent]
