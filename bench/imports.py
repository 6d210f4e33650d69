"""Import benchmark: a CSV file of N order and event rows through ``import_source``.

For each size (``scripts/bench imports -- --sizes 100000,1000000``):

1. A seeded generator writes an events CSV of N rows (``csv_events``'s
   columns: user_id, event, timestamp, a few property columns, and an order
   with order_id, revenue and products every fourth row) to a temporary file.
2. Baseline: a bare Python reading the same file with ``csv.reader``, row by
   row, doing nothing else: the least any importer must spend.
3. The import as an operator runs it, ``manage.py import_source csv_events
   --file ...``, in a process of its own, recorded as an import run; events
   are stored, and their processing is left to the workers (none run here),
   as in production.

Each runs in its own process, whose peak resident memory (``ru_maxrss``) is
printed beside its rows per second; so is the peak of a process that only
starts Django, which is what the import costs before it reads a line.
Bounded memory shows as an import's peak that does not grow with N.
"""

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import EVENT_NAMES
from bench._pg import server_version, services, setup_django

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["user_id", "event", "timestamp", "page", "campaign", "order_id", "revenue", "products"]
CHILD_ENV = {"DJANGO_SETTINGS_MODULE": "bench.settings", "LOG_LEVEL": "WARNING"}

BASELINE = """
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    for row in csv.reader(f):
        pass
"""
DJANGO_ONLY = "import django; django.setup()"
# Runs a script and prints its peak resident memory as it exits. Not
# ru_maxrss: Linux carries the parent's peak over a fork and exec into the
# child's, and the parent here holds Django and the generator.
PEAK = """
import atexit, runpy, sys
def peak():
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print("peak-rss-kb", kb, flush=True)
atexit.register(peak)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def write_csv(path: Path, n: int, seed: int) -> int:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        for i in range(n):
            ts = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z"
            user = f"u-{rng.randrange(n // 10 + 1)}"
            if i % 4 == 0:
                products = ";".join(f"sku-{rng.randrange(5000)}" for _ in range(rng.randint(1, 3)))
                revenue = f"{rng.uniform(5, 300):.2f}"
                out.writerow([user, "", ts, "", "", f"o-{i}", revenue, products])
            else:
                name = EVENT_NAMES[i % len(EVENT_NAMES)]
                out.writerow([user, name, ts, f"/p/{i % 5000}", f"c-{i % 40}", "", "", ""])
    return path.stat().st_size


def measure(script: Path, args: list[str], env: dict) -> tuple[float, int, str]:
    """Seconds, peak resident memory (bytes) and output of ``python script *args``."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK, str(script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{script.name} {args[:2]} failed:\n{done.stdout}{done.stderr}")
    peak = next(line for line in done.stdout.splitlines() if line.startswith("peak-rss-kb"))
    return seconds, int(peak.split()[1]) * 1024, done.stdout


def run_size(n: int, args, env: dict, folder: Path) -> dict:
    from django.db import connection

    from engage.plugins.services import configure_plugin
    from engage.workspaces.services import create_workspace

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE events_event CASCADE")
    name = f"bench-imports-{n}-{os.getpid()}"
    workspace = create_workspace(name=name).workspace
    configure_plugin(workspace=workspace, plugin_id="csv_events", settings={"source": "bench"})
    path = folder / f"events-{n}.csv"
    size = write_csv(path, n, args.seed)
    child_env = {**os.environ, **env, **CHILD_ENV, "CELERY_BROKER_URL": env["REDIS_URL"]}
    (folder / "baseline.py").write_text(BASELINE)
    (folder / "django_only.py").write_text(DJANGO_ONLY)
    base_s, base_rss, _ = measure(folder / "baseline.py", [str(path)], child_env)
    _, django_rss, _ = measure(folder / "django_only.py", [], child_env)
    command = ["import_source", "csv_events", "--workspace", str(workspace.pk), "--file", str(path)]
    import_s, import_rss, output = measure(ROOT / "manage.py", command, child_env)
    summary = next(line for line in output.splitlines() if line.startswith("read "))
    path.unlink()
    return {
        "rows": n,
        "bytes": size,
        "baseline": (base_s, base_rss),
        "django": django_rss,
        "import": (import_s, import_rss),
        "summary": summary,
    }


def report(results: list[dict], pg: str) -> None:
    mb = 2**20
    print(f"\nimports: PostgreSQL {pg}, {os.cpu_count()} CPUs")
    for r in results:
        (base_s, base_rss), (import_s, import_rss) = r["baseline"], r["import"]
        print(f"  {r['rows']:>9,} rows, {r['bytes'] / mb:,.0f} MB of CSV: {r['summary']}")
        print(
            f"    csv.reader baseline {r['rows'] / base_s:>10,.0f} rows/s  "
            f"peak RSS {base_rss / mb:6.0f} MB"
        )
        print(f"    Django started only {'':>17}peak RSS {r['django'] / mb:6.0f} MB")
        print(
            f"    import_source       {r['rows'] / import_s:>10,.0f} rows/s  "
            f"peak RSS {import_rss / mb:6.0f} MB  ({import_s:.1f} s)"
        )
        print(f"    ratio baseline : import = {import_s / base_s:.1f}x the time")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100000,1000000", help="comma-separated row counts")
    p.add_argument("--seed", type=int, default=42)
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    with services() as env, tempfile.TemporaryDirectory() as folder:
        setup_django(env)
        results = [run_size(n, args, env, Path(folder)) for n in sizes]
        report(results, server_version(env["DATABASE_URL"]))


if __name__ == "__main__":
    main()
