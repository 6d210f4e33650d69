"""Dashboards benchmark: the admin overview's charts over the metrics
benchmark's generated shop.

``scripts/bench dashboards -- --customers 100000 --events 2000000``: the shop
of ``bench/metrics.py`` (same generator, seed and year), then each chart of
the overview over the last 30 days and over the whole year, beside that
benchmark's plain ``GROUP BY profile_id`` over the same events. The page's
time is the sum of its charts plus rendering a few tables.
"""

from datetime import timedelta

from bench._pg import server_version, services, setup_django
from bench._timing import timed
from bench.metrics import END, START, parser, report_shop, reset, shop

RANGES = {"30 days": (END - timedelta(days=29), END), "a year": (START, END)}


def charts_timed(workspace, start, end) -> dict[str, float]:
    from engage.dashboards import charts
    from engage.metrics.window import Window

    window = Window(start, end)
    builders = [
        charts.customers_and_events,
        charts.active_by_channel,
        charts.revenue,
        charts.cohort_retention,
        charts.nps_trend,
        charts.messages,
        charts.journey_funnel,
        charts.decisions,
    ]
    return {build.__name__: timed(build, workspace, window)[0] for build in builders}


def run(args) -> dict:
    workspace, result = shop("dashboards", args)
    ranges = {name: charts_timed(workspace, *days) for name, days in RANGES.items()}
    reset()
    return {**result, "ranges": ranges}


def report(result: dict, pg: str) -> None:
    base = report_shop("dashboards", result, pg)
    for name, charts in result["ranges"].items():
        print(f"  overview over {name}: {sum(charts.values()):.2f} s")
        for chart, seconds in charts.items():
            print(f"    {chart:<30} {seconds:8.2f} s  {seconds / base:6.2f}x baseline")


def main(argv=None) -> None:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    with services() as env:
        setup_django(env)
        report(run(args), server_version(env["DATABASE_URL"]))


if __name__ == "__main__":
    main()
