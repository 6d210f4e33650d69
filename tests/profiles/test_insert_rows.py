"""New profiles and identities are written in one statement (engage.bulk.insert_rows).

Each instance must get the id of its own row: an id handed to the wrong
instance would attach a customer's identities to another customer.
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.bulk import insert_rows
from engage.profiles.models import Identity, Profile


def test_each_row_gets_its_own_id_and_keeps_its_values(workspace):
    ws = workspace.workspace
    profiles = [
        Profile(workspace=ws, traits={"n": n, "name": f'Ç {n} "q"'}, timezone=f"Etc/GMT+{n}")
        for n in range(5)
    ]

    insert_rows(Profile, profiles)
    identities = [
        Identity(workspace_id=ws.pk, profile_id=p.pk, kind="email", value=f"c{n}@example.com")
        for n, p in enumerate(profiles)
    ]
    insert_rows(Identity, identities)

    for n, profile in enumerate(profiles):
        stored = Profile.objects.get(pk=profile.pk)
        assert stored.traits == {"n": n, "name": f'Ç {n} "q"'}
        assert stored.timezone == f"Etc/GMT+{n}"
        assert stored.trait_updated_at == {}
        assert stored.created_at == profile.created_at is not None
        assert stored.identities.get().value == f"c{n}@example.com"
    assert [i.pk for i in identities] == sorted(i.pk for i in identities)
    assert not profiles[0]._state.adding


def test_nothing_to_insert_is_no_statement(workspace):
    with CaptureQueriesContext(connection) as queries:
        insert_rows(Profile, [])

    assert len(queries) == 0
