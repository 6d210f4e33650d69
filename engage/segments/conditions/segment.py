"""``{"segment": {"id": 7}}``: a current member of another segment.

References are checked against the workspace's segments, cycles included,
once the whole tree is otherwise valid (``validation``).
"""

from django.apps import apps

from .. import schema

KIND = schema.SEGMENT


def validate(checker, body, path: str) -> None:
    if checker.fields(body, path, {"id"}, set()) and checker.integer(
        body["id"], f"{path}.id", 1, None
    ):
        checker.segment_refs.append((f"{path}.id", body["id"]))


def to_sql(compiler, body: dict) -> tuple[str, list]:
    table = apps.get_model("segments", "SegmentMembership")._meta.db_table
    return (
        f"EXISTS (SELECT 1 FROM {table} m"  # noqa: S608 - table/column names are constants, values are params
        " WHERE m.segment_id = %s"
        " AND m.profile_id = p.id AND m.exited_at IS NULL)",
        [body["id"]],
    )


def describe(body: dict, segment_names: dict[int, str]) -> str:
    ref = body["id"]
    if ref in segment_names:
        return f'is in segment "{segment_names[ref]}"'
    return f"is in segment {ref}"


def dependencies(body: dict) -> schema.Dependencies:
    # The other segment refreshes on its own; its changes reach this one
    # through the real-time re-check of referring segments and the periodic one.
    return schema.Dependencies(frozenset(), frozenset(), profile_data=False, time_dependent=True)
