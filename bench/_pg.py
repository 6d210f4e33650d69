"""Throwaway PostgreSQL and Redis for benchmarks, set up as scripts/test does.

``services()`` yields the environment a benchmark runs with: ``DATABASE_URL``
of a freshly created database and ``REDIS_URL``. When ``DATABASE_URL`` (or
``REDIS_URL``) is already set, that server is used instead and nothing is
started. Unlike the test cluster, this one keeps PostgreSQL's durability
settings (``fsync``, ``synchronous_commit``) on: an ingestion benchmark that
acknowledges events before they reach the disk would measure nothing useful.
"""

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

PG_USER = "engage-pg"  # PostgreSQL refuses to run as root
DATABASE = "engage_bench"
# As measured in research: a cache that holds the benchmark's data, WAL that
# does not checkpoint mid-run, no JIT. Durability stays at the defaults.
PG_SETTINGS = {
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "effective_cache_size": "8GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    "random_page_cost": "1.1",
    "jit": "off",
    "max_connections": "200",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if not found:
        raise SystemExit("PostgreSQL is not installed (scripts/bench installs it)")
    return Path(os.environ.get("ENGAGE_TEST_PG_BIN") or found[-1])


def _as_pg_user(command: list[str]) -> list[str]:
    if os.getuid() != 0:
        return command
    try:
        subprocess.run(["id", PG_USER], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
        )
    return ["runuser", "-u", PG_USER, "--", *command]


@contextlib.contextmanager
def postgres(tmp: Path):
    """A PostgreSQL cluster in ``tmp``; yields its URL (database created)."""
    data = tmp / "pg" / "data"
    data.parent.mkdir()
    if os.getuid() == 0:
        _as_pg_user(["true"])  # creates the user
        shutil.chown(data.parent, PG_USER)
    binaries = pg_bin()
    port = free_port()
    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    initdb += ["-E", "UTF8"]
    subprocess.run(_as_pg_user(initdb), check=True, capture_output=True)
    options = f"-h 127.0.0.1 -p {port} -k {data.parent} " + " ".join(
        f"-c {name}={value}" for name, value in PG_SETTINGS.items()
    )
    pg_ctl = str(binaries / "pg_ctl")
    log = str(data.parent / "log")
    subprocess.run(
        _as_pg_user([pg_ctl, "-D", str(data), "-l", log, "-w", "-o", options, "start"]),
        check=True,
        capture_output=True,
    )
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres") as conn:
            conn.autocommit = True
            conn.execute(f"CREATE DATABASE {DATABASE}")
        yield f"postgres://postgres@127.0.0.1:{port}/{DATABASE}"
    finally:
        subprocess.run(
            _as_pg_user([pg_ctl, "-D", str(data), "-m", "fast", "stop"]), capture_output=True
        )


@contextlib.contextmanager
def redis(tmp: Path):
    """A Redis server on loopback without persistence; yields its URL."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(tmp)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def services():
    """Yield ``{"DATABASE_URL": ..., "REDIS_URL": ...}``, starting what is not given."""
    # Stopped with SIGTERM, still stop the servers and remove their files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="engage-bench-")))
        tmp.chmod(0o755)
        env = {}
        env["DATABASE_URL"] = os.environ.get("DATABASE_URL") or stack.enter_context(postgres(tmp))
        env["REDIS_URL"] = os.environ.get("REDIS_URL") or stack.enter_context(redis(tmp))
        yield env


def setup_django(env: dict[str, str]) -> None:
    """Configure Django in this process against ``env`` and migrate the database.

    Celery gets a broker (the benchmark's Redis) that no worker consumes, so
    that ingestion publishes its processing request as in production instead
    of processing inline.
    """
    os.environ.update(env)
    os.environ["CELERY_BROKER_URL"] = env["REDIS_URL"]
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def server_version(database_url: str) -> str:
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]
