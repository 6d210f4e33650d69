"""Each definition compiles to one query whose members are exactly the expected
profiles (run on PostgreSQL by the suite, and on SQLite by test_sqlite.py)."""

import datetime as dt

import pytest

from engage.messaging.models import Consent
from engage.profiles.models import Identity
from engage.scoring.models import Score
from engage.segments.compiler import member_query
from engage.segments.membership import evaluate
from engage.segments.models import Segment, SegmentMembership
from tests.customer_factories import EventFactory, IdentityFactory, ProfileFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


@pytest.fixture
def people(workspace, other_workspace):
    """Four customers of one workspace, plus look-alikes that must never match."""
    ws = workspace.workspace
    ann = ProfileFactory(
        workspace=ws,
        traits={
            "name": "ann",
            "plan": "pro",
            "age": 30,
            "tags": ["vip", "beta"],
            "signed_up_at": "2026-01-01T09:00:00Z",
        },
    )
    bob = ProfileFactory(
        workspace=ws,
        traits={"name": "bob", "plan": "free", "age": "30", "signed_up_at": "2026-05-25"},
    )
    cid = ProfileFactory(workspace=ws, traits={"name": "cid", "address": {"city": "Lyon"}})
    dee = ProfileFactory(workspace=ws, traits={"name": "dee", "plan": "pro"})
    for days, total in ((1, 20), (5, 60), (25, 80)):
        EventFactory(profile=ann, timestamp=ago(days), properties={"total": total})
    EventFactory(profile=ann, name="App Opened", timestamp=ago(20))
    EventFactory(profile=bob, timestamp=ago(10), properties={"total": 100})
    EventFactory(profile=bob, name="App Opened", timestamp=ago(2))
    EventFactory(profile=cid, timestamp=ago(60), properties={"total": 10})
    EventFactory(profile=cid, timestamp=ago(61), properties={"total": 10})
    EventFactory(profile=cid, name="Signed Up", timestamp=ago(100))
    # an event after "now" is not seen yet
    EventFactory(profile=dee, timestamp=NOW + dt.timedelta(hours=1))
    IdentityFactory(profile=ann, kind=Identity.EMAIL, value="ann@example.com")
    IdentityFactory(profile=bob, kind=Identity.PHONE, value="+33600000001")
    IdentityFactory(profile=cid, kind=Identity.ANONYMOUS_ID, value="anon-cid")
    IdentityFactory(profile=dee, kind="push_token", value="tok-dee")

    def consent(profile, channel, status, days):
        Consent.objects.create(
            workspace=ws,
            profile=profile,
            channel=channel,
            status=status,
            source="api",
            created_at=ago(days),
        )

    consent(ann, "email", "opted_in", 10)
    consent(bob, "email", "opted_in", 10)
    consent(bob, "email", "opted_out", 3)
    consent(cid, "", "opted_out", 3)  # every channel
    consent(dee, "sms", "opted_in", 3)

    def score(profile, model, value, cell=""):
        Score.objects.create(
            workspace=ws, profile=profile, model=model, value=value, cell=cell, computed_at=NOW
        )

    score(ann, "rfm", 5.0, "champions")
    score(bob, "rfm", 2.0, "at_risk")
    score(ann, "ces", 81.5)
    score(cid, "ces", 40)

    # A merged profile and another workspace's customer look like ann.
    merged = ProfileFactory(workspace=ws, traits=dict(ann.traits), merged_into=ann)
    EventFactory(profile=merged, timestamp=ago(1))
    stranger = ProfileFactory(workspace=other_workspace.workspace, traits=dict(ann.traits))
    for days in (1, 2, 3):
        EventFactory(profile=stranger, timestamp=ago(days))
    IdentityFactory(profile=stranger, kind=Identity.EMAIL, value="ann@example.com")
    return {"ann": ann, "bob": bob, "cid": cid, "dee": dee}


def members(rules, people) -> set[str]:
    workspace_id = people["ann"].workspace_id
    names = {p.pk: name for name, p in people.items()}
    found = evaluate(rules, workspace_id=workspace_id, now=NOW)
    assert found <= set(names), "matched a merged profile or another workspace's"
    return {names[i] for i in found}


def trait(key, op, value=None):
    body = {"key": key, "op": op}
    if value is not None:
        body["value"] = value
    return {"trait": body}


def event(name="Order Completed", **body):
    return {"event": {"name": name, **body}}


