import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

BOT_TOKEN = "123456:test-bot-secret"


class FakeBotApi:
    """Telegram's Bot API on loopback: checks sendMessage requests against the
    published format (POST /bot<token>/sendMessage, JSON with chat_id and text)
    and answers like Telegram. ``next_error`` = (status, body) answers one
    request with an error instead."""

    def __init__(self):
        self.requests = []
        self.next_error = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                api.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status, answer = api.answer(self.path, self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path, headers, body):
        if path != f"/bot{BOT_TOKEN}/sendMessage":
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if not headers.get("Content-Type", "").startswith("application/json"):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: no JSON"}
        payload = json.loads(body)
        if not payload.get("chat_id") or not isinstance(payload.get("text"), str):
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request"}
        if self.next_error:
            error, self.next_error = self.next_error, None
            return error
        return 200, {
            "ok": True,
            "result": {
                "message_id": len(self.requests),
                "chat": {"id": int(payload["chat_id"]), "type": "private"},
                "date": 1735689600,
                "text": payload["text"],
            },
        }

    @property
    def sent(self):
        return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bot_api(settings):
    settings.ENGAGE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    api = FakeBotApi()
    yield api
    api.close()
