"""How provider HTTP failures map onto send errors: retry, give up, or never resend blindly."""

import socket
import threading

import pytest

from engage.plugins import provider_http
from engage.plugins.base import PermanentSendError, SendOutcomeUnknown, TransientSendError


class SilentServer:
    """Accepts the request, reads it, then stalls (``hang``) or hangs up (``drop``)."""

    def __init__(self, mode: str):
        self.mode = mode
        self.received = threading.Event()
        self.release = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/send"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.sock.accept()
        conn.recv(65536)
        self.received.set()
        if self.mode == "hang":
            self.release.wait(5)
        conn.close()

    def close(self):
        self.release.set()
        self.sock.close()


@pytest.mark.parametrize("mode", ["hang", "drop"])
def test_no_answer_after_sending_is_an_unknown_outcome(loopback_allowed, mode):
    server = SilentServer(mode)
    try:
        with pytest.raises(SendOutcomeUnknown, match="after sending"):
            provider_http.post(server.url, json={"to": "x"}, timeout=0.3)
        assert server.received.is_set()  # the provider did get the request
    finally:
        server.close()


def test_http_errors_map_to_retry_or_give_up(receiver):
    receiver.fail_next(500, {"error": {"code": 500, "message": "backend error"}})
    with pytest.raises(TransientSendError, match="HTTP 500 500: backend error"):
        provider_http.post(receiver.url, json={})
    receiver.fail_next(429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})
    with pytest.raises(TransientSendError) as exc:
        provider_http.post(receiver.url, json={})
    assert exc.value.retry_after > 3600
    receiver.fail_next(422, {"code": 1, "message": "bad field"})
    with pytest.raises(provider_http.ProviderRejected) as rejected:
        provider_http.post(receiver.url, json={})
    assert (rejected.value.status, rejected.value.code) == (422, "1")
    assert isinstance(rejected.value, PermanentSendError)
    assert provider_http.post(receiver.url, json={}).json() == {"ok": True}
