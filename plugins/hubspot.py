"""HubSpot CRM: contacts become identify calls, deals become track calls.

Reads HubSpot's CRM v3 search API (``POST /crm/v3/objects/{contacts,deals}/search``)
with a private app's access token, sorted by last modification, so the next
run asks only for what changed since the last record it read: the cursor
keeps, per object type, that record's modification time (ms) and the ids
modified at that very millisecond, because the search filter is
``GTE`` (``GT`` would skip a record that shares the millisecond of the last
one read and did not fit in the page). A search answers at most 10,000
records; past that the search starts again from the cursor.

A contact is known by its HubSpot id, stored as an identity of kind
``hubspot`` (``context.externalIds``) with the anonymousId ``hubspot:<id>``,
so its deals land on the same profile; its email and phone identify it too.
A deal is a ``Deal Updated`` event for its first associated contact (read
with the v4 associations batch API, one request per page); a deal in the
``closedwon`` stage is also one ``Order Completed``, whose messageId is the
deal's id alone so that editing a won deal never counts its revenue twice.
"""

import hashlib
from datetime import UTC, datetime

from engage.plugins import hookimpl
from engage.plugins.base import Checkpoint, Importer, ImportProblem, SettingField
from engage.plugins.outbound import url_refusal
from engage.plugins.provider_http import source_request

SOURCE = "HubSpot"
#: HubSpot answers a search's ``after`` past this with an error.
SEARCH_LIMIT = 10_000
CONTACT_PROPERTIES = ("email", "firstname", "lastname", "phone", "company", "lifecyclestage")
# HubSpot property → trait name (engage's traits use Segment's spec names).
TRAIT_NAMES = {
    "firstname": "first_name",
    "lastname": "last_name",
    "lifecyclestage": "lifecycle_stage",
}
DEAL_PROPERTIES = ("dealname", "amount", "dealstage", "pipeline", "closedate", "deal_currency_code")
# The modification-time property each object type is searched and sorted by.
MODIFIED = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
WON_STAGE = "closedwon"


def message_id(kind: str, record_id: str, version: str = "") -> str:
    """Stable for one version of one record: a re-run stores nothing twice,
    a change is stored once."""
    suffix = ":" + hashlib.sha256(version.encode()).hexdigest()[:12] if version else ""
    return f"hubspot:{kind}:{record_id}"[:80] + suffix


def modified_at(record: dict, kind: str) -> int:
    """The record's modification time in ms, as searched and sorted by."""
    value = (record.get("properties") or {}).get(MODIFIED[kind]) or record["updatedAt"]
    return int(datetime.fromisoformat(value).astimezone(UTC).timestamp() * 1000)


def identity(contact_id: str) -> dict:
    return {
        "anonymousId": f"hubspot:{contact_id}",
        "context": {"externalIds": [{"type": "hubspot", "id": contact_id, "collection": "users"}]},
    }


