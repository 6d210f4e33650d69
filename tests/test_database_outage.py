"""With the database down, every part of the server says so: 503 with ``Retry-After``.

A real gunicorn whose ``DATABASE_URL`` points at a loopback port where no
PostgreSQL listens: the connection is refused, as a stopped or restarting
database looks to Django. ``/api`` and the inbox answer JSON in their error
body, the admin a readable page, ``/v1`` its own Segment-compatible JSON.
"""

import httpx
import pytest
from django.db import OperationalError, connection, transaction

from engage.inbox import tokens
from engage.server.database_outage import cannot_connect
from tests.live_processes import free_port, gunicorn, process_env

pytestmark = pytest.mark.slow

BEARER = {"Authorization": "Bearer sk_whatever"}
# A well-signed token, so the inbox gets as far as reading the database.
INBOX_TOKEN = tokens.issue(workspace_id=1, profile_id=1)


@pytest.fixture(scope="module")
def down_server(tmp_path_factory):
    dead = f"postgres://engage@127.0.0.1:{free_port()}/engage"
    with gunicorn(process_env(DATABASE_URL=dead), tmp_path_factory.mktemp("outage")) as url:
        yield url


@pytest.mark.parametrize(
    "method,path,headers,body",
    [
        ("get", "/api/segments", BEARER, None),
        ("get", "/api/profiles/1", BEARER, None),
        ("post", "/api/messages/send", BEARER, {"profile_id": 1}),
        ("post", "/api/segments", BEARER, {"name": "x", "rules": {}}),
        ("patch", "/api/segments/1", BEARER, {"name": "y"}),
        ("get", "/api/schema/", BEARER, None),
        ("get", "/inbox/messages", {"Authorization": f"Bearer {INBOX_TOKEN}"}, None),
    ],
)
def test_the_api_answers_a_json_503_with_retry_after(down_server, method, path, headers, body):
    response = httpx.request(method, down_server + path, headers=headers, json=body, timeout=10)
    assert response.status_code == 503, response.text[:300]
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "the database is unavailable; nothing was changed, retry later",
        "errors": {},
    }
    assert response.headers["X-Request-ID"]


def test_what_needs_no_database_still_answers(down_server):
    assert httpx.get(down_server + "/api/segments", timeout=10).status_code == 401
    assert httpx.get(down_server + "/admin/login/", timeout=10).status_code == 200
    assert httpx.get(down_server + "/", timeout=10).status_code == 200  # the start page


def test_the_health_check_fails_while_the_database_is_down(down_server):
    response = httpx.get(down_server + "/health", timeout=10)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"


@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/admin/segments/segment/"])
def test_the_admin_answers_a_readable_503_page(down_server, path):
    """A signed-in operator: the session is read from the database."""
    response = httpx.get(down_server + path, cookies={"sessionid": "x" * 32}, timeout=10)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Content-Type"].startswith("text/html")
    assert "cannot reach its database" in response.text


def test_ingestion_keeps_its_own_json_503(down_server):
    response = httpx.post(
        down_server + "/v1/track",
        json={"userId": "u", "event": "Viewed"},
        auth=("wk_whatever", ""),
        timeout=10,
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["code"] == "unavailable"


def test_only_an_unreachable_database_is_an_outage(db):
    """A query the database cancels is not an outage: it stays a logged 500."""
    with (
        pytest.raises(OperationalError) as cancelled,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL statement_timeout = 1")
        cursor.execute("SELECT pg_sleep(1)")
    assert not cannot_connect(cancelled.value)
