"""Right to erasure: every table, merged-in profiles included; identifiers suppressed."""

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from engage.events.models import Event
from engage.events.processing import process_pending
from engage.privacy.models import PrivacyRequest, Suppression
from engage.privacy.selectors import suppressed
from engage.privacy.services import erase_profile
from engage.profiles.models import Identity, Profile, ProfileMerge
from tests.customer_factories import EventFactory
from tests.identity_helpers import pending_event, send

ADA_IDENTIFIERS = [
    ("email", "ada@example.com"),
    ("user_id", "ada-user-1815"),
    ("phone", "+14155552671"),
    ("anonymous_id", "anon-ada"),
]


def database_text() -> str:
    """Every row of every table, as text."""
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            dump.append(repr(cursor.fetchall()))
    return "\n".join(dump)


def test_erasure_removes_the_customer_from_every_table(
    api, customer, bystanders, key_prefix, admin_user
):
    ada, merge = customer
    # An event that arrived but is not processed yet, and an operator's admin edit.
    EventFactory(
        workspace=ada.workspace,
        profile=None,
        origin_profile_id=None,
        processed_at=None,
        user_id="ada-user-1815",
    )
    identity = Identity.objects.get(value="ada@example.com", workspace=ada.workspace)
    LogEntry.objects.create(
        user=admin_user,
        content_type=ContentType.objects.get_for_model(Identity),
        object_id=str(identity.pk),
        object_repr=str(identity),
        action_flag=CHANGE,
    )
    assert "ada@example.com" in database_text()

    response = api.delete(f"/api/profiles/{ada.pk}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["profile_id"] == ada.pk
    assert body["suppressed_identifiers"] == 4
    assert body["erased"]["profiles"] == 2
    assert body["erased"]["identities"] == 4
    assert body["erased"]["events"] == 4
    assert body["erased"]["merges"] == 1
    assert body["erased"]["tables"]["admin.LogEntry"] == 1

    assert not Profile.objects.filter(pk__in=[ada.pk, merge.merged_id]).exists()
    assert not ProfileMerge.objects.filter(pk=merge.pk).exists()
    # The other Ada (another workspace) still holds the email; nobody in acme does.
    grace, other_ada = bystanders
    text = database_text().replace("'ada@example.com'", "<other workspace's Ada>", 1)
    for _, value in ADA_IDENTIFIERS:
        assert value not in text, value
    assert "Ada Lovelace" not in text
    assert Identity.objects.filter(value="ada@example.com").get().profile == other_ada
    assert Event.objects.filter(profile=grace).count() == 1
    assert Event.objects.filter(profile=other_ada).count() == 1

    record = PrivacyRequest.objects.get(pk=body["privacy_request_id"])
    assert record.kind == "erase"
    assert record.requested_by == key_prefix
    assert (record.profiles_count, record.identities_count, record.events_count) == (2, 4, 4)


def test_erased_identifiers_are_suppressed_for_later_events(api, customer, bystanders):
    ada, _ = customer
    workspace_id = ada.workspace_id
    _, other_ada = bystanders

    api.delete(f"/api/profiles/{ada.pk}")

    for identifier in ADA_IDENTIFIERS:
        assert suppressed(workspace_id, [identifier]), identifier
    assert not suppressed(workspace_id, [("email", "grace@example.com")])
    # Suppression is per workspace: the other workspace's Ada is not affected.
    assert not suppressed(other_ada.workspace_id, [("email", "ada@example.com")])
    assert Suppression.objects.count() == 4


def test_after_erasure_the_customer_is_gone_from_the_api(api, customer):
    ada, merge = customer

    assert api.delete(f"/api/profiles/{merge.merged_id}").status_code == 200

    assert api.get(f"/api/profiles/{ada.pk}").status_code == 404
    assert api.get(f"/api/profiles/{merge.merged_id}").status_code == 404
    assert api.get("/api/profiles/lookup", {"email": "ada@example.com"}).status_code == 404
    assert api.delete(f"/api/profiles/{ada.pk}").status_code == 404


def test_erasing_twice_the_same_identifiers_keeps_one_suppression_each(customer, workspace):
    ada, _ = customer
    erase_profile(profile=ada, requested_by="alice")
    again = Profile.objects.create(workspace=workspace.workspace)
    Identity.objects.create(
        workspace=workspace.workspace, profile=again, kind="email", value="ada@example.com"
    )

    erasure = erase_profile(profile=again, requested_by="alice")

    assert erasure.suppressed_identifiers == 1
    assert Suppression.objects.filter(kind="email").count() == 1
    assert list(PrivacyRequest.objects.values_list("requested_by", flat=True)) == [
        "alice",
        "alice",
    ]


def test_processing_drops_later_events_of_an_erased_customer(api, workspace):
    ws = workspace.workspace
    send(ws, "identify", user_id="u-ada", traits={"email": "Ada@Example.com"})
    ada = api.get("/api/profiles/lookup", {"email": "ada@example.com"}).json()
    assert api.delete(f"/api/profiles/{ada['id']}").status_code == 200

    pending_event(ws, "track", user_id="u-ada", name="Came Back")
    pending_event(ws, "identify", anonymous_id="new-device", traits={"email": "ADA@example.com"})
    process_pending()

    assert not Event.objects.filter(workspace=ws).exists()
    assert not Profile.objects.filter(workspace=ws).exists()
    assert "ada@example.com" not in database_text().lower()
