"""``{"score": {"model": "rfm", "cell": "champions"}}`` or
``{"score": {"model": "ces", "op": "gte", "value": 4}}``: the current score of
a model (one row per profile and model, written by the scoring app)."""

from django.apps import apps

from engage.profiles.identifiers import KIND_PATTERN

from .. import schema
from . import value

KIND = "score"
OPS = (*schema.NUMBER_OPS, *schema.RANGE_OPS)


def validate(checker, body, path: str) -> None:
    if not checker.fields(body, path, {"model"}, {"op", "value", "cell"}):
        return
    if not isinstance(body["model"], str) or not KIND_PATTERN.match(body["model"]):
        checker.error(f"{path}.model", "must be a scoring model id such as 'rfm' or 'ces'")
    if "cell" in body:
        if "op" in body or "value" in body:
            checker.error(f"{path}.cell", "use either cell or op/value, not both")
        cells = _cells(body)
        if not cells or not all(isinstance(c, str) and schema.PATH_SEGMENT.match(c) for c in cells):
            checker.error(
                f"{path}.cell",
                "must be a cell name (e.g. 'champions') or a non-empty list of them",
            )
        return
    if "op" not in body:
        checker.error(f"{path}.op", "is required (or give a cell)")
    elif body["op"] not in OPS:
        checker.error(f"{path}.op", f"must be one of {', '.join(OPS)}")
    else:
        value.validate(checker, body, path)


def to_sql(compiler, body: dict) -> tuple[str, list]:
    """Without the scoring app nobody has a score."""
    try:
        table = apps.get_model("scoring", "Score")._meta.db_table
    except LookupError:
        return compiler.d.false, []
    sql = f"EXISTS (SELECT 1 FROM {table} s"  # noqa: S608 - table/column names are constants, values are params
    sql += " WHERE s.profile_id = p.id AND s.model = %s"
    params = [body["model"]]
    if "cell" in body:
        cells = _cells(body)
        sql += f" AND s.cell IN ({', '.join(['%s'] * len(cells))}))"
        return sql, params + cells
    if body["op"] == "between":
        return sql + " AND s.value BETWEEN %s AND %s)", params + list(body["value"])
    return sql + f" AND s.value {value.COMPARISONS[body['op']]} %s)", [*params, body["value"]]


def describe(body: dict, segment_names: dict[int, str]) -> str:
    if "cell" in body:
        return f"{body['model']} cell is {' or '.join(_cells(body))}"
    return value.describe(f"{body['model']} score", body["op"], body["value"])


def dependencies(body: dict) -> schema.Dependencies:
    # Scores are recomputed on the scoring app's schedule, not by an event.
    return schema.Dependencies(frozenset(), frozenset(), profile_data=False, time_dependent=True)


def _cells(body: dict) -> list:
    return body["cell"] if isinstance(body["cell"], list) else [body["cell"]]
