"""``split``: send each customer down one variant, by percentages (A/B tests).

``{"type": "split", "variants": {"a": 50, "b": 50}, "next": {"a": "email",
"b": "sms"}}``

The variant is a hash of the journey, the node and the customer, not a draw:
a customer who comes back (re-entry, a step re-run after a crash) lands in
the same variant, and the ledger records which one.
"""

import hashlib

from engage.messaging.models import MessageDecision

from .. import graph

TYPE = "split"
AT_ENTRY = True
PERCENT = 100


def outcomes(node: dict) -> tuple[str, ...]:
    variants = node.get("variants")
    return tuple(variants) if isinstance(variants, dict) else ()


def validate(checker, node: dict, path: str) -> None:
    if not checker.fields(node, path, {"variants"}, set()):
        return
    variants = node["variants"]
    if not isinstance(variants, dict) or not variants:
        checker.error(f"{path}.variants", "must be an object of variant names to percentages")
        return
    valid = True
    for name, percent in variants.items():
        if not graph.NODE_ID.match(name):
            checker.error(
                f"{path}.variants.{name}",
                "must be named with 1 to 64 letters, digits, '_' or '-'",
            )
            valid = False
        valid &= checker.integer(percent, f"{path}.variants.{name}", 0, PERCENT)
    if valid and sum(variants.values()) != PERCENT:
        checker.error(
            f"{path}.variants",
            f"the percentages must add up to {PERCENT}, not {sum(variants.values())}",
        )


def variant(variants: dict[str, int], *, journey_id: int, node_id: str, profile_id: int) -> str:
    """The customer's variant: a stable point in 0-99 on the variants laid
    end to end in name order (stored JSON does not keep key order)."""
    digest = hashlib.blake2b(f"{journey_id}:{node_id}:{profile_id}".encode(), digest_size=8)
    point = int.from_bytes(digest.digest(), "big") % PERCENT
    for name in sorted(variants):
        point -= variants[name]
        if point < 0:
            return name
    raise ValueError("the percentages do not add up to 100")


def run(batch) -> None:
    variants = batch.node["variants"]
    for enrollment in batch.enrollments:
        name = variant(
            variants,
            journey_id=batch.journey.pk,
            node_id=batch.node_id,
            profile_id=enrollment.profile_id,
        )
        batch.go(enrollment, name, action=MessageDecision.SPLIT, reason=name)
