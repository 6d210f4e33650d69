import base64
import gzip
import json

import pytest


def basic_auth(key: str) -> str:
    """The Authorization header Segment's libraries send: the key as username, no password."""
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@pytest.fixture(autouse=True)
def _private_rate_counters(settings, worker_id):
    """Give each pytest-xdist worker its own rate-limit counters.

    Workers share one Redis but have separate test databases, so workspace ids
    repeat across workers; without a prefix one worker's requests would count
    against another's workspace.
    """
    caches = {name: dict(config) for name, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{worker_id}"
    settings.CACHES = caches


@pytest.fixture
def ingest(client):
    """POST to ``/v1/<path>``: ``ingest("track", body, key=...)``; returns the response.

    ``body`` may be a dict (sent as JSON) or bytes (sent as they are).
    """

    def post(path, body, *, key=None, gzipped=False, **headers):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if gzipped:
            data = gzip.compress(data)
            headers["HTTP_CONTENT_ENCODING"] = "gzip"
        if key is not None:
            headers["HTTP_AUTHORIZATION"] = basic_auth(key)
        return client.generic(
            "POST", f"/v1/{path}", data, content_type="application/json", **headers
        )

    return post
