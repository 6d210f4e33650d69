"""``engage.bulk.update_rows`` writes each row's own values in one statement,
whether a field differs between the rows or every row gives it the same
value (then sent once, not as an array)."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.bulk import update_rows
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
