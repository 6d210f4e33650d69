"""``python -m bench [name ...] [-- options]``: start PostgreSQL and Redis, run benchmarks.

Every module of this package not starting with ``_`` (settings and urls
aside) is a benchmark with its own ``--help``. With no name, all of them run,
one process each, against the same throwaway servers; options after ``--`` go
to the benchmark (one name only).
"""

import os
import subprocess
import sys
from pathlib import Path

from bench._pg import services

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"settings", "urls"}


def available() -> list[str]:
    names = {path.stem for path in HERE.glob("*.py") if not path.stem.startswith("_")}
    # Ingestion first: the others start from an empty events table it leaves.
    return sorted(names - NOT_BENCHMARKS, key=lambda name: (name != "ingest", name))


def main(argv: list[str]) -> int:
    names, options = argv, []
    if "--" in argv:
        split = argv.index("--")
        names, options = argv[:split], argv[split + 1 :]
    known = available()
    if any(name in ("-h", "--help") for name in names):
        print(__doc__.strip(), "\n\nbenchmarks:", ", ".join(known))
        return 0
    unknown = [name for name in names if name not in known]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(known)}")
        return 2
    if options and len(names) != 1:
        print("options after -- need exactly one benchmark name")
        return 2
    failed = []
    with services() as env:
        for name in names or known:
            command = [sys.executable, "-m", f"bench.{name}", *options]
            if subprocess.run(command, env={**os.environ, **env}, check=False).returncode:
                failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
