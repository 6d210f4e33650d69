"""``branch``: go on by ``yes`` or ``no`` as each customer matches a condition.

``{"type": "branch", "condition": {"trait": {"key": "plan", "op": "equals",
"value": "pro"}}, "next": {"yes": "offer", "no": "done"}}``

The condition is a segment rule tree, judged as of the step's time for the
whole batch in one query (the compiler restricted to the batch's customers),
never once per customer.
"""

from engage.messaging.models import MessageDecision
from engage.segments.membership import evaluate

YES = "yes"
NO = "no"
TYPE = "branch"
AT_ENTRY = True


def outcomes(node: dict) -> tuple[str, ...]:
    return (YES, NO)


def validate(checker, node: dict, path: str) -> None:
    if checker.fields(node, path, {"condition"}, set()):
        checker.rules(node["condition"], f"{path}.condition")


def run(batch) -> None:
    matching = evaluate(
        batch.node["condition"],
        workspace_id=batch.workspace.pk,
        now=batch.now,
        profile_ids=[e.profile_id for e in batch.enrollments],
    )
    for enrollment in batch.enrollments:
        verdict = YES if enrollment.profile_id in matching else NO
        batch.go(enrollment, verdict, action=MessageDecision.BRANCH, reason=verdict)
