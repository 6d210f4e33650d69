"""Broadcasts benchmark: handing a large audience out a slice at a time.

``--members`` (100,000) customers in a static segment. A message broadcast
and a journey broadcast (a 1-day wait, then exit) each walk them at a rate
high enough that every slice is the largest (``runs.MAX_SLICE``, 10,000
members): the time each slice takes (members read after the cursor, the
batch of messages created or the members entered, the cursor moved, in one
transaction), members handed out per second, and the peak Python memory a
slice allocates, which should not grow with the audience. The messages go
to a broker no worker consumes, so only the handing out is timed.
"""

import argparse
import os
import statistics
import time
import tracemalloc
from datetime import timedelta

from bench._pg import server_version, services, setup_django
from bench.journeys import customers


def audience(workspace, n: int):
    from django.db import connection

    from engage.segments.models import Segment, SegmentMembership

    ids = customers(workspace, n, plan="free")
    segment = Segment.objects.create(workspace=workspace, name="all", kind=Segment.STATIC)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SegmentMembership._meta.db_table} (segment_id, profile_id, entered_at)"
            " SELECT %s, id, now() FROM unnest(%s::bigint[]) id",
            [segment.pk, ids],
        )
    return segment


def walk(broadcast) -> dict:
    """Run every slice of ``broadcast`` at once: per-slice seconds (the first
    slice apart) and the first slice's peak memory."""
    from django.utils import timezone

    from engage.broadcasts import runs
    from engage.broadcasts.models import Broadcast

    seconds = []
    now = broadcast.send_at
    # The first slice under tracemalloc (which slows Python down) for its
    # peak memory; the others timed without it.
    tracemalloc.start()
    runs.run_slice(broadcast.pk, now=now)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    broadcast.refresh_from_db()
    first = broadcast.targeted
    now = max(broadcast.next_slice_at, timezone.now())
    while True:
        started = time.perf_counter()
        handed = runs.run_slice(broadcast.pk, now=now)
        spent = time.perf_counter() - started
        if handed:
            seconds.append(spent)
        broadcast.refresh_from_db()
        if broadcast.status != Broadcast.RUNNING:
            break
        now = max(broadcast.next_slice_at, timezone.now())
    return {
        "status": broadcast.status,
        "members": broadcast.targeted,
        "entered": broadcast.entered,
        "slices": len(seconds),
        "median_s": statistics.median(seconds),
        "max_s": max(seconds),
        "per_second": (broadcast.targeted - first) / sum(seconds),
        "peak_mb": peak / 2**20,
    }


def run(env: dict[str, str], args) -> None:
    setup_django(env)
    from django.utils import timezone

    from bench.journeys import configure, live_journey
    from engage.broadcasts import services as broadcasts
    from engage.workspaces.services import create_workspace

    print(f"PostgreSQL {server_version(env['DATABASE_URL'])}, {os.cpu_count()} CPUs")
    workspace = create_workspace(name="bench-broadcasts").workspace
    configure(workspace, smtp_port=2525)
    started = time.perf_counter()
    segment = audience(workspace, args.members)
    print(f"seeded {args.members:,} members in {time.perf_counter() - started:.0f} s")
    journey = live_journey(
        workspace,
        "welcome",
        {
            "trigger": {"manual": True},
            "start": "pause",
            "nodes": {
                "pause": {"type": "wait", "duration": {"days": 1}, "next": "done"},
                "done": {"type": "exit"},
            },
        },
    )
    common = {
        "workspace": workspace,
        "segment_id": segment.pk,
        "schedule": "once",
        "rate": 100_000,
    }
    kinds = {
        "message": {"action": "message", "template": "welcome"},
        "journey": {"action": "journey", "journey_id": journey.pk},
    }
    print("| broadcast | members | slices | median s/slice | max s/slice | members/s | peak MB |")
    print("|---|---|---|---|---|---|---|")
    for kind, fields in kinds.items():
        broadcast = broadcasts.create_broadcast(
            name=kind, send_at=timezone.now() + timedelta(seconds=1), **common, **fields
        )
        broadcasts.schedule_broadcast(broadcast=broadcast)
        r = walk(broadcast)
        assert r["status"] == "completed" and r["members"] == args.members, r
        print(
            f"| {kind} | {r['members']:,} | {r['slices']} | {r['median_s']:.2f} "
            f"| {r['max_s']:.2f} | {r['per_second']:,.0f} | {r['peak_mb']:.0f} |",
            flush=True,
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000, help="segment members")
    args = parser.parse_args(argv)
    with services() as env:
        run(env, args)


if __name__ == "__main__":
    main()
