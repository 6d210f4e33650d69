"""Checks of the JSON settings an operator writes (CES weights, intent rules).

Every error names the path of the bad value, e.g.
``intent_rules[0].all[1].within_days: must be a number of days between 0 and 365``,
so an operator editing a long rule list knows where to look.
"""

import re
from typing import Any

from engage.events.ingestion.validation import unstorable_text

CES_COMPONENTS = ("recency", "frequency", "breadth", "monetary", "response_rate")
DEFAULT_CES_WEIGHTS = {
    "recency": 25,
    "frequency": 25,
    "breadth": 10,
    "monetary": 20,
    "response_rate": 20,
}
DEFAULT_INTENT_RULES = [
    {
        "level": "high",
        "score": 90,
        "all": [
            {"event": "Pricing Viewed", "at_least": 3, "within_days": 2},
            {"event": "Guide Downloaded", "at_least": 1, "within_days": 2},
        ],
    },
    {
        "level": "medium",
        "score": 60,
        "all": [{"event": "Pricing Viewed", "at_least": 1, "within_days": 7}],
    },
]

MAX_INTENT_RULES = 20
MAX_CONDITIONS = 10
MAX_WINDOW_DAYS = 365
LEVEL = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Property names become JSON paths in SQL parameters: no quotes, dots or brackets.
PROPERTY = re.compile(r"^[A-Za-z0-9_\- ]{1,100}$")


class SettingsInvalid(ValueError):
    """``errors`` is a list of ``(path, reason)``."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {reason}" for path, reason in errors))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_ces_weights(weights: Any, path: str = "ces_weights") -> dict[str, float]:
    """The weights with every component present (missing ones weigh 0)."""
    if not isinstance(weights, dict):
        raise SettingsInvalid([(path, "must be an object of component: weight")])
    errors = []
    for key, value in weights.items():
        if key not in CES_COMPONENTS:
            errors.append((f"{path}.{key}", f"unknown component; use {', '.join(CES_COMPONENTS)}"))
        elif not _number(value) or value < 0:
            errors.append((f"{path}.{key}", "must be a number >= 0"))
    if not errors and not any(weights.get(key, 0) > 0 for key in CES_COMPONENTS):
        errors.append((path, "at least one weight must be above 0"))
    if errors:
        raise SettingsInvalid(errors)
    return {key: float(weights.get(key, 0)) for key in CES_COMPONENTS}


def _check_condition(cond: Any, path: str, errors: list) -> None:
    if not isinstance(cond, dict):
        errors.append((path, "must be an object with event, at_least and within_days"))
        return
    for key in cond:
        if key not in ("event", "at_least", "within_days", "where"):
            reason = "unknown field; use event, at_least, within_days, where"
            errors.append((f"{path}.{key}", reason))
    event = cond.get("event")
    if not isinstance(event, str) or not event.strip() or len(event) > 200:
        errors.append((f"{path}.event", "required: an event name of 1 to 200 characters"))
    at_least = cond.get("at_least", 1)
    if not isinstance(at_least, int) or isinstance(at_least, bool) or not 1 <= at_least <= 10000:
        errors.append((f"{path}.at_least", "must be an integer between 1 and 10000"))
    within = cond.get("within_days")
    if not _number(within) or not 0 < within <= MAX_WINDOW_DAYS:
        reason = f"required: a number of days above 0, at most {MAX_WINDOW_DAYS}"
        errors.append((f"{path}.within_days", reason))
    where = cond.get("where", {})
    if not isinstance(where, dict):
        errors.append((f"{path}.where", "must be an object of property: value"))
        return
    for prop, value in where.items():
        if not PROPERTY.match(prop):
            errors.append(
                (f"{path}.where.{prop}", "property names use letters, digits, _, - and spaces")
            )
        elif not isinstance(value, str | int | float | bool):
            errors.append((f"{path}.where.{prop}", "must be a string, number or boolean"))


def check_intent_rules(rules: Any, path: str = "intent_rules") -> list[dict]:
    """Rules as given, once every rule and condition is valid."""
    if not isinstance(rules, list):
        raise SettingsInvalid([(path, "must be a list of rules")])
    if len(rules) > MAX_INTENT_RULES:
        raise SettingsInvalid([(path, f"at most {MAX_INTENT_RULES} rules")])
    # Rules are stored as jsonb, which holds no NUL and no lone surrogate.
    errors: list[tuple[str, str]] = list(unstorable_text(rules, path))
    levels = set()
    for i, rule in enumerate(rules):
        here = f"{path}[{i}]"
        if not isinstance(rule, dict):
            errors.append((here, "must be an object with level, score and all"))
            continue
        for key in rule:
            if key not in ("level", "score", "all"):
                errors.append((f"{here}.{key}", "unknown field; use level, score, all"))
        level = rule.get("level")
        if not isinstance(level, str) or not LEVEL.match(level):
            errors.append((f"{here}.level", "required: lower-case name like 'high' (a-z, 0-9, _)"))
        elif level in levels:
            errors.append((f"{here}.level", f"{level!r} is used by an earlier rule"))
        else:
            levels.add(level)
        score = rule.get("score")
        if not _number(score) or not 0 <= score <= 100:
            errors.append((f"{here}.score", "required: a number from 0 to 100"))
        conditions = rule.get("all")
        if not isinstance(conditions, list) or not 1 <= len(conditions) <= MAX_CONDITIONS:
            errors.append((f"{here}.all", f"required: a list of 1 to {MAX_CONDITIONS} conditions"))
            continue
        for j, cond in enumerate(conditions):
            _check_condition(cond, f"{here}.all[{j}]", errors)
    if errors:
        raise SettingsInvalid(errors)
    return rules
