"""Events and orders from a CSV file: each row becomes a track call.

Columns:

- who: ``user_id``, ``anonymous_id`` or ``email`` (at least one);
- what and when: ``event`` (the event's name) and ``timestamp`` (ISO 8601,
  UTC when it names no offset);
- properties: a ``properties`` column holding a JSON object, and/or any
  other column, whose cell becomes a property of that name (as text: put
  numbers and lists in the JSON column to keep their type);
- orders: a row with an ``order_id`` is an order, ``Order Completed``
  unless ``event`` says otherwise, with ``revenue`` (a number), ``currency``
  and ``products`` (a JSON array of objects, or product ids separated by
  ``;``) among its properties;
- ``message_id``: the source's own id of the event, when it has one.

The messageId is the row's ``message_id``, else the event's name and the
order's id, else a digest of the row: importing the same file again stores nothing twice, and
an order exported again with edits is still the one order. A row known only
by email gets an anonymousId that is stable for that email, and the email in
``context.traits``, which is what finds (or creates) the customer.

Problems are reported by line and column name, never quoting the file
(``engage.imports.csvfile``).
"""

import hashlib
import json
import math
from datetime import datetime

from engage import json_limits
from engage.events.importing import path_setting_problems
from engage.imports.csvfile import csv_rows
from engage.plugins import hookimpl
from engage.plugins.base import Importer, ImportProblem, SettingField

IDENTIFIER_COLUMNS = ("user_id", "anonymous_id", "email")
#: Columns that are not copied into the properties as they are.
RESERVED = frozenset(
    {*IDENTIFIER_COLUMNS, "event", "timestamp", "properties", "message_id", "revenue", "products"}
)
ORDER_EVENT = "Order Completed"


def _columns_problem(columns: list[str]) -> ImportProblem | None:
    missing = []
    if not set(columns) & set(IDENTIFIER_COLUMNS):
        missing.append("a user_id, anonymous_id or email column")
    if "event" not in columns and "order_id" not in columns:
        missing.append("an event (or order_id) column")
    if "timestamp" not in columns:
        missing.append("a timestamp column")
    if missing:
        return ImportProblem("line 1", "columns", "the file lacks " + "; ".join(missing))
    return None


class CsvEvents(Importer):
    id = "csv_events"
    name = "CSV events and orders"
    reads_file = True
    settings_schema = (
        SettingField(
            "path",
            help="A CSV file in this workspace's import directory on the server, e.g. "
            "orders.csv; or leave it blank and upload the file here.",
        ),
        SettingField(
            "source",
            default="csv",
            help="A short name of the system the file comes from; it prefixes the events' "
            "messageIds, so two systems' order 1001 stay two orders.",
        ),
    )

    @classmethod
    def check_settings(cls, settings):
        if problems := path_setting_problems(settings):
            return problems
        if len(settings["source"]) > 20:
            return {"source": "at most 20 characters"}
        return {}

    def read(self, *, workspace):
        source = self.settings["source"]
        for item in csv_rows(self.file, check_columns=_columns_problem):
            if isinstance(item, ImportProblem):
                yield item
            else:
                line, row = item
                yield self._call(row, where=f"line {line}", source=source)

    def _call(self, row: dict, *, where: str, source: str):
        if not any(row.get(column) for column in IDENTIFIER_COLUMNS):
            return ImportProblem(
                where, ",".join(IDENTIFIER_COLUMNS), "no identifier: all three are empty"
            )
        order_id = row.get("order_id")
        name = row.get("event") or (ORDER_EVENT if order_id else "")
        if not name:
            return ImportProblem(where, "event", "empty: every row needs the event's name")
        if "timestamp" not in row:
            return ImportProblem(where, "timestamp", "empty: every row needs when it happened")
        try:
            datetime.fromisoformat(row["timestamp"])
        except ValueError:
            return ImportProblem(
                where, "timestamp", "not an ISO-8601 date-time, e.g. 2026-03-02T09:30:00Z"
            )
        properties = {k: v for k, v in row.items() if k not in RESERVED}
        if "properties" in row:
            try:
                extra = json_limits.loads(row["properties"])
            except ValueError:
                extra = None
            if not isinstance(extra, dict):
                return ImportProblem(where, "properties", "not a JSON object")
            properties.update(extra)
        if "revenue" in row:
            try:
                revenue = float(row["revenue"])
            except ValueError:
                revenue = math.nan
            if not math.isfinite(revenue):
                return ImportProblem(where, "revenue", "not a number")
            properties["revenue"] = revenue
        if "products" in row:
            products = _products(row["products"])
            if products is None:
                return ImportProblem(
                    where, "products", "neither a JSON array of objects nor ids separated by ;"
                )
            properties["products"] = products
        call = {
            "type": "track",
            "event": name,
            "timestamp": row["timestamp"],
            "properties": properties,
            "messageId": self._message_id(row, name, source),
        }
        if "user_id" in row:
            call["userId"] = row["user_id"]
        if "anonymous_id" in row:
            call["anonymousId"] = row["anonymous_id"]
        if "email" in row:
            call["context"] = {"traits": {"email": row["email"]}}
            if "user_id" not in row and "anonymous_id" not in row:
                # /v1 needs userId or anonymousId: one that is the same for the email.
                call["anonymousId"] = f"{source}:email={row['email']}"[:200]
        return call

    @staticmethod
    def _message_id(row: dict, name: str, source: str) -> str:
        if "message_id" in row:
            return f"{source}:{row['message_id']}"[:100]
        if "order_id" in row:
            return f"{source}:{name}:{row['order_id']}"[:100]
        digest = hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()
        return f"{source}:row:{digest[:40]}"


def _products(cell: str) -> list | None:
    if cell.startswith("["):
        try:
            products = json_limits.loads(cell)
        except ValueError:
            return None
        if all(isinstance(p, dict) for p in products):
            return products
        return None
    return [{"product_id": part.strip()} for part in cell.split(";") if part.strip()]


@hookimpl
def engage_importers():
    return [CsvEvents]
