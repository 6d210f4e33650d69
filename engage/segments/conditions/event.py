"""``{"event": {"name": "purchase", "at_least": 2, "within_days": 30}}``: what
the profile did — whether, how often, first or last, in a window, with
property filters.

Each test becomes an ``EXISTS`` probe ("did X"), or an
``IN (SELECT profile_id … GROUP BY profile_id HAVING …)`` for counts and
first/last occurrences, so PostgreSQL answers with semi/anti joins over the
``(workspace, name, timestamp, profile)`` and ``(profile, name, timestamp)``
event indexes instead of a loop over profiles (see docs/performance.md).
The real-time re-check, over a given few profiles, asks counts and
occurrences per profile instead (a correlated ``EXISTS … HAVING``).
"""

import datetime

from engage.events.models import Event

from .. import schema
from . import value

KIND = "event"
EVENTS = Event._meta.db_table
OCCURRENCES = ("first", "last")
MAX_NAME = 200
MAX_COUNT = 1_000_000
OPTIONAL = {"did", "where", "at_least", "at_most", "within_days", "older_than_days", "occurrence"}


def validate(checker, body, path: str) -> None:
    if not checker.fields(body, path, {"name"}, OPTIONAL):
        return
    name = body["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        checker.error(
            f"{path}.name", f"must be a non-empty string of at most {MAX_NAME} characters"
        )
    if "did" in body and not isinstance(body["did"], bool):
        checker.error(f"{path}.did", "must be true or false")
    where = body.get("where", [])
    if not isinstance(where, list):
        checker.error(f"{path}.where", "must be a list of property filters")
    else:
        for i, flt in enumerate(where):
            fpath = f"{path}.where[{i}]"
            if checker.fields(flt, fpath, {"property", "op"}, {"value"}):
                checker.json_path(flt["property"], f"{fpath}.property")
                value.validate(checker, flt, fpath)
    for name in ("within_days", "older_than_days"):
        if name in body:
            checker.integer(body[name], f"{path}.{name}", 1, schema.MAX_DAYS)
    within, older = body.get("within_days"), body.get("older_than_days")
    if value.is_int(within) and value.is_int(older) and older >= within:
        checker.error(f"{path}.older_than_days", "must be less than within_days")
    if "occurrence" in body:
        if body["occurrence"] not in OCCURRENCES:
            checker.error(f"{path}.occurrence", "must be 'first' or 'last'")
        for name in ("at_least", "at_most"):
            if name in body:
                checker.error(f"{path}.{name}", "cannot be combined with occurrence")
        return
    least_ok = "at_least" not in body or checker.integer(
        body["at_least"], f"{path}.at_least", 0, MAX_COUNT
    )
    most_ok = "at_most" not in body or checker.integer(
        body["at_most"], f"{path}.at_most", 0, MAX_COUNT
    )
    least = body.get("at_least", 1)
    if least_ok and most_ok and "at_most" in body and body["at_most"] < least:
        checker.error(f"{path}.at_most", f"must be at least at_least ({least})")
    if least_ok and least == 0 and "at_most" not in body:
        checker.error(f"{path}.at_least", "0 needs at_most (otherwise every profile matches)")


def to_sql(compiler, body: dict) -> tuple[str, list]:
    sql, params = _did(compiler, body)
    if body.get("did", True):
        return sql, params
    return f"NOT ({sql})", params


def _did(compiler, body: dict) -> tuple[str, list]:
    where = ["e.workspace_id = %s", "e.name = %s", "e.timestamp <= %s"]
    params = [compiler.workspace_id, body["name"], compiler.d.ts(compiler.now)]
    for flt in body.get("where", []):
        sql, ps = value.to_sql(
            compiler, "e.properties", flt["property"], flt["op"], flt.get("value")
        )
        where.append(f"({sql})")
        params += ps
    lower, upper = _window(compiler, body)
    if "occurrence" in body:
        aggregate = "MIN" if body["occurrence"] == "first" else "MAX"
        having, having_params = [], []
        if lower is not None:
            having.append(f"{aggregate}(e.timestamp) >= %s")
            having_params.append(lower)
        if upper is not None:
            having.append(f"{aggregate}(e.timestamp) < %s")
            having_params.append(upper)
        if not having:  # first or last ever: the event happened at all
            return _exists(where, params)
        return _grouped(compiler, where, params, " AND ".join(having), having_params, "IN")
    if lower is not None:
        where.append("e.timestamp >= %s")
        params.append(lower)
    if upper is not None:
        where.append("e.timestamp < %s")
        params.append(upper)
    least, most = body.get("at_least", 1), body.get("at_most")
    if least == 0:  # at most N, none included: nobody with more than N
        return _grouped(compiler, where, params, "COUNT(*) > %s", [most], "NOT IN")
    if least == 1 and most is None:
        return _exists(where, params)
    having, having_params = "COUNT(*) >= %s", [least]
    if most is not None:
        having += " AND COUNT(*) <= %s"
        having_params.append(most)
    return _grouped(compiler, where, params, having, having_params, "IN")


