"""Loopback stand-ins for the sources' APIs, checking each request against
the provider's published format and answering in it: HubSpot's CRM v3
search and v4 associations, Shopify's Admin REST orders with ``Link``
paging, Zendesk's time-based incremental ticket export. Records follow the
providers' documented examples (ids, names, field shapes)."""

import base64
import json
from datetime import datetime
from urllib.parse import urlencode

from tests.channels.providers import ProviderServer, Reply, basic_auth

HUBSPOT_TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
SHOPIFY_TOKEN = "shpat_0123456789abcdef"
ZENDESK_EMAIL = "agent@acme.example"
ZENDESK_TOKEN = "6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv"


class FakeHubSpot(ProviderServer):
    """``POST /crm/v3/objects/{contacts,deals}/search`` (one GTE filter on the
    modification property, ascending sort, ``limit`` ≤ 200, ``after`` an
    offset) and ``POST /crm/v4/associations/deals/contacts/batch/read``."""

    MODIFIED = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}

    def __init__(self):
        self.records = {"contacts": [], "deals": []}
        self.deal_contacts: dict[str, list[int]] = {}
        super().__init__()

    @staticmethod
    def error(status, category, message):
        return Reply(
            status,
            {
                "status": "error",
                "message": message,
                "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
                "category": category,
            },
        )

    def handle(self, req):
        if req.headers.get("authorization") != f"Bearer {HUBSPOT_TOKEN}":
            raise self.error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        if req.method != "POST" or not isinstance(req.json, dict):
            raise self.error(405, "VALIDATION_ERROR", "POST with a JSON body expected")
        if req.path == "/crm/v4/associations/deals/contacts/batch/read":
            return self._associations(req.json)
        kind = req.path.removeprefix("/crm/v3/objects/").removesuffix("/search")
        if kind not in self.records:
            raise self.error(404, "OBJECT_NOT_FOUND", "resource not found")
        return self._search(kind, req.json)

    def _search(self, kind, body):
        modified = self.MODIFIED[kind]
        (group,) = body["filterGroups"]
        (condition,) = group["filters"]
        if condition["propertyName"] != modified or condition["operator"] not in ("GT", "GTE"):
            raise self.error(400, "VALIDATION_ERROR", "unexpected filter")
        since = int(condition["value"])
        if body["sorts"] != [{"propertyName": modified, "direction": "ASCENDING"}]:
            raise self.error(400, "VALIDATION_ERROR", "unexpected sort")
        limit, offset = body["limit"], int(body.get("after", 0))
        if not 1 <= limit <= 200:
            raise self.error(400, "VALIDATION_ERROR", "limit must be 1-200")
        found = sorted(
            (
                r
                for r in self.records[kind]
                if (r["ms"] >= since if condition["operator"] == "GTE" else r["ms"] > since)
            ),
            key=lambda r: (r["ms"], r["id"]),
        )
        page = found[offset : offset + limit]
        results = [
            {
                "id": r["id"],
                "properties": {
                    name: r["properties"].get(name)
                    for name in [*body["properties"], "hs_object_id", "createdate"]
                },
                "createdAt": r["createdAt"],
                "updatedAt": r["updatedAt"],
                "archived": False,
            }
            for r in page
        ]
        answer = {"total": len(found), "results": results}
        if offset + limit < len(found):
            answer["paging"] = {"next": {"after": str(offset + limit)}}
        return 200, answer

    def _associations(self, body):
        results = []
        for item in body["inputs"]:
            contacts = self.deal_contacts.get(item["id"], [])
            if contacts:
                results.append(
                    {
                        "from": {"id": item["id"]},
                        "to": [
                            {
                                "toObjectId": contact,
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}
                                ],
                            }
                            for contact in contacts
                        ],
                    }
                )
        return 200, {
            "status": "COMPLETE",
            "results": results,
            "startedAt": "2024-05-14T14:15:01.023Z",
            "completedAt": "2024-05-14T14:15:01.054Z",
        }

    def add(self, kind, record_id, updated, properties):
        """A record; ``updated`` is its ISO-8601 modification time."""
        ms = int(datetime.fromisoformat(updated).timestamp() * 1000)
        records = [r for r in self.records[kind] if r["id"] != record_id]
        modified = self.MODIFIED[kind]
        records.append(
            {
                "id": record_id,
                "ms": ms,
                "createdAt": "2019-10-30T03:30:17.883Z",
                "updatedAt": updated,
                "properties": {**properties, modified: updated, "hs_object_id": record_id},
            }
        )
        self.records[kind] = records


