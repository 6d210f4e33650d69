"""``{"consent": {"channel": "email", "status": "opted_in"}}``: the current
consent status (the latest row) for a channel and topic."""

from django.apps import apps

from engage.profiles.identifiers import KIND_PATTERN

from .. import schema

KIND = "consent"
STATUSES = ("opted_in", "opted_out")
DEFAULT_TOPIC = "marketing"


def validate(checker, body, path: str) -> None:
    if not checker.fields(body, path, {"channel", "status"}, {"topic"}):
        return
    for name in ("channel", "topic"):
        value = body.get(name, DEFAULT_TOPIC)
        if not isinstance(value, str) or not KIND_PATTERN.match(value):
            checker.error(
                f"{path}.{name}",
                "must be a lowercase name of letters, digits or '_' (e.g. email, sms)",
            )
    if body["status"] not in STATUSES:
        checker.error(f"{path}.status", "must be 'opted_in' or 'opted_out'")


def to_sql(compiler, body: dict) -> tuple[str, list]:
    """The latest consent row for the topic on this channel (or on every
    channel, stored as an empty channel) has the status."""
    table = apps.get_model("messaging", "Consent")._meta.db_table
    latest = (
        f"(SELECT c.status FROM {table} c"  # noqa: S608 - table/column names are constants, values are params
        " WHERE c.profile_id = p.id"
        " AND c.topic = %s AND c.channel IN (%s, '')"
        " ORDER BY c.created_at DESC, c.id DESC LIMIT 1)"
    )
    topic = body.get("topic", DEFAULT_TOPIC)
    return compiler.d.coalesce(f"{latest} = %s"), [topic, body["channel"], body["status"]]


def describe(body: dict, segment_names: dict[int, str]) -> str:
    status = "opted in to" if body["status"] == "opted_in" else "opted out of"
    return f"{status} {body.get('topic', DEFAULT_TOPIC)} on {body['channel']}"


def dependencies(body: dict) -> schema.Dependencies:
    # A consent changes without an event (the API, the admin, an unsubscribe).
    return schema.Dependencies(frozenset(), frozenset(), profile_data=True, time_dependent=True)