CASES = [
    (trait("plan", "equals", "pro"), {"ann", "dee"}),
    (trait("plan", "not_equals", "pro"), {"bob", "cid"}),
    (trait("plan", "in", ["pro", "free"]), {"ann", "bob", "dee"}),
    (trait("plan", "not_in", ["pro"]), {"bob", "cid"}),
    (trait("age", "equals", 30), {"ann"}),  # bob's "30" is text
    (trait("age", "equals", "30"), {"bob"}),
    (trait("age", "gte", 30), {"ann"}),
    (trait("age", "lt", 30), set()),
    (trait("age", "between", [20, 40]), {"ann"}),
    (trait("tags", "contains", "vip"), {"ann"}),
    (trait("tags", "equals", "vip"), set()),  # a list holding it is not equal to it
    (trait("name", "contains", "o"), {"bob"}),
    (trait("address.city", "equals", "Lyon"), {"cid"}),
    (trait("plan", "exists"), {"ann", "bob", "dee"}),
    (trait("plan", "not_exists"), {"cid"}),
    (trait("signed_up_at", "more_than_days_ago", 30), {"ann"}),
    (trait("signed_up_at", "within_last_days", 30), {"bob"}),
    (trait("signed_up_at", "before", "2026-03-01"), {"ann"}),
    (trait("signed_up_at", "after", "2026-03-01"), {"bob"}),
    (event(), {"ann", "bob", "cid"}),
    (event(within_days=30), {"ann", "bob"}),
    (event(at_least=2, within_days=30), {"ann"}),
    (event(at_least=2), {"ann", "cid"}),
    (event(at_least=1, at_most=2), {"bob", "cid"}),
    (event(at_least=0, at_most=1, within_days=30), {"bob", "cid", "dee"}),
    (event(did=False, within_days=30), {"cid", "dee"}),
    (
        event(where=[{"property": "total", "op": "gte", "value": 50}], within_days=30),
        {"ann", "bob"},
    ),
    (
        event(where=[{"property": "total", "op": "gte", "value": 50}], at_least=2),
        {"ann"},
    ),
    (event(older_than_days=45), {"cid"}),
    (event(within_days=30, older_than_days=3), {"ann", "bob"}),
    (event(within_days=8, older_than_days=3), {"ann"}),
    (event(occurrence="first", within_days=30), {"ann", "bob"}),
    (event(occurrence="last", older_than_days=45), {"cid"}),
    (event(occurrence="first", within_days=3), set()),
    (event(occurrence="last", within_days=3), {"ann"}),
    (event("Signed Up", occurrence="first"), {"cid"}),
    ({"identity": {"kind": "email"}}, {"ann"}),
    ({"identity": {"kind": "push_token"}}, {"dee"}),
    ({"identity": {"kind": "any"}}, {"ann", "bob", "cid", "dee"}),
    ({"consent": {"channel": "email", "status": "opted_in"}}, {"ann"}),
    ({"consent": {"channel": "email", "status": "opted_out"}}, {"bob", "cid"}),
    ({"consent": {"channel": "sms", "status": "opted_in"}}, {"dee"}),
    ({"consent": {"channel": "sms", "status": "opted_in", "topic": "news"}}, set()),
    ({"score": {"model": "rfm", "cell": "champions"}}, {"ann"}),
    ({"score": {"model": "rfm", "cell": ["champions", "at_risk"]}}, {"ann", "bob"}),
    ({"score": {"model": "ces", "op": "gte", "value": 70}}, {"ann"}),
    ({"score": {"model": "ces", "op": "lt", "value": 70}}, {"cid"}),
    ({"score": {"model": "ces", "op": "between", "value": [40, 81.5]}}, {"ann", "cid"}),
    ({"not": {"score": {"model": "ces", "op": "gt", "value": 50}}}, {"bob", "cid", "dee"}),
    ({"not": trait("plan", "equals", "pro")}, {"bob", "cid"}),
    (
        {"or": [trait("plan", "equals", "free"), {"not": {"identity": {"kind": "any"}}}]},
        {"bob"},
    ),
    (
        {
            "and": [
                trait("plan", "equals", "pro"),
                event(at_least=2, within_days=30),
                {"not": event("App Opened", within_days=14)},
                {"identity": {"kind": "email"}},
                {"consent": {"channel": "email", "status": "opted_in"}},
            ]
        },
        {"ann"},
    ),
]


@pytest.mark.parametrize(("rules", "expected"), CASES)
def test_definition_matches_exactly_the_expected_profiles(people, rules, expected):
    assert members(rules, people) == expected


def test_membership_of_another_segment(people):
    ws = people["ann"].workspace
    other = Segment.objects.create(workspace=ws, name="vips", rules=trait("plan", "exists"))
    SegmentMembership.objects.create(segment=other, profile=people["bob"], entered_at=NOW)
    SegmentMembership.objects.create(
        segment=other, profile=people["ann"], entered_at=ago(9), exited_at=ago(2)
    )
    assert members({"segment": {"id": other.pk}}, people) == {"bob"}


def test_restricting_to_profiles_gives_the_same_answer_for_them(people):
    rules = {"or": [event(at_least=2, within_days=30), event(did=False, within_days=30)]}
    ids = [people["ann"].pk, people["bob"].pk]
    workspace_id = people["ann"].workspace_id
    assert evaluate(rules, workspace_id=workspace_id, now=NOW, profile_ids=ids) == {
        people["ann"].pk
    }
    assert evaluate(rules, workspace_id=workspace_id, now=NOW, profile_ids=[]) == set()


def test_values_are_parameters_never_sql(people):
    nasty = "pro'; DROP TABLE profiles_profile; --"
    query = member_query(
        trait("plan", "equals", nasty), workspace_id=people["ann"].workspace_id, now=NOW
    )
    assert nasty not in query.sql
    assert members(trait("plan", "equals", nasty), people) == set()
