"""``{"trait": {"key": "plan", "op": "equals", "value": "pro"}}``: a profile trait."""

from .. import schema
from . import value

KIND = "trait"


def validate(checker, body, path: str) -> None:
    if checker.fields(body, path, {"key", "op"}, {"value"}):
        checker.json_path(body["key"], f"{path}.key")
        value.validate(checker, body, path)


def to_sql(compiler, body: dict) -> tuple[str, list]:
    return value.to_sql(compiler, "p.traits", body["key"], body["op"], body.get("value"))


def describe(body: dict, segment_names: dict[int, str]) -> str:
    return value.describe(body["key"], body["op"], body.get("value"))


def dependencies(body: dict) -> schema.Dependencies:
    return schema.Dependencies(
        event_names=frozenset(),
        # the top-level key: "address.city" changes when "address" is set.
        trait_keys=frozenset({body["key"].split(".")[0]}),
        profile_data=False,
        time_dependent=body["op"] in schema.RELATIVE_DATE_OPS,
    )
