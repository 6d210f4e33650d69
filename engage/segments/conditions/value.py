"""Tests on a JSON value: a trait, or a property of an event.

The operators (``equals``, ``between``, ``within_last_days``…) are shared by
the ``trait`` condition, an event's ``where`` filters and ``score``
thresholds, so each is checked, compiled and described here once.

``matches`` is the same test in Python, for one incoming event a journey
looks at (a trigger, a goal, a wait): it follows the SQL's typing rules on
both databases (tests/segments/test_matches_agree.py checks it does), so a
filter means the same in a segment and in a journey.
"""

import datetime
import json
import math
import operator

from .. import schema

COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
OPERATORS = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}
# What a path that leads nowhere finds (a JSON null is found, as None).
MISSING = object()
PHRASES = {
    "equals": "is",
    "not_equals": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "before": "is before",
    "after": "is after",
}


def validate(checker, body: dict, path: str) -> None:
    """Check ``op`` and the ``value`` it takes."""
    op, vpath = body["op"], f"{path}.value"
    if op not in schema.VALUE_OPS:
        checker.error(
            f"{path}.op",
            f"unknown operator {op!r} (expected one of {', '.join(schema.VALUE_OPS)})",
        )
        return
    if op in schema.PRESENCE_OPS:
        if "value" in body:
            checker.error(vpath, f"{op} takes no value")
        return
    if "value" not in body:
        checker.error(vpath, f"is required for {op}")
        return
    value = body["value"]
    if op in schema.SCALAR_OPS:
        if not _is_scalar(value):
            checker.error(vpath, "must be a string, a number or true/false")
    elif op in schema.LIST_OPS:
        if (
            not isinstance(value, list)
            or not 0 < len(value) <= schema.MAX_LIST_VALUES
            or not all(_is_scalar(v) for v in value)
        ):
            checker.error(
                vpath,
                f"must be a list of 1 to {schema.MAX_LIST_VALUES} strings, numbers or true/false",
            )
    elif op in schema.CONTAINS_OPS:
        if not (isinstance(value, str) or _is_number(value)):
            checker.error(vpath, "must be a string or a number")
    elif op in schema.NUMBER_OPS:
        if not _is_number(value):
            checker.error(vpath, "must be a number")
    elif op in schema.RANGE_OPS:
        if not (
            isinstance(value, list)
            and len(value) == 2
            and all(_is_number(v) for v in value)
            and value[0] <= value[1]
        ):
            checker.error(vpath, "must be [low, high]: two numbers, low <= high")
    elif op in schema.DATE_OPS:
        if not _is_date(value):
            checker.error(
                vpath, "must be an ISO-8601 date or time (2026-01-31 or 2026-01-31T12:00:00)"
            )
    elif op in schema.RELATIVE_DATE_OPS:
        checker.integer(value, vpath, 1, schema.MAX_DAYS)


def to_sql(compiler, column: str, key: str, op: str, value) -> tuple[str, list]:
    """The test on ``column``'s ``key``; never NULL (a missing key is false)."""
    d, path = compiler.d, key.split(".")
    if op in schema.PRESENCE_OPS:
        sql, params = d.present(column, path)
        sql = d.coalesce(sql)
        return (sql, params) if op == "exists" else (f"NOT {sql}", params)
    if op in schema.SCALAR_OPS or op in schema.LIST_OPS:
        values = value if op in schema.LIST_OPS else [value]
        parts = [d.equals(column, path, v) for v in values]
        sql = d.coalesce(" OR ".join(f"({s})" for s, _ in parts))
        params = [p for _, ps in parts for p in ps]
        return (sql, params) if op in ("equals", "in") else (f"NOT {sql}", params)
    if op == "contains":
        sql, params = d.contains(column, path, value)
    elif op in COMPARISONS:
        sql, params = d.compare(column, path, COMPARISONS[op], value)
    elif op == "between":
        low, low_params = d.compare(column, path, ">=", value[0])
        high, high_params = d.compare(column, path, "<=", value[1])
        sql, params = f"({low}) AND ({high})", low_params + high_params
    elif op in schema.DATE_OPS:
        sql, params = d.date_compare(
            column, path, "<" if op == "before" else ">", _date_text(value)
        )
    else:
        now = compiler.now
        cutoff = _date_text(now - datetime.timedelta(days=value))
        if op == "more_than_days_ago":
            sql, params = d.date_compare(column, path, "<", cutoff)
        else:
            low, low_params = d.date_compare(column, path, ">=", cutoff)
            high, high_params = d.date_compare(column, path, "<=", _date_text(now))
            sql, params = f"({low}) AND ({high})", low_params + high_params
    return d.coalesce(sql), params


