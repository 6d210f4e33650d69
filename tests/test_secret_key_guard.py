"""With the public development ``SECRET_KEY``, engage serves loopback only.

Real processes: gunicorn and a Celery worker started with a non-local
``ALLOWED_HOSTS`` and no ``SECRET_KEY`` exit at once with a message saying
what to set; on loopback they serve, with a one-line warning.
"""

import subprocess
import sys

import httpx
import pytest

from engage.server.secret_key import public_hosts
from tests.live_processes import ROOT, free_port, gunicorn, process_env

EXIT_TIMEOUT = 60


def without_secret_key(**overrides: str) -> dict[str, str]:
    env = process_env(**overrides)
    env.pop("SECRET_KEY", None)
    return env


def run_until_exit(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=EXIT_TIMEOUT
    )


def test_loopback_names_are_local_and_everything_else_is_public():
    hosts = ["localhost", "127.0.0.1", "127.0.0.2", "[::1]", "testserver", "app.localhost"]
    assert public_hosts(hosts) == []
    public = ["example.com", "*", "10.0.0.5", "192.168.1.2", ".localhost.evil.com"]
    assert public_hosts(public) == public


@pytest.mark.slow
@pytest.mark.django_db
def test_gunicorn_refuses_to_serve_a_public_host_with_the_development_key():
    result = run_until_exit(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{free_port()}"],
        without_secret_key(ALLOWED_HOSTS="example.com,localhost"),
    )
    assert result.returncode != 0
    assert "SECRET_KEY is the public development key, and ALLOWED_HOSTS names example.com" in (
        result.stderr
    )
    assert "Set SECRET_KEY" in result.stderr


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_loopback_with_the_development_key_and_warns(tmp_path):
    env = without_secret_key(ALLOWED_HOSTS="127.0.0.1,localhost")
    with gunicorn(env, tmp_path) as url:
        assert httpx.get(f"{url}/api/segments", timeout=10).status_code == 401
    log = next(tmp_path.glob("gunicorn-*.log")).read_text()
    [warning] = [line for line in log.splitlines() if "development key" in line]
    assert "serving loopback only; set SECRET_KEY" in warning


@pytest.mark.slow
@pytest.mark.django_db
def test_a_celery_worker_refuses_a_public_host_with_the_development_key():
    result = run_until_exit(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        without_secret_key(
            ALLOWED_HOSTS="engage.example.com",
            CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0",
        ),
    )
    assert result.returncode != 0
    assert "ALLOWED_HOSTS names engage.example.com" in result.stdout + result.stderr


@pytest.mark.slow
def test_a_real_key_serves_any_host():
    result = run_until_exit(
        [
            sys.executable,
            "-c",
            "import config.wsgi; print('loaded')",
        ],
        {**without_secret_key(ALLOWED_HOSTS="engage.example.com"), "SECRET_KEY": "k" * 64},
    )
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout
    assert "development key" not in result.stderr
