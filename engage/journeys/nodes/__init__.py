"""The node types of a journey, one module per type.

Each module holds everything about its type, so a new type is one file plus
a line here:

- ``TYPE``: the value of the node's ``type``;
- ``outcomes(node) -> tuple[str, ...]``: the edges it can leave by (the keys
  its ``next`` object may have; ``("next",)`` for one way out);
- ``validate(checker, node, path)``: report errors through ``checker``
  (``validation.Checker``), each naming the JSON path of the bad field;
- ``run(batch)``: carry out the step for every enrollment of
  ``batch`` (``engine.StepBatch``: enrollments of one version standing at
  this node, locked by the engine) by calling ``batch.go``, ``batch.wait``
  or ``batch.end`` once for each. Work that reads the database does it for
  the whole batch at once (one query, not one per customer).
"""

from . import (
    branch,
    exit,
    ladder,
    send,
    split,
    update_traits,
    wait,
    wait_for,
    wait_until,
    webhook,
)

NODE_TYPES: dict = {
    module.TYPE: module
    for module in (
        exit,
        wait,
        branch,
        split,
        update_traits,
        webhook,
        send,
        wait_until,
        ladder,
        wait_for,
    )
}