def matches(data, key: str, op: str, value, *, now: datetime.datetime) -> bool:
    """The test of ``to_sql`` on ``data`` (a decoded JSON object) in Python.

    As in the SQL, a value of another JSON type never matches (``"30"`` is not
    30, ``true`` is not 1), a missing key or a null is false for every test
    but ``not_exists``, ``not_equals`` and ``not_in``, and dates are ISO-8601
    text compared to the second. A path walks objects only, as the SQL's
    equality does (PostgreSQL's ``#>`` would also index an array by a
    numeric part; SQLite's path does not).
    """
    found = lookup(data, key)
    if op in schema.PRESENCE_OPS:
        present = found is not MISSING and found is not None
        return present if op == "exists" else not present
    if op in schema.SCALAR_OPS or op in schema.LIST_OPS:
        values = value if op in schema.LIST_OPS else [value]
        hit = any(_same(found, v) for v in values)
        return hit if op in ("equals", "in") else not hit
    if op == "contains":
        if isinstance(value, str) and isinstance(found, str):
            return value in found
        return isinstance(found, list) and any(_same(item, value) for item in found)
    if op in OPERATORS:
        return _is_json_number(found) and OPERATORS[op](found, value)
    if op == "between":
        return _is_json_number(found) and value[0] <= found <= value[1]
    text = _stored_date_text(found)
    if text is None:
        return False
    if op == "before":
        return text < _date_text(value)
    if op == "after":
        return text > _date_text(value)
    cutoff = _date_text(now - datetime.timedelta(days=value))
    if op == "more_than_days_ago":
        return text < cutoff
    return cutoff <= text <= _date_text(now)


def lookup(data, key: str):
    """The value at a dotted path of objects, or ``MISSING``."""
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return MISSING
        data = data[part]
    return data


def describe(key: str, op: str, value) -> str:
    if op == "exists":
        return f"{key} is set"
    if op == "not_exists":
        return f"{key} is not set"
    if op == "between":
        return f"{key} is between {value[0]} and {value[1]}"
    if op == "more_than_days_ago":
        return f"{key} is more than {value} days ago"
    if op == "within_last_days":
        return f"{key} is within the last {value} days"
    if op in schema.LIST_OPS:
        return f"{key} {PHRASES[op]} {', '.join(json.dumps(v) for v in value)}"
    shown = value if op in schema.DATE_OPS else json.dumps(value)
    return f"{key} {PHRASES[op]} {shown}"


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _is_scalar(value) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def _same(found, value) -> bool:
    """JSON equality: same type (a boolean is not a number), then same value."""
    if isinstance(value, bool) or isinstance(found, bool):
        return found is value
    if isinstance(value, str):
        return isinstance(found, str) and found == value
    return _is_json_number(found) and found == value


def _is_json_number(found) -> bool:
    """A decoded JSON number (its integers may be too large for a float)."""
    return is_int(found) or (isinstance(found, float) and math.isfinite(found))


def _stored_date_text(found) -> str | None:
    """A stored value as the SQL compares it with a date, or None if it never is."""
    if not isinstance(found, str) or not schema.DATE_PREFIX.match(found):
        return None
    return found[:19].replace(" ", "T")


def _is_date(value) -> bool:
    if not isinstance(value, str) or not schema.DATE_PREFIX.match(value):
        return False
    try:
        datetime.date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def _date_text(value) -> str:
    """Dates are compared as ISO-8601 text in UTC, to the second (see docs/segments.md)."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return value[:19].replace(" ", "T")
