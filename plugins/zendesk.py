"""Zendesk Support tickets: who asked (identify) and when a case opened and
was solved (``Ticket Opened`` / ``Ticket Solved``), which pause promotions to
a customer mid-support.

Reads the time-based incremental ticket export,
``GET /api/v2/incremental/tickets.json?start_time=<unix time>``, with the
requesters and metric sets sideloaded (``include=users,metric_sets``) and
HTTP Basic ``<email>/token:<api token>``. Each page answers ``end_time``, the
``start_time`` of the next page and of the next run (the cursor), and
``end_of_stream`` when it reached the present. Time-based pages may repeat a
ticket changed in the second between two pages; messageIds make the repeat
a duplicate.

The export says what a ticket is now, not how it got there, so events are
keyed by how often it was reopened (its metric set's ``reopens``): each
episode opens once and is solved once, and a reopened ticket opens again.
"""

import base64

from engage.plugins import hookimpl
from engage.plugins.base import Checkpoint, Importer, ImportProblem, SettingField
from engage.plugins.outbound import url_refusal
from engage.plugins.provider_http import SourceError, source_request

SOURCE = "Zendesk"
OPEN_STATUSES = frozenset({"new", "open", "pending", "hold"})
SOLVED_STATUSES = frozenset({"solved", "closed"})


def who(user_id) -> dict:
    return {
        "anonymousId": f"zendesk:{user_id}",
        "context": {"externalIds": [{"type": "zendesk", "id": str(user_id)}]},
    }


class Zendesk(Importer):
    id = "zendesk"
    name = "Zendesk tickets"
    settings_schema = (
        SettingField(
            "url", type="url", required=True, help="Your Zendesk, e.g. https://acme.zendesk.com"
        ),
        SettingField("email", type="email", required=True, help="The API token's agent email."),
        SettingField("api_token", required=True, secret=True),
        SettingField(
            "start_time",
            type="integer",
            default=0,
            help="Unix time the first run exports from (0: every ticket).",
        ),
    )

    @classmethod
    def check_settings(cls, settings):
        errors = {}
        refusal = url_refusal(settings["url"])
        if refusal:
            errors["url"] = refusal
        if settings["start_time"] < 0:
            errors["start_time"] = "must be a Unix time (0 or more)"
        return errors

    def read(self, *, workspace):
        start = (self.cursor or {}).get("start_time", self.settings["start_time"])
        token = f"{self.settings['email']}/token:{self.settings['api_token']}"
        auth = "Basic " + base64.b64encode(token.encode()).decode()
        url = self.settings["url"].rstrip("/") + "/api/v2/incremental/tickets.json"
        while True:
            page = source_request(
                "GET",
                url,
                params={"start_time": start, "include": "users,metric_sets"},
                headers={"Authorization": auth},
                source=SOURCE,
                credential="api_token",
            ).json()
            users = {user["id"]: user for user in page.get("users") or []}
            reopens = {m["ticket_id"]: m for m in page.get("metric_sets") or []}
            for ticket in page.get("tickets") or []:
                yield from self._ticket(ticket, users, reopens.get(ticket.get("id")) or {})
            end = page.get("end_time")
            if end is not None:
                yield Checkpoint({"start_time": end})
            if page.get("end_of_stream") or end is None:
                return
            if end <= start:
                # A full page within one second: asking again would loop.
                raise SourceError(f"{SOURCE}: the export did not move past start_time={start}")
            start = end

    def _ticket(self, ticket: dict, users: dict, metrics: dict):
        where = f"ticket {ticket.get('id')}"
        requester = ticket.get("requester_id")
        if requester is None:
            yield ImportProblem(where, "requester_id", "missing")
            return
        user = users.get(requester)
        if user is not None:
            traits = {k: user.get(k) for k in ("email", "phone", "name")}
            yield {
                "type": "identify",
                "messageId": f"zendesk:user:{requester}:{user.get('updated_at', '')}"[:100],
                "timestamp": user.get("updated_at"),
                "traits": {k: v for k, v in traits.items() if v not in (None, "")},
                **who(requester),
            }
        status = ticket.get("status")
        episode = metrics.get("reopens") or 0
        properties = {
            "ticket_id": str(ticket["id"]),
            "subject": ticket.get("subject"),
            "status": status,
            "channel": (ticket.get("via") or {}).get("channel"),
            "priority": ticket.get("priority"),
            "type": ticket.get("type"),
        }
        properties = {k: v for k, v in properties.items() if v is not None}
        opened = {
            "type": "track",
            "event": "Ticket Opened",
            "messageId": f"zendesk:ticket:{ticket['id']}:opened:{episode}",
            "timestamp": ticket.get("created_at") if episode == 0 else ticket.get("updated_at"),
            "properties": properties,
            **who(requester),
        }
        if status in OPEN_STATUSES:
            yield opened
        elif status in SOLVED_STATUSES:
            if episode == 0:  # when a reopened episode began is not in the export
                yield opened
            yield {
                "type": "track",
                "event": "Ticket Solved",
                "messageId": f"zendesk:ticket:{ticket['id']}:solved:{episode}",
                "timestamp": metrics.get("solved_at") or ticket.get("updated_at"),
                "properties": properties,
                **who(requester),
            }


@hookimpl
def engage_importers():
    return [Zendesk]
