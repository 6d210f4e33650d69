"""``engage.bulk.update_rows`` writes each row's own values in one statement,
whether a field differs between the rows or every row gives it the same
value (then sent once, not as an array); it and the journeys' column-wise
``insert_rows`` send a differing column as the text of one array."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.bulk import update_rows
from engage.journeys import inserts as journey_inserts
from engage.messaging.models import MessageDecision
from engage.profiles.models import Profile

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_shared_and_differing_values_are_each_written_to_their_row(workspace):
    ws = workspace.workspace
    profiles = [Profile.objects.create(workspace=ws) for _ in range(3)]
    for n, profile in enumerate(profiles):
        profile.traits = {"n": n}  # differs
        profile.timezone = "Europe/Paris"  # shared
        profile.last_seen_at = T0  # shared
        profile.first_seen_at = None  # shared, a NULL

    with CaptureQueriesContext(connection) as queries:
        update_rows(Profile, profiles, ["traits", "timezone", "last_seen_at", "first_seen_at"])

    assert len(queries) == 1
    stored = Profile.objects.filter(pk__in=[p.pk for p in profiles]).order_by("pk")
    assert [(p.traits, p.timezone, p.last_seen_at, p.first_seen_at) for p in stored] == [
        ({"n": n}, "Europe/Paris", T0, None) for n in range(3)
    ]


def test_json_values_equal_in_python_but_not_in_json_keep_their_own_form(workspace):
    ws = workspace.workspace
    profiles = [Profile.objects.create(workspace=ws) for _ in range(2)]
    profiles[0].traits, profiles[1].traits = {"score": 1}, {"score": 1.0}

    update_rows(Profile, profiles, ["traits"])

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT traits::text FROM profiles_profile WHERE id = ANY(%s) ORDER BY id",
            [[p.pk for p in profiles]],
        )
        assert [row[0] for row in cursor.fetchall()] == ['{"score": 1}', '{"score": 1.0}']


# Sent as the text of one array each: every character that means something
# in an array literal, or in JSON, must reach its own row as written.
AWKWARD = ['say "hi"', "back\\slash", "{braces}, commas", " spaced ", "", "NULL", "Ç ☃"]
PARIS = dt.timezone(dt.timedelta(hours=1))


def test_strings_and_times_that_differ_by_row_arrive_as_written(workspace):
    ws = workspace.workspace
    profiles = [Profile.objects.create(workspace=ws) for _ in AWKWARD]
    for n, (profile, text) in enumerate(zip(profiles, AWKWARD, strict=True)):
        profile.locale = text
        profile.traits = {"said": text, "nested": [text, {"n": n}]}
        profile.first_seen_at = None if n == 0 else T0.replace(microsecond=n, tzinfo=PARIS)

    update_rows(Profile, profiles, ["locale", "traits", "first_seen_at"])

    stored = Profile.objects.filter(pk__in=[p.pk for p in profiles]).order_by("pk")
    assert [(p.locale, p.traits, p.first_seen_at) for p in stored] == [
        (p.locale, p.traits, p.first_seen_at) for p in profiles
    ]
    assert stored[5].locale == "NULL"
    assert stored[2].first_seen_at == dt.datetime(2026, 3, 2, 8, 0, 0, 2, tzinfo=dt.UTC)


def test_rows_inserted_from_columns_keep_strings_times_and_nulls(workspace):
    ws = workspace.workspace
    profile = Profile.objects.create(workspace=ws)
    size = len(AWKWARD)
    columns = {
        "workspace_id": [ws.pk] * size,
        "profile_id": [profile.pk] * size,
        "action": [MessageDecision.WAIT] * size,
        "reason": [f"r{n}" for n in range(size)],
        "detail": AWKWARD,
        "journey_node_id": [None if n % 2 else text for n, text in enumerate(AWKWARD)],
        "until": [None if n % 3 == 0 else T0.replace(second=n, tzinfo=PARIS) for n in range(size)],
    }

    ids = [pk for (pk,) in journey_inserts.insert_rows(MessageDecision, columns)]

    stored = MessageDecision.objects.in_bulk(ids)
    assert [
        (stored[pk].reason, stored[pk].detail, stored[pk].journey_node_id, stored[pk].until)
        for pk in ids
    ] == list(
        zip(columns["reason"], AWKWARD, columns["journey_node_id"], columns["until"], strict=True)
    )
