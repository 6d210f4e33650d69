"""Customers from a CSV file: each row becomes an identify call.

The file is uploaded in the admin, named by the server's operator
(``import_source --file``), or set as ``path`` inside the workspace's import
directory; engage opens it (see ``Importer.reads_file``). Known columns:
user_id, email, phone, external_id (an id in the source system, stored as an
identity of kind ``source``), first_name, last_name; any other column becomes
a trait. Empty cells are left out. A row needs at least one identifier
(user_id, email, phone or external_id).

Problems are reported by line and column name, never quoting the file
(``engage.imports.csvfile``).
"""

import hashlib
import json

from engage.events.importing import path_setting_problems
from engage.imports.csvfile import csv_rows
from engage.plugins import hookimpl
from engage.plugins.base import Importer, ImportProblem, SettingField
from engage.profiles.identifiers import InvalidIdentifier, check_kind, normalize
from engage.profiles.models import Identity

IDENTIFIER_COLUMNS = ("user_id", "email", "phone", "external_id")
NO_IDENTIFIER_COLUMN = "the file has no user_id, email, phone or external_id column"


class CsvCustomers(Importer):
    id = "csv_customers"
    name = "CSV customers"
    reads_file = True
    settings_schema = (
        SettingField(
            "path",
            help="A CSV file in this workspace's import directory on the server, e.g. "
            "customers.csv; or leave it blank and upload the file here.",
        ),
        SettingField(
            "source",
            default="csv",
            help="Identity kind of the external_id column, e.g. the source system's name.",
        ),
    )

    @classmethod
    def check_settings(cls, settings):
        if problems := path_setting_problems(settings):
            return problems
        try:
            check_kind(settings["source"])
        except InvalidIdentifier as exc:
            return {"source": exc.reason}
        return {}

    def read(self, *, workspace):
        source = self.settings["source"]
        region = workspace.default_phone_region
        for item in csv_rows(self.file, check_columns=_identifier_column):
            if isinstance(item, ImportProblem):
                yield item
            else:
                line, row = item
                yield self._call(row, line=line, source=source, region=region)

    def _call(self, row: dict, *, line: int, source: str, region: str):
        where = f"line {line}"
        if not any(row.get(column) for column in IDENTIFIER_COLUMNS):
            return ImportProblem(
                where,
                ",".join(IDENTIFIER_COLUMNS),
                "no identifier: the row's user_id, email, phone and external_id are all empty",
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


def _identifier_column(columns: list[str]) -> ImportProblem | None:
    if set(columns) & set(IDENTIFIER_COLUMNS):
        return None
    return ImportProblem("line 1", ",".join(IDENTIFIER_COLUMNS), NO_IDENTIFIER_COLUMN)


@hookimpl
def engage_importers():
    return [CsvCustomers]
