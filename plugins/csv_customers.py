"""Customers from a CSV file on the server: each row becomes an identify call.

Known columns: user_id, email, phone, external_id (an id in the source system,
stored as an identity of kind ``source``), first_name, last_name; any other
column becomes a trait. Empty cells are left out. A row needs at least one
identifier (user_id, email, phone or external_id).
"""

import csv
import hashlib
import json

from engage.plugins import hookimpl
from engage.plugins.base import Importer, ImportProblem, SettingField
from engage.profiles.identifiers import InvalidIdentifier, check_kind, normalize
from engage.profiles.models import Identity

IDENTIFIER_COLUMNS = ("user_id", "email", "phone", "external_id")


class CsvCustomers(Importer):
    id = "csv_customers"
    name = "CSV customers"
    settings_schema = (
        SettingField("path", required=True, help="Path of the CSV file on the server."),
        SettingField(
            "source",
            default="csv",
            help="Identity kind of the external_id column, e.g. the source system's name.",
        ),
    )

    @classmethod
    def check_settings(cls, settings):
        try:
            check_kind(settings["source"])
        except InvalidIdentifier as exc:
            return {"source": exc.reason}
        return {}

    def read(self, *, workspace):
        source = self.settings["source"]
        region = workspace.default_phone_region
        # utf-8-sig drops the byte-order mark spreadsheet programs write.
        with open(self.settings["path"], encoding="utf-8-sig", newline="") as file:
            reader = csv.reader(file)
            columns = [name.strip() for name in next(reader, ())]
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue  # a blank line
                row = {}
                for name, cell in zip(columns, cells, strict=False):
                    if name and cell.strip():
                        row[name] = cell.strip()
                yield self._call(
                    row, line=reader.line_num, columns=columns, source=source, region=region
                )

    def _call(self, row: dict, *, line: int, columns: list, source: str, region: str):
        where = f"line {line}"
        if not any(row.get(column) for column in IDENTIFIER_COLUMNS):
            return ImportProblem(
                where,
                ",".join(IDENTIFIER_COLUMNS),
                f"no identifier: all are empty (the file's columns: {', '.join(columns)})",
            )
        for kind in (Identity.EMAIL, Identity.PHONE):
            if kind in row:
                try:
                    normalize(kind, row[kind], phone_region=region)
                except InvalidIdentifier as exc:
                    return ImportProblem(where, kind, exc.reason)
        traits = {k: v for k, v in row.items() if k not in ("user_id", "external_id")}
        call = {"type": "identify", "traits": traits}
        if "user_id" in row:
            call["userId"] = row["user_id"]
        else:
            # /v1 needs userId or anonymousId: a row known only by email, phone
            # or external id gets an anonymousId that is stable for that row.
            call["anonymousId"] = f"{source}:{self._row_key(row)}"
        if "external_id" in row:
            call["context"] = {"externalIds": [{"type": source, "id": row["external_id"]}]}
        # The same row imported again is the same event; an edited row is a new one.
        call["messageId"] = f"{source[:20]}:{self._row_key(row)}:{self._digest(row)[:16]}"
        return call

    @staticmethod
    def _row_key(row: dict) -> str:
        for column in IDENTIFIER_COLUMNS:
            if column in row:
                return f"{column}={row[column]}"[:60]
        raise AssertionError("checked by the caller")

    @staticmethod
    def _digest(row: dict) -> str:
        return hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()


@hookimpl
def engage_importers():
    return [CsvCustomers]