class HubSpot(Importer):
    id = "hubspot"
    name = "HubSpot CRM"
    settings_schema = (
        SettingField(
            "access_token",
            required=True,
            secret=True,
            help="A private app's access token with the crm.objects.contacts.read "
            "(and crm.objects.deals.read) scopes.",
        ),
        SettingField("api_url", type="url", default="https://api.hubapi.com"),
        SettingField(
            "properties",
            default="",
            help="More contact properties to import as traits, comma-separated.",
        ),
        SettingField("import_deals", type="boolean", default=True),
        SettingField("page_size", type="integer", default=100, help="Records per request (1-100)."),
    )

    @classmethod
    def check_settings(cls, settings):
        errors = {}
        refusal = url_refusal(settings["api_url"])
        if refusal:
            errors["api_url"] = refusal
        if not 1 <= settings["page_size"] <= 100:
            errors["page_size"] = "must be between 1 and 100"
        for name in cls._extra_properties(settings):
            if not name.replace("_", "").isalnum():
                errors["properties"] = f"{name!r} is not a HubSpot property name"
        return errors

    @staticmethod
    def _extra_properties(settings) -> list[str]:
        return [p.strip() for p in settings.get("properties", "").split(",") if p.strip()]

    def read(self, *, workspace):
        cursor = dict(self.cursor or {})
        properties = [*CONTACT_PROPERTIES, *self._extra_properties(self.settings)]
        for page in self._search("contacts", properties, cursor):
            yield from (self._identify(contact) for contact in page)
            yield Checkpoint(dict(cursor))
        if self.settings["import_deals"]:
            for page in self._search("deals", list(DEAL_PROPERTIES), cursor):
                yield from self._deals(page)
                yield Checkpoint(dict(cursor))

    def _request(self, path: str, body: dict) -> dict:
        return source_request(
            "POST",
            self.settings["api_url"].rstrip("/") + path,
            json=body,
            headers={"Authorization": f"Bearer {self.settings['access_token']}"},
            source=SOURCE,
            credential="access_token",
        ).json()

    def _search(self, kind: str, properties: list[str], cursor: dict):
        """Pages of records of ``kind`` modified since the cursor, oldest first.
        ``cursor[kind]`` is moved to a page's last record before the page is
        yielded; the caller saves it once the page's calls are stored."""
        modified = MODIFIED[kind]
        while True:
            since = cursor.get(kind, {"since": 0, "ids": []})
            after = None
            while True:
                body = {
                    "filterGroups": [
                        {
                            "filters": [
                                {
                                    "propertyName": modified,
                                    "operator": "GTE",
                                    "value": str(since["since"]),
                                }
                            ]
                        }
                    ],
                    "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
                    "properties": [*properties, modified],
                    "limit": self.settings["page_size"],
                }
                if after:
                    body["after"] = after
                answer = self._request(f"/crm/v3/objects/{kind}/search", body)
                seen = set(since["ids"])
                page = [
                    record
                    for record in answer.get("results", [])
                    if not (modified_at(record, kind) == since["since"] and record["id"] in seen)
                ]
                for record in page:
                    at = modified_at(record, kind)
                    last = cursor.get(kind, {"since": 0, "ids": []})
                    ids = [*last["ids"], record["id"]] if at == last["since"] else [record["id"]]
                    cursor[kind] = {"since": at, "ids": ids}
                yield page
                after = ((answer.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    return
                if int(after) >= SEARCH_LIMIT:
                    break  # start a new search from the cursor

    def _identify(self, contact: dict) -> dict:
        props = contact.get("properties") or {}
        traits = {
            TRAIT_NAMES.get(name, name): value
            for name, value in props.items()
            if value not in (None, "")
            and name not in (MODIFIED["contacts"], "hs_object_id", "createdate")
        }
        return {
            "type": "identify",
            "messageId": message_id("contact", contact["id"], contact["updatedAt"]),
            "timestamp": contact["updatedAt"],
            "traits": traits,
            **identity(contact["id"]),
        }

    def _deals(self, deals: list[dict]):
        if not deals:
            return
        answer = self._request(
            "/crm/v4/associations/deals/contacts/batch/read",
            {"inputs": [{"id": deal["id"]} for deal in deals]},
        )
        contact_of = {}
        for result in answer.get("results", []):
            to = result.get("to") or []
            if to:
                contact_of[str(result["from"]["id"])] = str(to[0]["toObjectId"])
        for deal in deals:
            contact_id = contact_of.get(deal["id"])
            if contact_id is None:
                yield ImportProblem(
                    f"deal {deal['id']}", "associations.contacts", "no associated contact"
                )
                continue
            yield from self._deal_calls(deal, contact_id)

    def _deal_calls(self, deal: dict, contact_id: str):
        props = deal.get("properties") or {}
        details = {
            "deal_id": deal["id"],
            "name": props.get("dealname"),
            "stage": props.get("dealstage"),
            "pipeline": props.get("pipeline"),
            "currency": props.get("deal_currency_code"),
        }
        amount = props.get("amount")
        try:
            details["amount"] = float(amount) if amount not in (None, "") else None
        except ValueError:
            yield ImportProblem(
                f"deal {deal['id']}", "properties.amount", f"{amount!r} is not a number"
            )
            return
        details = {key: value for key, value in details.items() if value is not None}
        yield {
            "type": "track",
            "event": "Deal Updated",
            "messageId": message_id("deal", deal["id"], deal["updatedAt"]),
            "timestamp": deal["updatedAt"],
            "properties": details,
            **identity(contact_id),
        }
        if props.get("dealstage") == WON_STAGE:
            order = {"order_id": deal["id"], "revenue": details.get("amount", 0.0)}
            if "currency" in details:
                order["currency"] = details["currency"]
            yield {
                "type": "track",
                "event": "Order Completed",
                "messageId": message_id("order", deal["id"]),
                "timestamp": props.get("closedate") or deal["updatedAt"],
                "properties": order,
                **identity(contact_id),
            }


@hookimpl
def engage_importers():
    return [HubSpot]
