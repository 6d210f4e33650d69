"""engage as real processes for tests: a gunicorn server, a Celery worker, a Redis.

They run against the test database of the calling pytest process (tests that
use them need ``transactional_db``, so what the test writes is committed and
visible to them) and listen on free loopback ports.
"""

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
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


def run_embedded(
    args: list[str], db: Path, *, timeout: float = 120, **overrides: str
) -> subprocess.CompletedProcess:
    """``python *args`` from the project root on the embedded default: SQLite at ``db``.

    No broker and no Redis, so tasks run inline and the cache is local, as in
    ``scripts/demo``.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "REDIS_URL")}
    env.update(DATABASE_URL=f"sqlite:///{db}", DJANGO_SETTINGS_MODULE="config.settings")
    env.update(overrides)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


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


def start_gunicorn(env: dict[str, str], log_dir: Path, *, port: int, workers: int = 2):
    """Start gunicorn on ``port`` and wait until it answers; the caller owns the process.

    Unlike ``gunicorn()``, the server may be killed (``kill``) and a new one
    started on the same port, as a supervisor restarts a crashed server.
    """
    log = log_dir / f"gunicorn-{port}.log"
    args = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    args += ["--workers", str(workers), "--graceful-timeout", "2"]
    process = start(args, env, log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v1/track", process, log)
    except BaseException:
        stop(process)
        raise
    return process


PG_USER = "engage-pg"  # PostgreSQL refuses to run as root; scripts/test uses the same user


def as_postgres_user(command: list[str]) -> list[str]:
    """``command`` run as the PostgreSQL user when this process is root (as scripts/test does)."""
    return ["runuser", "-u", PG_USER, "--", *command] if os.getuid() == 0 else command


class PostgresCluster:
    """A PostgreSQL cluster of a test's own, on loopback, that the test may stop and restart.

    ``fsync`` is off: the test stops PostgreSQL's processes, never the
    machine, so what was written to the kernel survives. ``synchronous_commit``
    stays on, as in production: a commit is in the WAL before the client hears
    of it, which is what an immediate stop puts to the test.
    """

    def __init__(self, directory: Path, database: str):
        self.bin = Path(os.environ["ENGAGE_TEST_PG_BIN"])
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.port = free_port()
        self.options = f"-h 127.0.0.1 -p {self.port} -k {directory} -c fsync=off"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def pg_ctl(self, *args: str) -> None:
        command = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w"]
        result = subprocess.run(
            as_postgres_user([*command, *args]), capture_output=True, text=True, timeout=60
        )
        if result.returncode:
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed:\n{result.stderr}")

    def start(self) -> None:
        self.pg_ctl("-o", self.options, "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "stop")

    def restart(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-o", self.options, "restart")


@contextlib.contextmanager
def postgres_cluster(database: str = "engage"):
    """A new PostgreSQL cluster with an empty ``database``, removed on exit.

    Its directory is made outside pytest's temporary directories, which the
    PostgreSQL user (when tests run as root) cannot enter.
    """
    directory = Path(tempfile.mkdtemp(prefix="engage-test-pg-"))
    try:
        directory.chmod(0o755)
        if os.getuid() == 0:
            shutil.chown(directory, PG_USER)
        cluster = PostgresCluster(directory, database)
        initdb = [str(cluster.bin / "initdb"), "-D", str(cluster.data), "-U", "postgres"]
        initdb += ["--auth=trust", "-E", "UTF8"]
        subprocess.run(as_postgres_user(initdb), check=True, capture_output=True, timeout=60)
        cluster.start()
        try:
            psql = [str(cluster.bin / "psql"), "-h", "127.0.0.1", "-p", str(cluster.port)]
            psql += ["-U", "postgres", "-c", f"CREATE DATABASE {database}"]
            subprocess.run(psql, check=True, capture_output=True, timeout=30)
            yield cluster
        finally:
            with contextlib.suppress(RuntimeError):
                cluster.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@dataclass(frozen=True)
class Answer:
    """What a load client got for one request: a status, or ``None`` for no answer."""

    status: int | None
    content_type: str = ""
    retry_after: str | None = None
    body: str = ""  # the error (a transport error's type) when not a 200


class EventLoad:
    """Clients sending ``/v1/batch`` requests of new events in threads, until stopped.

    Like an SDK, a client sends a batch that got no 200 (an error status or
    no answer at all) again, same messageIds, after a short pause, until it
    is acknowledged; it then records the batch's ids in ``acked``. Every
    answer is kept in ``answers``. ``in_flight`` counts requests waiting for
    their answer, so that a test can strike while some are.
    """

    BATCH = 10
    PAUSE = 0.05  # seconds between the attempts of a batch
    FINISH_TIMEOUT = 20.0  # seconds a stopped client keeps trying its last batch

    def __init__(self, url: str, write_key: str, *, clients: int = 2):
        self.url, self.write_key = url, write_key
        self.sent: list[str] = []
        self.acked: list[str] = []
        self.answers: list[Answer] = []
        self.in_flight = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)
        ]

    def __enter__(self) -> "EventLoad":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopped.set()
        for thread in self._threads:
            thread.join(self.FINISH_TIMEOUT + 15)

    def wait_for_acks(self, count: int, timeout: float = 20.0) -> None:
        """Until at least ``count`` events are acknowledged in all."""
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.acked)} of {count} events acknowledged in time")
            time.sleep(0.02)

    def wait_in_flight(self, timeout: float = 10.0) -> None:
        """Until every client waits for an answer."""
        deadline = time.monotonic() + timeout
        while self.in_flight < len(self._threads):
            if time.monotonic() > deadline:
                raise AssertionError("the clients are not sending")
            time.sleep(0.001)

    def _run(self, client: int) -> None:
        with httpx.Client(auth=(self.write_key, ""), timeout=15) as http:
            for number in itertools.count():
                if self._stopped.is_set():
                    return
                ids = [f"c{client}-{number}-{n}" for n in range(self.BATCH)]
                with self._lock:
                    self.sent += ids
                body = {
                    "batch": [
                        {
                            "type": "track",
                            "event": "Load",
                            "anonymousId": f"load-{client}",
                            "messageId": message_id,
                        }
                        for message_id in ids
                    ]
                }
                self._send_until_acknowledged(http, body, ids)

    def _send_until_acknowledged(self, http: httpx.Client, body: dict, ids: list[str]) -> None:
        give_up = None
        while True:
            with self._lock:
                self.in_flight += 1
            try:
                response = http.post(f"{self.url}/v1/batch", json=body)
            except httpx.TransportError as exc:
                answer = Answer(None, body=type(exc).__name__)
            else:
                ok = response.status_code == 200
                answer = Answer(
                    response.status_code,
                    response.headers.get("content-type", ""),
                    response.headers.get("retry-after"),
                    "" if ok else response.text[:2000],
                )
            finally:
                with self._lock:
                    self.in_flight -= 1
            with self._lock:
                self.answers.append(answer)
                if answer.status == 200:
                    self.acked += ids
                    return
            if self._stopped.is_set():
                give_up = give_up or time.monotonic() + self.FINISH_TIMEOUT
                if time.monotonic() > give_up:
                    return
            time.sleep(self.PAUSE)
