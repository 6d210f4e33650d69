"""A property filter means the same in SQL and in Python.

Segments test an event's properties in SQL; journeys test one incoming event
in Python (``matches``). Hypothesis draws properties shaped like what clients
send (nested objects, arrays, numbers of either kind, booleans, nulls,
date-like and not-quite-date text) and filters of every operator over the
same few keys and values, so that equal, contained and compared values are
common, and checks that Python agrees with the SQL on PostgreSQL (the
suite's database) and on SQLite (the embedded default, through Django's own
SQLite backend on an in-memory database).
"""

import datetime as dt
import json

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engage.dialect import Dialect
from engage.events.models import Event
from engage.segments import schema
from engage.segments.compiler import Compiler
from engage.segments.conditions import event, value

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
KEYS = ["a", "b", "c"]
# Integers and floats within 2**53 compare the same as JSON numerics and as
# Python numbers (beyond it a float's decimal text is not its binary value).
LIMIT = 2**53
TEXTS = [
    "",
    "a",
    "ab",
    "b",
    "A",
    "é",
    "30",
    "true",
    "2026-05-31",
    "2026-05-31T12:00:00Z",
    "2026-05-31 11:59:59",
    "2026-06-01T12:00:00",
    "2026-06-02",
    "2026-01-01T00:00:00+05:00",
    "2025-12-31T23:59:59.999Z",
    "2026-99-99",
    "26-05-31",
    " 2026-05-31",
]
# Values that collide across JSON types: a boolean and its number, a number
# and its text, an integer and its float.
TWINS = [0, 1, 0.0, 1.0, -0.0, True, False, "0", "1", "true", "false"]
DATES = ["2026-05-31", "2026-06-01T12:00:00", "2026-01-01 09:30:00", "2025-12-31T23:59:59Z"]

integers = st.integers(min_value=-LIMIT, max_value=LIMIT)
small_integers = st.integers(min_value=-3, max_value=3)
floats = st.floats(min_value=-LIMIT, max_value=LIMIT, allow_nan=False, allow_infinity=False)
numbers = st.one_of(
    st.sampled_from([v for v in TWINS if isinstance(v, int | float) and not isinstance(v, bool)]),
    small_integers,
    integers,
    floats,
    small_integers.map(float),
)
texts = st.one_of(
    st.sampled_from(TEXTS),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=4),
)
scalars = st.one_of(st.sampled_from(TWINS), numbers, texts, st.booleans())
json_values = st.recursive(
    st.one_of(st.none(), scalars),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.sampled_from(KEYS), children, max_size=3)
    ),
    max_leaves=6,
)
properties = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=3)
paths = st.lists(st.sampled_from(KEYS), min_size=1, max_size=2).map(".".join)


def leaves(data, prefix=()):
    """The (path, value) pairs a dotted path can reach in ``data``."""
    for key, found in data.items():
        path = (*prefix, key)
        yield ".".join(path), found
        if isinstance(found, dict):
            yield from leaves(found, path)


@st.composite
def cases(draw):
    """Properties, and filters that often aim at what they hold."""
    props = draw(properties)
    reachable = list(leaves(props))
    flts = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        aim = reachable and draw(st.booleans())
        path, found = draw(st.sampled_from(reachable)) if aim else (draw(paths), None)
        flts.append(draw(filters(path, found)))
    return props, flts


@st.composite
def filters(draw, path, found):
    """A filter of any operator on ``path``; its value is often ``found``,
    one of its items, or a value of another type that looks the same."""
    close = [found, *(found if isinstance(found, list) else [])]
    close = [v for v in close if v is not None and not isinstance(v, list | dict)]
    close += [twin for v in close for twin in lookalikes(v)]
    pick = st.one_of(st.sampled_from(close), scalars) if close else scalars
    op = draw(st.sampled_from(schema.VALUE_OPS))
    flt = {"property": path, "op": op, "value": None}
    if op in schema.SCALAR_OPS:
        flt["value"] = draw(pick)
    elif op in schema.LIST_OPS:
        flt["value"] = draw(st.lists(pick, min_size=1, max_size=3))
    elif op in schema.CONTAINS_OPS:
        near = [v for v in close if isinstance(v, str) or is_number(v)]
        flt["value"] = draw(st.one_of(st.sampled_from(near or [""]), texts, numbers))
    elif op in schema.NUMBER_OPS:
        flt["value"] = draw(
            st.one_of(st.sampled_from([v for v in close if is_number(v)] or [0]), numbers)
        )
    elif op in schema.RANGE_OPS:
        ends = st.one_of(st.sampled_from([v for v in close if is_number(v)] or [0]), numbers)
        flt["value"] = sorted(draw(st.lists(ends, min_size=2, max_size=2)))
    elif op in schema.DATE_OPS:
        flt["value"] = draw(st.sampled_from(DATES + [v for v in close if is_date(v)]))
    elif op in schema.RELATIVE_DATE_OPS:
        flt["value"] = draw(st.sampled_from([1, 2, 200]))
    return flt


