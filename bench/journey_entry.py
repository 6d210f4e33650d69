"""Journey entry benchmark: what journeys cost processing on ``events_recorded``.

``--journeys`` (5) live journeys entered on ``Order Completed`` (wait a day,
exit), as in the pipeline benchmark. The journeys' receiver is timed on
chunks of ``--chunk`` (1,000) announced events, as processing's worker runs
it after each batch commits (the engine's first step, which the entry asks a
worker for, is not in the figure):

1. every event an order of a new customer: each enters every journey;
2. a fifth of the events orders of new customers, the rest page views;
3. every event an order of a customer already in every journey.

Prints the median seconds and the statements of ``--rounds`` (3) chunks of
each, and for the first, beside the baseline measured in the same run: the
same enrollments and ledger rows written by one hand-written statement (what
any entry has to write, no rule checked), their references checked, rolled
back. Both figures include PostgreSQL's checks of the new rows' references
(customer, journey, version, workspace), which run at commit.
"""

import argparse
import os
import statistics
import time

from bench._pg import server_version, services, setup_django

DEFINITION = {
    "trigger": {"event": "Order Completed"},
    "entry": {},
    "start": "pause",
    "nodes": {
        "pause": {"type": "wait", "duration": {"days": 1}, "next": "done"},
        "done": {"type": "exit"},
    },
}


def chunk_of(workspace, profiles, kinds) -> list:
    """The events of ``profiles`` recorded without announcing them."""
    from django.utils import timezone

    from engage.events.recording import EventToRecord, record_events
    from engage.events.signals import events_recorded
    from engage.journeys.receivers import on_events_recorded

    now = timezone.now()
    events = [
        EventToRecord(workspace.pk, p.pk, kind, f"{kind}-{p.pk}-{time.time_ns()}", now, {})
        for p, kind in zip(profiles, kinds, strict=True)
    ]
    events_recorded.disconnect(dispatch_uid="journeys-events")
    try:
        return record_events(events)
    finally:
        events_recorded.connect(on_events_recorded, dispatch_uid="journeys-events")


def timed_receiver(recorded) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from engage.journeys.receivers import on_events_recorded

    # Through the commit, as in processing's worker, where PostgreSQL checks
    # every new row's references.
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        on_events_recorded(sender=None, events=recorded)
        return time.perf_counter() - started, len(queries)


BASELINE_SQL = """
    WITH entered AS (
        INSERT INTO journeys_enrollment
            (workspace_id, journey_id, version_id, profile_id, origin_profile_id, node_id,
             visit, waiting, next_run_at, waiting_for, state, entered_at, end_reason)
        SELECT j.workspace_id, j.id, j.live_version_id, p, p, 'pause',
               0, false, now(), '', '{}', now(), ''
        FROM journeys_journey j CROSS JOIN unnest(%s::bigint[]) AS p
        WHERE j.workspace_id = %s AND j.status = 'live'
        RETURNING id, workspace_id, journey_id, profile_id
    )
    INSERT INTO messaging_messagedecision
        (workspace_id, profile_id, origin_profile_id, channel, action, reason, detail,
         source, journey_id, journey_version, journey_node_id, enrollment_id, created_at)
    SELECT workspace_id, profile_id, profile_id, '', 'enter', 'event', '',
           'journey', journey_id, 1, 'pause', id, now()
    FROM entered
"""


def baseline(workspace, profiles) -> float:
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(BASELINE_SQL, [[p.pk for p in profiles], workspace.pk])
            # The references, checked as a commit would, then rolled back.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return seconds


def run(args) -> dict[str, list[tuple[float, int]]]:
    from engage.journeys.services import create_journey, publish
    from engage.profiles.models import Profile
    from engage.workspaces.services import create_workspace

    workspace = create_workspace(name=f"bench-journey-entry-{os.getpid()}").workspace
    for n in range(args.journeys):
        journey = create_journey(workspace=workspace, name=f"journey {n}", definition=DEFINITION)
        publish(version=journey.versions.get())

    def new_customers():
        return Profile.objects.bulk_create(Profile(workspace=workspace) for _ in range(args.chunk))

    orders = ["Order Completed"] * args.chunk
    mixed = ["Order Completed" if i % 5 == 0 else "Page Viewed" for i in range(args.chunk)]
    results: dict[str, list[tuple[float, int]]] = {
        "new": [],
        "fifth": [],
        "enrolled": [],
        "baseline": [],
    }
    for _ in range(args.rounds):
        people = new_customers()
        results["baseline"].append((baseline(workspace, people), 1))
        results["new"].append(timed_receiver(chunk_of(workspace, people, orders)))
        results["fifth"].append(timed_receiver(chunk_of(workspace, new_customers(), mixed)))
        results["enrolled"].append(timed_receiver(chunk_of(workspace, people, orders)))
    return results


def report(results, args, pg: str, load: float) -> None:
    print(
        f"\njourney entry: PostgreSQL {pg}, {os.cpu_count()} CPUs, load {load:.1f}, "
        f"{args.journeys} live journeys, chunks of {args.chunk:,} events"
    )
    labels = {
        "new": "orders of new customers (each enters every journey)",
        "fifth": "a fifth orders of new customers, the rest page views",
        "enrolled": "orders of customers already in every journey",
    }
    for key, label in labels.items():
        seconds = statistics.median(s for s, _ in results[key])
        statements = max(n for _, n in results[key])
        print(f"  {label:<55} {seconds:6.3f} s  {statements:3d} statements")
    base = statistics.median(s for s, _ in results["baseline"])
    new = statistics.median(s for s, _ in results["new"])
    print(f"  baseline: the first chunk's rows in one statement      {base:6.3f} s")
    print(f"  ratio first chunk : baseline = {new / base:.1f}x")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--journeys", type=int, default=5, help="live journeys on Order Completed")
    p.add_argument("--chunk", type=int, default=1000, help="events per announced chunk")
    p.add_argument("--rounds", type=int, default=3, help="chunks of each kind")
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    load = os.getloadavg()[0]
    with services() as env:
        setup_django(env)
        results = run(args)
        report(results, args, server_version(env["DATABASE_URL"]), load)


if __name__ == "__main__":
    main()
