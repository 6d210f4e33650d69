"""Right of access: everything engage holds on a customer, as JSON, recorded."""

import pytest
from django.apps import apps
from django.db import connection, models

from engage.privacy.models import PrivacyRequest
from engage.privacy.services import erase_profile, export_profile
from engage.profiles.models import Profile


def test_export_holds_the_whole_customer_and_is_recorded(api, customer, bystanders, key_prefix):
    ada, merge = customer

    response = api.get(f"/api/profiles/{ada.pk}/export")

    assert response.status_code == 200
    body = response.json()
    assert body["workspace"] == "acme"
    assert body["profile"]["id"] == ada.pk
    assert body["profile"]["traits"] == {"name": "Ada Lovelace"}
    assert [p["id"] for p in body["merged_profiles"]] == [merge.merged_id]
    assert body["merged_profiles"][0]["merged_into_id"] == ada.pk
    assert {(i["kind"], i["value"]) for i in body["identities"]} == {
        ("email", "ada@example.com"),
        ("user_id", "ada-user-1815"),
        ("phone", "+14155552671"),
        ("anonymous_id", "anon-ada"),
    }
    assert len(body["events"]) == 3
    assert {e["profile_id"] for e in body["events"]} == {ada.pk, merge.merged_id}
    assert {"properties", "traits", "context", "timestamp", "message_id"} <= set(body["events"][0])
    assert [m["id"] for m in body["merges"]] == [merge.pk]
    # Nothing of the bystanders.
    assert "grace" not in response.content.decode()

    record = PrivacyRequest.objects.get()
    assert record.kind == "export"
    assert record.profile_id == ada.pk
    assert record.requested_by == key_prefix
    assert (record.profiles_count, record.identities_count, record.events_count) == (2, 4, 3)


def test_export_by_a_merged_in_id_exports_the_survivor(api, customer):
    ada, merge = customer

    body = api.get(f"/api/profiles/{merge.merged_id}/export").json()

    assert body["profile"]["id"] == ada.pk
    assert PrivacyRequest.objects.get().profile_id == ada.pk


@pytest.fixture
def loyalty_card_table():
    """A table another app could add later, with a foreign key to Profile."""

    class LoyaltyCard(models.Model):
        profile = models.ForeignKey(Profile, on_delete=models.SET_NULL, null=True)
        number = models.CharField(max_length=32)

        class Meta:
            app_label = "privacy"

        def __str__(self) -> str:
            return self.number

    with connection.schema_editor() as editor:
        editor.create_model(LoyaltyCard)
    try:
        yield LoyaltyCard
    finally:
        del apps.all_models["privacy"]["loyaltycard"]
        apps.clear_cache()


def test_tables_added_by_other_apps_are_exported_and_erased(customer, loyalty_card_table):
    ada, merge = customer
    loyalty_card_table.objects.create(profile=ada, number="LC-1")
    loyalty_card_table.objects.create(profile=merge.merged, number="LC-2")
    loyalty_card_table.objects.create(
        profile=Profile.objects.create(workspace=ada.workspace), number="LC-3"
    )

    exported = export_profile(profile=ada, requested_by="operator")
    assert {row["number"] for row in exported["related"]["privacy.loyaltycard"]} == {"LC-1", "LC-2"}

    erasure = erase_profile(profile=ada, requested_by="operator")
    # Deleted, not merely unlinked (its foreign key is SET_NULL).
    assert list(loyalty_card_table.objects.values_list("number", flat=True)) == ["LC-3"]
    assert erasure.tables["privacy.LoyaltyCard"] == 2