def is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def is_date(v) -> bool:
    """A value a date filter accepts (validation checks the date is real)."""
    try:
        return (
            isinstance(v, str)
            and bool(schema.DATE_PREFIX.match(v))
            and bool(dt.date.fromisoformat(v[:10]))
        )
    except ValueError:
        return False


def lookalikes(v) -> list:
    """Values of another JSON type, or the other kind of number, that look like ``v``."""
    if isinstance(v, bool):
        return [int(v), float(v), json.dumps(v)]
    if isinstance(v, str):
        return [v.upper(), v[:-1], v + " "]
    twins = [json.dumps(v)]
    if v in (0, 1):
        twins.append(bool(v))
    if float(v).is_integer():
        twins += [int(v), float(v)]
    return twins


def sql_verdicts(conn, props: dict, flts: list[dict]) -> list[bool]:
    """Each filter's verdict on ``props``, from the SQL segments compile."""
    dialect = Dialect(conn)
    compiler = Compiler(dialect, workspace_id=1, now=NOW, per_profile=False)
    tests, params = [], []
    for flt in flts:
        sql, ps = value.to_sql(compiler, "e.properties", flt["property"], flt["op"], flt["value"])
        tests.append(f"CASE WHEN {sql} THEN 1 ELSE 0 END")
        params += ps
    row = "CAST(%s AS jsonb)" if dialect.pg else "json(%s)"
    query = f"SELECT {', '.join(tests)} FROM (SELECT {row} AS properties) e"
    with conn.cursor() as cursor:
        cursor.execute(query, [*params, json.dumps(props)])
        return [bool(v) for v in cursor.fetchone()]


def python_verdicts(props: dict, flts: list[dict]) -> list[bool]:
    return [value.matches(props, f["property"], f["op"], f["value"], now=NOW) for f in flts]


@pytest.fixture(scope="module")
def sqlite():
    wrapper = DatabaseWrapper(
        {
            **connection.settings_dict,
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "OPTIONS": {},
        },
        alias="matches-sqlite",
    )
    yield wrapper
    wrapper.close()


# Cases each side once got wrong while this was written, kept whatever is drawn.
EDGES = [
    ({"a": 0}, [{"property": "a", "op": "equals", "value": False}]),
    ({"a": [True, "1"]}, [{"property": "a", "op": "contains", "value": 1}]),
    ({"a": [0, 1.0]}, [{"property": "a", "op": "contains", "value": 1}]),
    ({"a": [[1], {"a": 1}]}, [{"property": "a", "op": "contains", "value": 1}]),
    ({"a": "abc"}, [{"property": "a", "op": "contains", "value": ""}]),
    ({"a": None}, [{"property": "a", "op": "exists", "value": None}]),
    ({"a": "2026-05-31"}, [{"property": "a", "op": "before", "value": "2026-05-31"}]),
    ({"a": "2026-06-02"}, [{"property": "a", "op": "within_last_days", "value": 2}]),
    ({"a": "2026-05-31 12:00:01"}, [{"property": "a", "op": "after", "value": "2026-05-31T12:00"}]),
]


def with_edges(test):
    for case in EDGES:
        test = example(case=case)(test)
    return test


@settings(max_examples=300, deadline=None)
@given(case=cases())
@with_edges
def test_python_and_postgresql_agree_on_every_filter(case):
    props, flts = case
    assert python_verdicts(props, flts) == sql_verdicts(connection, props, flts), (props, flts)


@settings(max_examples=300, deadline=None)
@given(case=cases())
@with_edges
def test_python_and_sqlite_agree_on_every_filter(sqlite, case):
    props, flts = case
    assert python_verdicts(props, flts) == sql_verdicts(sqlite, props, flts), (props, flts)


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"property": "total", "op": "gt", "value": 50}, True),
        ({"property": "total", "op": "equals", "value": "60"}, False),
        ({"property": "cart.items", "op": "contains", "value": "sku-1"}, True),
        ({"property": "cart.coupon", "op": "not_exists"}, True),
        ({"property": "paid", "op": "equals", "value": 1}, False),
        ({"property": "at", "op": "within_last_days", "value": 2}, True),
    ],
    ids=["number", "text-is-not-a-number", "array", "missing", "bool-is-not-1", "recent-date"],
)
def test_an_event_matches_on_its_name_and_every_filter(flt, expected):
    incoming = Event(
        name="Order Completed",
        properties={
            "total": 60,
            "paid": True,
            "at": "2026-05-31T08:00:00Z",
            "cart": {"items": ["sku-1", "sku-2"]},
        },
    )
    body = {"name": "Order Completed", "where": [flt]}
    assert event.matches(body, incoming, now=NOW) is expected
    assert event.matches({**body, "name": "Cart Updated"}, incoming, now=NOW) is False
