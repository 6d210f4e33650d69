"""``exit``: the end of the walk; the enrollment is ``completed``."""

from ..models import Enrollment

TYPE = "exit"
AT_ENTRY = True


def outcomes(node: dict) -> tuple[str, ...]:
    return ()


def validate(checker, node: dict, path: str) -> None:
    checker.fields(node, path, set(), set())


def run(batch) -> None:
    for enrollment in batch.enrollments:
        batch.end(enrollment, Enrollment.COMPLETED)