class FakeShopify(ProviderServer):
    """``GET /admin/api/2025-07/orders.json`` with ``X-Shopify-Access-Token``:
    a first page takes ``status``, ``limit`` and ``updated_at_min``; a
    following page only ``page_info`` and ``limit`` (Shopify refuses other
    parameters beside ``page_info``). Newest orders first; ``Link: <...>;
    rel="next"`` when there is more."""

    VERSION = "2025-07"

    def __init__(self):
        self.orders: list[dict] = []
        super().__init__()

    def handle(self, req):
        if req.headers.get("x-shopify-access-token") != SHOPIFY_TOKEN:
            raise Reply(
                401,
                {
                    "errors": "[API] Invalid API key or access token "
                    "(unrecognized login or wrong password)"
                },
            )
        if req.method != "GET" or req.path != f"/admin/api/{self.VERSION}/orders.json":
            raise Reply(404, {"errors": "Not Found"})
        limit = int(req.query.get("limit", 50))
        if not 1 <= limit <= 250:
            raise Reply(400, {"errors": {"limit": "must be between 1 and 250"}})
        if "page_info" in req.query:
            if set(req.query) - {"page_info", "limit", "fields"}:
                raise Reply(400, {"errors": {"page_info": "Invalid value."}})
            state = json.loads(base64.urlsafe_b64decode(req.query["page_info"]))
            since, offset = state["since"], state["offset"]
        else:
            if req.query.get("status") != "any":
                raise Reply(400, {"errors": "status=any expected by these tests"})
            since, offset = req.query.get("updated_at_min"), 0
        found = [
            o
            for o in sorted(self.orders, key=lambda o: o["id"], reverse=True)
            if since is None
            or datetime.fromisoformat(o["updated_at"]) >= datetime.fromisoformat(since)
        ]
        page = found[offset : offset + limit]
        headers = {}
        if offset + limit < len(found):
            token = base64.urlsafe_b64encode(
                json.dumps({"since": since, "offset": offset + limit}).encode()
            ).decode()
            query = urlencode({"limit": limit, "page_info": token})
            headers["Link"] = f'<{self.url}{req.path}?{query}>; rel="next"'
        return 200, {"orders": page}, headers


class FakeZendesk(ProviderServer):
    """``GET /api/v2/incremental/tickets.json?start_time=`` with Basic
    ``{email}/token:{api_token}``: tickets whose ``generated_timestamp`` is at
    or after ``start_time``, ``per_page`` at a time, with ``end_time`` (the
    last one's timestamp), ``next_page`` and ``end_of_stream``; ``include``
    sideloads ``users`` and ``metric_sets``."""

    def __init__(self, per_page: int = 1000):
        self.per_page = per_page
        self.tickets: list[dict] = []
        self.users: dict[int, dict] = {}
        self.metric_sets: dict[int, dict] = {}
        super().__init__()

    def handle(self, req):
        if basic_auth(req) != (f"{ZENDESK_EMAIL}/token", ZENDESK_TOKEN):
            raise Reply(401, {"error": "Couldn't authenticate you"})
        if req.method != "GET" or req.path != "/api/v2/incremental/tickets.json":
            raise Reply(404, {"error": "InvalidEndpoint", "description": "Not found"})
        if "start_time" not in req.query:
            raise Reply(400, {"error": "InvalidValue", "description": "start_time is required"})
        start = int(req.query["start_time"])
        found = sorted(
            (t for t in self.tickets if t["generated_timestamp"] >= start),
            key=lambda t: (t["generated_timestamp"], t["id"]),
        )
        page = found[: self.per_page]
        end = page[-1]["generated_timestamp"] if page else start
        include = set(req.query.get("include", "").split(","))
        answer = {
            "tickets": page,
            "count": len(page),
            "end_time": end,
            "next_page": f"{self.url}{req.path}?start_time={end}",
            "end_of_stream": len(found) <= self.per_page,
        }
        if "users" in include:
            wanted = {t["requester_id"] for t in page}
            answer["users"] = [u for uid, u in self.users.items() if uid in wanted]
        if "metric_sets" in include:
            answer["metric_sets"] = [
                self.metric_sets[t["id"]] for t in page if t["id"] in self.metric_sets
            ]
        return 200, answer
