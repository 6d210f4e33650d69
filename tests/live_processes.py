"""engage as real processes for tests: a gunicorn server, a Celery worker, a Redis.

They run against the test database of the calling pytest process (tests that
use them need ``transactional_db``, so what the test writes is committed and
visible to them) and listen on free loopback ports.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_env(**overrides: str) -> dict[str, str]:
    """The environment of an engage process using this pytest process's test database.

    ``CELERY_BROKER_URL`` is left out unless given: tasks then run inline.
    """
    db = connection.settings_dict
    user, password = quote(db["USER"] or "", safe=""), quote(db["PASSWORD"] or "", safe="")
    env = dict(os.environ)
    env.pop("CELERY_BROKER_URL", None)
    env["DATABASE_URL"] = f"postgres://{user}:{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {START_TIMEOUT}s:\n{log.read_text()}")


def wait_for_http(url: str, process: subprocess.Popen, log: Path) -> None:
    """Until the server answers (gunicorn listens before its worker has loaded Django)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=START_TIMEOUT)
        except httpx.TransportError:
            time.sleep(0.05)  # not listening yet
        else:
            return  # any status is an answer
    raise RuntimeError(f"{url} does not answer after {START_TIMEOUT}s:\n{log.read_text()}")


def wait_for_line(text: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}:\n{log.read_text()}")
        if text in log.read_text():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{text!r} not logged after {START_TIMEOUT}s:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    """Stop ``process`` and everything it started (it leads its own process group)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def kill(process: subprocess.Popen) -> None:
    """SIGKILL ``process`` and its children at once, as a crash or an OOM kill would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log_dir: Path, *, workers: int = 1):
    """Serve engage with gunicorn; yields its base URL."""
    port = free_port()
    log = log_dir / f"gunicorn-{port}.log"
    process = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--graceful-timeout",
            "2",
        ],
        env,
        log,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        # Any answer will do: a GET on an ingestion endpoint is a 405.
        wait_for_http(f"{url}/v1/track", process, log)
        yield url
    finally:
        stop(process)


@contextlib.contextmanager
def celery_worker(env: dict[str, str], log_dir: Path, *, beat: bool = False):
    """A Celery worker (one process) consuming the default queue, ready when yielded."""
    log = log_dir / "celery-worker.log"
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if beat:
        args.append("--beat")
    process = start(args, env, log)
    try:
        wait_for_line("ready.", process, log)
        yield process
    finally:
        stop(process)


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("redis-server is not installed (scripts/test installs it)")
    return found


@contextlib.contextmanager
def redis_server(port: int, data_dir: Path):
    """A throwaway redis-server on ``port`` (loopback), stopped on exit."""
    log = data_dir / f"redis-{port}.log"
    process = start(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
        ],
        dict(os.environ),
        log,
    )
    try:
        wait_for_port(port, process, log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


# Runs in a worker process: connect, say so, wait for the go file, process.
_PROCESSING_WORKER = """\
import pathlib, time
from django.db import connection
from engage.events import processing
connection.ensure_connection()
print("ready", flush=True)
go = pathlib.Path({go!r})
while not go.exists():
    time.sleep(0.002)
print("processed", processing.run(batch_size={batch_size}).processed, flush=True)
"""


@contextlib.contextmanager
def processing_workers(env: dict[str, str], log_dir: Path, *, count: int, batch_size: int):
    """``count`` processes that each run ``engage.events.processing.run()`` once, side by side.

    Each loads Django and connects first; the yielded ``go(timeout)`` starts
    them all at once, as workers picking up the same processing request
    would, and returns once every one has exited (an exception if one failed
    or is still running after ``timeout`` seconds).
    """
    run_dir = Path(tempfile.mkdtemp(prefix="processing-", dir=log_dir))
    go_file = run_dir / "go"
    logs = [run_dir / f"worker-{n}.log" for n in range(count)]
    code = _PROCESSING_WORKER.format(go=str(go_file), batch_size=batch_size)
    args = [sys.executable, "manage.py", "shell", "-c", code]
    processes = [start(args, env, log) for log in logs]

    def go(timeout: float) -> None:
        go_file.touch()
        deadline = time.monotonic() + timeout
        for process, log in zip(processes, logs, strict=True):
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"a processing worker still runs:\n{log.read_text()}") from None
            if process.returncode:
                raise RuntimeError(f"a processing worker failed:\n{log.read_text()}")

    try:
        for process, log in zip(processes, logs, strict=True):
            wait_for_line("ready", process, log)
        yield go
    finally:
        for process in processes:
            stop(process)
