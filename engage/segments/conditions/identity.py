"""``{"identity": {"kind": "email"}}``: the profile has an identifier of a kind."""

from engage.profiles.identifiers import KIND_PATTERN
from engage.profiles.models import Identity

from .. import schema

KIND = "identity"
# The kind meaning "any identifier at all".
ANY = "any"


def validate(checker, body, path: str) -> None:
    if checker.fields(body, path, {"kind"}, set()):
        kind = body["kind"]
        if not isinstance(kind, str) or not (kind == ANY or KIND_PATTERN.match(kind)):
            checker.error(
                f"{path}.kind", "must be 'any' or an identifier kind (email, phone, user_id, ...)"
            )


def to_sql(compiler, body: dict) -> tuple[str, list]:
    sql = f"EXISTS (SELECT 1 FROM {Identity._meta.db_table} i WHERE i.profile_id = p.id"  # noqa: S608 - constant table
    if body["kind"] == ANY:
        return sql + ")", []
    return sql + " AND i.kind = %s)", [body["kind"]]


def describe(body: dict, segment_names: dict[int, str]) -> str:
    if body["kind"] == ANY:
        return "has any identifier"
    article = "an" if body["kind"][0] in "aeiou" else "a"
    return f"has {article} {body['kind']}"


def dependencies(body: dict) -> schema.Dependencies:
    return schema.Dependencies(frozenset(), frozenset(), profile_data=True, time_dependent=False)
