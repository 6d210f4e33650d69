"""A plain-language sentence for a rule tree, shown in the admin and the API.

Operators read "did purchase at least 2 times in the last 30 days and did not
do app_open in the last 14 days" to check that the JSON says what they meant.
"""

import json

from . import schema

VALUE_PHRASES = {
    "equals": "is",
    "not_equals": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "before": "is before",
    "after": "is after",
}


def describe(rules: dict | None, *, segment_names: dict[int, str] | None = None) -> str:
    """The sentence for a validated tree; ``segment_names`` names referenced segments."""
    if not rules:
        return "uploaded list (static segment)"
    return _node(rules, segment_names or {}, top=True)


def _node(node: dict, names: dict[int, str], top: bool = False) -> str:
    kind = schema.node_kind(node)
    body = node[kind]
    if kind in schema.GROUP_KINDS:
        text = f" {kind} ".join(_node(child, names) for child in body)
        return text if top or len(body) == 1 else f"({text})"
    if kind == schema.NOT:
        inner = _node(body, names)
        return f"not {inner}" if inner.startswith("(") else f"not ({inner})"
    if kind == schema.TRAIT:
        return _value(body["key"], body["op"], body.get("value"))
    if kind == schema.IDENTITY:
        if body["kind"] == schema.ANY_IDENTITY:
            return "has any identifier"
        article = "an" if body["kind"][0] in "aeiou" else "a"
        return f"has {article} {body['kind']}"
    if kind == schema.CONSENT:
        status = "opted in to" if body["status"] == "opted_in" else "opted out of"
        topic = body.get("topic", schema.DEFAULT_CONSENT_TOPIC)
        return f"{status} {topic} on {body['channel']}"
    if kind == schema.SCORE:
        if "cell" in body:
            cells = body["cell"] if isinstance(body["cell"], list) else [body["cell"]]
            return f"{body['model']} cell is {' or '.join(cells)}"
        return _value(f"{body['model']} score", body["op"], body["value"])
    if kind == schema.SEGMENT:
        ref = body["id"]
        return f'is in segment "{names[ref]}"' if ref in names else f"is in segment {ref}"
    return _event(body)


def _event(body: dict) -> str:
    did = body.get("did", True)
    name = body["name"]
    if "occurrence" in body:
        text = f"{body['occurrence']} did {name}"
        if not did:
            return f"not ({text}{_filters(body)}{_window(body)})"
    else:
        text = f"did {name}" if did else f"did not do {name}"
        least, most = body.get("at_least", 1), body.get("at_most")
        if most is not None and least == most:
            text += f" exactly {least} time{'s' if least != 1 else ''}"
        elif most is not None:
            text += (
                f" at most {most} times (or never)" if least == 0 else f" {least} to {most} times"
            )
        elif least > 1:
            text += f" at least {least} times"
    return text + _filters(body) + _window(body)


def _filters(body: dict) -> str:
    where = body.get("where", [])
    if not where:
        return ""
    return " with " + " and ".join(_value(f["property"], f["op"], f.get("value")) for f in where)


def _window(body: dict) -> str:
    within, older = body.get("within_days"), body.get("older_than_days")
    if within and older:
        return f" between {older} and {within} days ago"
    if within:
        return f" in the last {within} days"
    if older:
        return f" more than {older} days ago"
    return ""


def _value(key: str, op: str, value) -> str:
    if op == "exists":
        return f"{key} is set"
    if op == "not_exists":
        return f"{key} is not set"
    if op == "between":
        return f"{key} is between {value[0]} and {value[1]}"
    if op == "more_than_days_ago":
        return f"{key} is more than {value} days ago"
    if op == "within_last_days":
        return f"{key} is within the last {value} days"
    if op in schema.LIST_OPS:
        return f"{key} {VALUE_PHRASES[op]} {', '.join(json.dumps(v) for v in value)}"
    shown = value if op in schema.DATE_OPS else json.dumps(value)
    return f"{key} {VALUE_PHRASES[op]} {shown}"
