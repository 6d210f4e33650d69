"""``wait``: park for a fixed duration, then go on by ``next``."""

from .. import graph

TYPE = "wait"
AT_ENTRY = True


def outcomes(node: dict) -> tuple[str, ...]:
    return (graph.NEXT,)


def validate(checker, node: dict, path: str) -> None:
    if checker.fields(node, path, {"duration"}, set()):
        checker.duration(node["duration"], f"{path}.duration")


def run(batch) -> None:
    until = batch.now + graph.duration(batch.node["duration"])
    for enrollment in batch.enrollments:
        if batch.woken(enrollment):
            batch.go(enrollment)
        else:
            batch.wait(enrollment, until, reason="duration")
