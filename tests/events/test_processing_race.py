"""Two worker processes resolve each customer's events in their order.

On the processing benchmark's stream, checked by its own check
(``bench/processing.py``): customers browse anonymously and identify, and
some browse and identify on a second device, whose profile is then merged
into theirs. A second device's identify resolved before that device's page
view finds no profile of the device's own: one merge is missing. The check
also compares the times at which events sharing an identifier were resolved,
which sees any reordering, not only that one.
"""

import time

import pytest
from django.db import connection

from bench import processing as bench
from engage.events.processing import process_pending
from tests.live_processes import process_env, processing_workers

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("transactional_db")]

USERS = 150
# Small batches put many batch boundaries in a run, and the race lies there.
BATCH_SIZE = 20
# Runs are repeated until this many seconds are spent: the race is timing-bound.
TIME_BUDGET = 30.0


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("workers run side by side on PostgreSQL only")


def test_two_worker_processes_resolve_each_customers_events_in_order(workspace, tmp_path):
    deadline = time.monotonic() + TIME_BUDGET
    runs, longest = 0, 0.0
    while runs == 0 or time.monotonic() + longest < deadline:
        started = time.monotonic()
        messages, second_devices = bench.generate(USERS, 0.3, seed=runs)
        bench.reset(workspace.workspace.pk, messages)
        with processing_workers(process_env(), tmp_path, count=2, batch_size=BATCH_SIZE) as go:
            go(timeout=TIME_BUDGET)
        process_pending()  # what the workers left as they stopped, as the benchmark does

        assert bench.problems(USERS, second_devices, len(messages)) == [], f"run {runs + 1}"
        runs += 1
        longest = max(longest, time.monotonic() - started)


def test_the_processing_benchmarks_check_holds_with_two_workers(workspace):
    args = bench.parser().parse_args(["--users", "200"])
    messages, second_devices = bench.generate(args.users, args.second_device)
    bench.reset(workspace.workspace.pk, messages)

    bench.measure("process", 2, args.batch_size)  # fails if a worker process fails
    bench.finish()

    assert bench.problems(args.users, second_devices, len(messages)) == []
