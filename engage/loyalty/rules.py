"""What a point rule earns for an event, and the checks that refuse a rule
that would not parse.

A rule's ``where`` filters are the segments' event filters (``{"property",
"op", "value"}``), checked by the same code and tested with ``matches``,
which follows the segments' SQL typing rules: a filter means the same here
as in a segment. Errors are ``{field: [reason]}``, a filter's reason starting
with its path (``where[1].op: unknown operator``), so the admin shows each
under its field.
"""

import math
from decimal import Decimal, InvalidOperation

from engage.segments.conditions import value
from engage.segments.validation import Checker

MAX_BONUS = 1_000_000
MAX_WHERE = 20


def point_rule_errors(
    *, event: str, property: str, points_per_unit, bonus, where
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    checker = Checker()
    if not isinstance(event, str) or not event.strip():
        errors["event"] = ["is required: the event name that earns, e.g. Order Completed"]
    if property:
        checker.json_path(property, "property")
    if points_per_unit is not None:
        if not property:
            errors["property"] = ["is required with points_per_unit: the numeric property"]
        rate = _number(points_per_unit)
        if rate is None or rate <= 0:
            errors["points_per_unit"] = ["must be more than 0"]
    elif property:
        errors["points_per_unit"] = ["is required with property"]
    if bonus is not None and not (value.is_int(bonus) and 0 < bonus <= MAX_BONUS):
        errors["bonus"] = [f"must be from 1 to {MAX_BONUS}"]
    if points_per_unit is None and bonus is None and not property:
        errors["bonus"] = ["give points_per_unit with a property, a bonus, or both"]
    if not isinstance(where, list) or len(where) > MAX_WHERE:
        checker.error("where", f"must be a list of at most {MAX_WHERE} property filters")
    else:
        for i, flt in enumerate(where):
            path = f"where[{i}]"
            if checker.fields(flt, path, {"property", "op"}, {"value"}):
                checker.json_path(flt["property"], f"{path}.property")
                value.validate(checker, flt, path)
    for item in checker.errors:
        path, _, reason = item.partition(": ")
        field = path.split("[", 1)[0].split(".", 1)[0]
        errors.setdefault(field, []).append(reason if field == path else item)
    return errors


def tier_errors(*, name: str, threshold, window_days) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["is required"]
    amount = _number(threshold)
    if amount is None or amount < 0:
        errors["threshold"] = ["must be 0 or more"]
    if window_days is not None and not (value.is_int(window_days) and window_days >= 1):
        errors["window_days"] = ["must be at least 1 day, or empty for ever"]
    return errors


def programme_errors(*, spend_property: str) -> dict[str, list[str]]:
    """Spend is summed in SQL from a top-level property, so no dots here."""
    checker = Checker()
    checker.json_path(spend_property, "spend_property")
    if checker.errors or "." in spend_property:
        return {"spend_property": ["must be a top-level property name (letters, digits, _ or -)"]}
    return {}


def _number(given) -> Decimal | None:
    """``given`` as a finite Decimal, or None (a form may hand over raw text
    its field already refused)."""
    try:
        number = Decimal(str(given))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def points_for(rule, properties: dict, *, now) -> int:
    """Whole points ``rule`` gives an event with ``properties`` (rounded down);
    0 when a filter does not match. An amount that is missing, not a JSON
    number or not positive earns nothing, the bonus still counts: a refund is
    an adjustment, never negative earnings."""
    data = properties if isinstance(properties, dict) else {}
    for flt in rule.where:
        if not value.matches(data, flt["property"], flt["op"], flt.get("value"), now=now):
            return 0
    points = rule.bonus or 0
    if rule.points_per_unit is not None:
        amount = value.lookup(data, rule.property)
        if not value.is_int(amount) and not (isinstance(amount, float) and math.isfinite(amount)):
            return points
        if amount > 0:
            points += math.floor(Decimal(str(amount)) * rule.points_per_unit)
    return max(points, 0)
