"""The profiles and identities a batch finds are loaded without the ORM; they must be
the ORM's.

A value read differently (a time a microsecond off or in another zone, a
float turned into an int, a nested trait lost) would be written back onto
the customer's profile with the batch, so every column is compared with
what the ORM loads.
"""

import datetime as dt

import pytest
from django.db import connection, transaction

from engage.profiles.locks import try_lock_profiles
from engage.profiles.models import Identity, Profile
from engage.profiles.resolution import _identities_of

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite loads them through the ORM"
)

ODD_TIME = dt.datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=dt.UTC)


def test_locked_profiles_and_their_identities_are_the_orms(workspace):
    ws = workspace.workspace
    plain = Profile.objects.create(workspace=ws)
    odd = Profile.objects.create(
        workspace=ws,
        traits={"score": 1.0, "n": 3, "nested": {"list": [1, "two", None, True]}, "e": "é😀"},
        trait_updated_at={"score": ODD_TIME.isoformat()},
        timezone="Europe/Paris",
        locale="fr-FR",
        first_seen_at=ODD_TIME.replace(year=1, month=1, day=2),
        last_seen_at=ODD_TIME,
    )
    for n, profile in enumerate([plain, odd, odd]):
        Identity.objects.create(workspace=ws, profile=profile, kind="email", value=f"é{n}@x.org")

    with transaction.atomic():
        locked = try_lock_profiles([odd.pk, plain.pk])
        identities = _identities_of(locked)
    expected = {p.pk: p for p in Profile.objects.filter(pk__in=[plain.pk, odd.pk])}

    assert list(locked) == [plain.pk, odd.pk]
    for pk, mine in locked.items():
        for field in Profile._meta.concrete_fields:
            theirs = getattr(expected[pk], field.attname)
            assert getattr(mine, field.attname) == theirs, field.attname
            assert type(getattr(mine, field.attname)) is type(theirs), field.attname
    assert [(i.pk, i.profile_id, i.kind, i.value) for i in identities] == list(
        Identity.objects.order_by("pk").values_list("pk", "profile_id", "kind", "value")
    )
    assert identities[0].created_at == Identity.objects.get(pk=identities[0].pk).created_at
