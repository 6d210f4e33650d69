"""Production settings pass Django's deployment checklist, and refuse to start
without the settings production needs."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database this test run uses (PostgreSQL in scripts/test)."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings_production", **env)
    return subprocess.run(
        [sys.executable, "-W", "default", "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db
def test_production_settings_pass_check_deploy_without_warnings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        "--database",
        "default",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="engage.example.com",
        DATABASE_URL=database_url(),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "Warning" not in result.stderr, result.stderr  # e.g. WhiteNoise's "No directory at"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_settings_require_secret_key_and_allowed_hosts(missing):
    env = {"SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "engage.example.com"}
    del env[missing]
    environment_without = {k: v for k, v in os.environ.items() if k != missing}

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**environment_without, **env, "DJANGO_SETTINGS_MODULE": "config.settings_production"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


@pytest.mark.django_db
def test_behind_the_tls_proxy_only_the_health_check_answers_plain_http():
    script = (
        "from django.test import Client;"
        "c = Client(HTTP_HOST='engage.example.com');"
        "print(c.get('/health').status_code, c.get('/api/segments').status_code,"
        " c.get('/api/segments', HTTP_X_FORWARDED_PROTO='https').status_code)"
    )
    result = manage(
        "shell",
        "-c",
        script,
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="engage.example.com",
        DATABASE_URL=database_url(),
    )

    assert result.returncode == 0, result.stderr
    # the API over plain HTTP is redirected; through the proxy it asks for a key
    assert result.stdout.split()[-3:] == ["200", "301", "401"]