def _window(compiler, body: dict):
    lower = upper = None
    if "within_days" in body:
        lower = compiler.now - datetime.timedelta(days=body["within_days"])
        lower = compiler.d.ts(lower)
    if "older_than_days" in body:
        upper = compiler.now - datetime.timedelta(days=body["older_than_days"])
        upper = compiler.d.ts(upper)
    return lower, upper


def _exists(where: list[str], params: list) -> tuple[str, list]:
    conditions = " AND ".join(["e.profile_id = p.id", *where])
    sql = f"EXISTS (SELECT 1 FROM {EVENTS} e WHERE {conditions})"  # noqa: S608 - table/column names are constants, values are params
    return sql, params


def _grouped(compiler, where, params, having, having_params, membership) -> tuple[str, list]:
    if compiler.per_profile:
        # A re-check of a few hundred profiles: one probe of the per-profile
        # index each. As a semi-join PostgreSQL could re-run the whole
        # grouped subquery for every profile when it underestimated them
        # (20 segments, 500 customers: 78 ms a round, against 10 ms).
        negate = "NOT " if membership == "NOT IN" else ""
        conditions = " AND ".join(["e.profile_id = p.id", *where])
        sql = (
            f"{negate}EXISTS (SELECT 1 FROM {EVENTS} e WHERE {conditions}"  # noqa: S608 - table/column names are constants, values are params
            f" GROUP BY e.profile_id HAVING {having})"
        )
        return sql, [*params, *having_params]
    sql = (
        f"p.id {membership} (SELECT e.profile_id FROM {EVENTS} e WHERE "  # noqa: S608 - table/column names are constants, values are params
        f"{' AND '.join([*where, 'e.profile_id IS NOT NULL'])} GROUP BY e.profile_id"
        f" HAVING {having})"
    )
    return sql, [*params, *having_params]


def matches(body: dict, event, *, now: datetime.datetime) -> bool:
    """Whether one event (its ``name`` and ``properties``) is of this name and
    passes every ``where`` filter: what a journey asks of an incoming event.
    ``did``, counts and windows are about a customer's history, not one
    event, and are not read here."""
    return event.name == body["name"] and all(
        value.matches(event.properties, f["property"], f["op"], f.get("value"), now=now)
        for f in body.get("where", [])
    )


def describe(body: dict, segment_names: dict[int, str]) -> str:
    did = body.get("did", True)
    name = body["name"]
    if "occurrence" in body:
        text = f"{body['occurrence']} did {name}"
        if not did:
            return f"not ({text}{_filters(body)}{_window_text(body)})"
    else:
        text = f"did {name}" if did else f"did not do {name}"
        least, most = body.get("at_least", 1), body.get("at_most")
        if most is not None and least == most:
            text += f" exactly {least} time{'s' if least != 1 else ''}"
        elif most is not None:
            text += (
                f" at most {most} times (or never)" if least == 0 else f" {least} to {most} times"
            )
        elif least > 1:
            text += f" at least {least} times"
    return text + _filters(body) + _window_text(body)


def _filters(body: dict) -> str:
    where = body.get("where", [])
    if not where:
        return ""
    return " with " + " and ".join(
        value.describe(f["property"], f["op"], f.get("value")) for f in where
    )


def _window_text(body: dict) -> str:
    within, older = body.get("within_days"), body.get("older_than_days")
    if within and older:
        return f" between {older} and {within} days ago"
    if within:
        return f" in the last {within} days"
    if older:
        return f" more than {older} days ago"
    return ""


def dependencies(body: dict) -> schema.Dependencies:
    return schema.Dependencies(
        event_names=frozenset({body["name"]}),
        trait_keys=frozenset(),
        profile_data=False,
        # a window slides with no event at all.
        time_dependent="within_days" in body or "older_than_days" in body,
    )
