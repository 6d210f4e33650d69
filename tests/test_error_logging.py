"""An unhandled exception leaves one record on stderr, with its request id and traceback.

Default and production settings, ``DEBUG`` off, a real gunicorn: the operator forgot
``manage.py migrate``, so the first query of a request fails. The client gets
a 500 carrying an ``X-Request-ID``; the server's stderr holds that id next to
the traceback.
"""

import uuid

import httpx
import psycopg
import pytest
from django.db import connection

from tests.live_processes import gunicorn, process_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def unmigrated_database_url():
    """An empty database on the test server (no tables), dropped afterwards."""
    db = connection.settings_dict
    name = f"engage_unmigrated_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = process_env()["DATABASE_URL"]
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings_production",
    "SECRET_KEY": "k" * 64,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
}


@pytest.mark.parametrize("settings_env", [{}, PRODUCTION], ids=["default", "production"])
def test_an_unhandled_exception_is_logged_with_the_request_id(
    unmigrated_database_url, tmp_path, settings_env
):
    env = process_env(DATABASE_URL=unmigrated_database_url, DEBUG="false", **settings_env)
    with gunicorn(env, tmp_path) as url:
        response = httpx.get(
            f"{url}/api/segments",
            headers={"Authorization": "Bearer sk_x", "X-Request-ID": "req-4711"},
            timeout=10,
        )
        chosen = httpx.get(
            f"{url}/api/segments",
            headers={"Authorization": "Bearer sk_x", "X-Request-ID": "bad <script> " + "x" * 200},
            timeout=10,
        )
    log = next(tmp_path.glob("gunicorn-*.log")).read_text()

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-4711"
    [record] = [line for line in log.splitlines() if "request=req-4711" in line]
    assert "ERROR django.request" in record and "Internal Server Error: /api/segments" in record
    after = log[log.index(record) :]
    assert "Traceback (most recent call last)" in after
    assert 'relation "workspaces_apikey" does not exist' in after

    # An id that could garble a log line is replaced by a fresh one.
    generated = chosen.headers["X-Request-ID"]
    assert len(generated) == 32
    assert f"request={generated}" in log
    assert "<script>" not in log
