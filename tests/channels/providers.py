"""Loopback stand-ins for the providers' HTTP APIs.

Each server runs in a thread on 127.0.0.1 and CHECKS every request against
the provider's published format (path, auth, content type, required fields),
answering like the provider does when something is wrong (Twilio's
``{"code", "message"}``, Google's ``{"error": {...}}``). A test can also
script the next answers (``fail_next``) to play outages and rejections.
"""

import base64
import json
import threading
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    form: dict = field(default_factory=dict)
    json: object = None


class Reply(Exception):
    """Raised by a check to answer with ``status`` and a JSON ``body``."""

    def __init__(self, status: int, body: dict | None = None, headers: dict | None = None):
        self.status = status
        self.body = body or {}
        self.headers = headers or {}


class ProviderServer:
    """Base: subclasses implement ``handle(req) -> (status, body[, headers])``."""

    def __init__(self):
        self.requests: list[Recorded] = []
        self.accepted: list[Recorded] = []
        self.rejections: list[tuple[int, dict]] = []
        self.scripted: deque = deque()
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Recorded(
                    method=self.command,
                    path=parts.path,
                    query={k: v[0] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                ctype = req.headers.get("content-type", "")
                if ctype.startswith("application/x-www-form-urlencoded"):
                    req.form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                elif ctype.startswith("application/json"):
                    req.json = json.loads(body or b"null")
                with provider.lock:
                    provider.requests.append(req)
                    scripted = provider.scripted.popleft() if provider.scripted else None
                try:
                    if scripted is not None:
                        raise scripted
                    status, payload, *extra = provider.handle(req)
                    headers = extra[0] if extra else {}
                    provider.accepted.append(req)
                except Reply as reply:
                    status, payload, headers = reply.status, reply.body, reply.headers
                    provider.rejections.append((status, payload))
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def fail_next(self, status: int, body: dict | None = None, headers: dict | None = None):
        self.scripted.append(Reply(status, body, headers))

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def handle(self, req: Recorded):
        raise NotImplementedError


def basic_auth(req: Recorded) -> tuple[str, str] | None:
    header = req.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


class Receiver(ProviderServer):
    """An operator's webhook endpoint: accepts any POST (tests check it)."""

    def handle(self, req):
        if req.method != "POST":
            raise Reply(405, {"error": "POST only"})
        return 200, {"ok": True}


class FakeTwilio(ProviderServer):
    """Twilio REST API 2010-04-01: Messages.json and Calls.json.

    Form-encoded POST, HTTP Basic auth ``AccountSid:AuthToken``, To/From and
    Body (messages) or Twiml/Url (calls); answers 201 with the resource JSON.
    """

    def __init__(self, account_sid: str, auth_token: str):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.counter = 0
        # Numbers whose handsets cannot receive RCS (Twilio error 63106).
        self.rcs_incapable: set[str] = set()
        super().__init__()

    def handle(self, req):
        if basic_auth(req) != (self.account_sid, self.auth_token):
            raise Reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        prefix = f"/2010-04-01/Accounts/{self.account_sid}/"
        if req.method != "POST" or not req.path.startswith(prefix):
            raise Reply(404, {"code": 20404, "message": "The requested resource was not found"})
        if not req.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise Reply(400, {"code": 20001, "message": "form-encoded parameters expected"})
        resource = req.path[len(prefix) :]
        if not req.form.get("To"):
            raise Reply(400, {"code": 21604, "message": "A 'To' phone number is required."})
        if not req.form.get("From") and not req.form.get("MessagingServiceSid"):
            raise Reply(400, {"code": 21603, "message": "A 'From' phone number is required."})
        self.counter += 1
        if resource == "Messages.json":
            if not req.form.get("Body") and not req.form.get("ContentSid"):
                raise Reply(400, {"code": 21602, "message": "Message body is required."})
            to, sender = req.form["To"], req.form.get("From", "")
            if to.startswith("rcs:") != sender.startswith("rcs:"):
                raise Reply(400, {"code": 21910, "message": "Invalid From and To pair."})
            if to.startswith("rcs:") and to[4:] in self.rcs_incapable:
                raise Reply(
                    400, {"code": 63106, "message": "phone_number is not a RCS capable number"}
                )
            sid = f"SM{self.counter:032x}"
            return 201, {"sid": sid, "status": "queued", "to": req.form["To"]}
        if resource == "Calls.json":
            if not req.form.get("Twiml") and not req.form.get("Url"):
                raise Reply(400, {"code": 21205, "message": "Url or Twiml is required."})
            if req.form.get("Twiml"):
                try:
                    root = ET.fromstring(req.form["Twiml"])  # noqa: S314 (test input)
                except ET.ParseError:
                    root = None
                if root is None or root.tag != "Response":
                    raise Reply(400, {"code": 12100, "message": "Document parse failure"})
            sid = f"CA{self.counter:032x}"
            return 201, {"sid": sid, "status": "queued", "to": req.form["To"]}
        raise Reply(404, {"code": 20404, "message": "The requested resource was not found"})


class FakeMeta(ProviderServer):
    """Meta's WhatsApp Cloud API: ``POST /{version}/{phone-number-id}/messages``.

    JSON body with ``messaging_product: whatsapp``, ``to`` and a ``type`` of
    ``text`` (``text.body``) or ``template`` (``template.name`` and
    ``template.language.code``); Bearer access token.
    """

    def __init__(self, phone_number_id: str, access_token: str):
        self.phone_number_id = phone_number_id
        self.access_token = access_token
        self.counter = 0
        super().__init__()

    @staticmethod
    def error(status: int, code: int, message: str):
        return Reply(
            status, {"error": {"message": message, "type": "OAuthException", "code": code}}
        )

    def handle(self, req):
        if req.headers.get("authorization") != f"Bearer {self.access_token}":
            raise self.error(401, 190, "Invalid OAuth access token.")
        parts = req.path.strip("/").split("/")
        if (
            req.method != "POST"
            or len(parts) != 3
            or parts[1:] != [self.phone_number_id, "messages"]
        ):
            raise self.error(400, 100, "Unsupported post request.")
        if not parts[0].startswith("v"):
            raise self.error(400, 2500, "Unknown API version.")
        body = req.json
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            raise self.error(400, 100, "The parameter messaging_product is required.")
        if not str(body.get("to", "")).lstrip("+").isdigit():
            raise self.error(400, 100, "The parameter to is required.")
        if body.get("type") == "text":
            if not (body.get("text") or {}).get("body"):
                raise self.error(400, 100, "The parameter text['body'] is required.")
        elif body.get("type") == "template":
            template = body.get("template") or {}
            if not template.get("name") or not (template.get("language") or {}).get("code"):
                raise self.error(400, 132000, "Template name and language code are required.")
            for component in template.get("components", []):
                for parameter in component.get("parameters", []):
                    text = parameter.get("text")
                    if parameter.get("type") != "text" or not text or "\n" in text:
                        raise self.error(400, 132000, "Invalid template parameter.")
        else:
            raise self.error(400, 100, "Param type must be one of {text, template, ...}.")
        self.counter += 1
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"].lstrip("+")}],
            "messages": [{"id": f"wamid.HBgL{self.counter:08d}"}],
        }


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FakeGoogle(ProviderServer):
    """Google's OAuth token endpoint (``POST /token``, RFC 7523 JWT bearer grant)
    and FCM HTTP v1 (``POST /v1/projects/{project}/messages:send``).

    The JWT's RS256 signature is checked with the service account's public
    key, and its iss/aud/scope/exp claims; sends need an issued access token.
    """

    def __init__(self, project_id: str, client_email: str, public_key):
        self.project_id = project_id
        self.client_email = client_email
        self.public_key = public_key
        self.issued: set[str] = set()
        self.registered: set[str] = set()
        super().__init__()

    @property
    def token_uri(self) -> str:
        return self.url + "/token"

    @staticmethod
    def fcm_error(status: int, google_status: str, message: str, code: str = ""):
        error = {"code": status, "message": message, "status": google_status}
        if code:
            error["details"] = [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}
            ]
        return Reply(status, {"error": error})

    def handle(self, req):
        if req.path == "/token":
            return self._token(req)
        if req.path == f"/v1/projects/{self.project_id}/messages:send" and req.method == "POST":
            return self._send(req)
        raise self.fcm_error(404, "NOT_FOUND", "Requested entity was not found.")

    def _token(self, req):
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        bad = Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        if req.form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            raise Reply(400, {"error": "unsupported_grant_type"})
        try:
            header_b64, claims_b64, sig_b64 = req.form["assertion"].split(".")
            header = json.loads(_b64url_decode(header_b64))
            claims = json.loads(_b64url_decode(claims_b64))
            self.public_key.verify(
                _b64url_decode(sig_b64),
                f"{header_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (KeyError, ValueError, InvalidSignature):
            raise bad from None
        import time

        if header.get("alg") != "RS256" or claims.get("iss") != self.client_email:
            raise bad
        if claims.get("aud") != self.token_uri or not claims.get("exp", 0) > time.time():
            raise Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT."})
        if "https://www.googleapis.com/auth/firebase.messaging" not in claims.get("scope", ""):
            raise Reply(400, {"error": "invalid_scope"})
        token = f"ya29.fake-{len(self.issued) + 1}"
        self.issued.add(token)
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _send(self, req):
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.issued:
            raise self.fcm_error(401, "UNAUTHENTICATED", "Request had invalid authentication.")
        message = (req.json or {}).get("message")
        if not isinstance(message, dict):
            raise self.fcm_error(400, "INVALID_ARGUMENT", "message is required", "INVALID_ARGUMENT")
        targets = [k for k in ("token", "topic", "condition") if k in message]
        if len(targets) != 1:
            raise self.fcm_error(400, "INVALID_ARGUMENT", "exactly one target", "INVALID_ARGUMENT")
        notification = message.get("notification", {})
        data = message.get("data", {})
        if not all(isinstance(v, str) for v in [*notification.values(), *data.values()]):
            raise self.fcm_error(
                400, "INVALID_ARGUMENT", "values must be strings", "INVALID_ARGUMENT"
            )
        if message.get("token") not in self.registered:
            raise self.fcm_error(
                404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"
            )
        return 200, {"name": f"projects/{self.project_id}/messages/0:{len(self.accepted) + 1}"}


class FakePushService(ProviderServer):
    """A browser vendor's push service (RFC 8030) for one subscription.

    Checks the VAPID ``Authorization: vapid t=<JWT>,k=<key>`` header (RFC 8292:
    ES256 signature, ``aud`` = this origin, ``exp`` within 24 h, ``sub`` a
    mailto: or https: contact, ``k`` the application server key the browser
    subscribed with), ``Content-Encoding: aes128gcm`` and ``TTL``, then
    decrypts the payload with the browser's keys (RFC 8291) into ``delivered``.
    """

    def __init__(self, application_server_key: bytes):
        from cryptography.hazmat.primitives.asymmetric import ec

        self.application_server_key = application_server_key
        self.browser_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = b"0123456789abcdef"
        self.delivered: list[dict] = []
        self.gone = False
        super().__init__()

    def subscription(self) -> dict:
        from cryptography.hazmat.primitives import serialization

        public = self.browser_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        encode = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
        return {
            "endpoint": self.url + "/push/v2/sub-123",
            "keys": {"p256dh": encode(public), "auth": encode(self.auth_secret)},
        }

    def _check_vapid(self, header: str):
        import time

        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, utils

        unauthorized = Reply(401, {"reason": "invalid VAPID authorization"})
        scheme, _, params = header.partition(" ")
        fields = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        if scheme != "vapid" or "t" not in fields or "k" not in fields:
            raise unauthorized
        key_raw = _b64url_decode(fields["k"])
        if key_raw != self.application_server_key:
            raise Reply(403, {"reason": "key does not match the subscription"})
        header_b64, claims_b64, sig_b64 = fields["t"].split(".")
        signature = _b64url_decode(sig_b64)
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key_raw)
        try:
            key.verify(
                utils.encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                ),
                f"{header_b64}.{claims_b64}".encode(),
                ec.ECDSA(hashes.SHA256()),
            )
        except InvalidSignature:
            raise unauthorized from None
        if json.loads(_b64url_decode(header_b64)).get("alg") != "ES256":
            raise unauthorized
        claims = json.loads(_b64url_decode(claims_b64))
        if claims.get("aud") != self.url:
            raise Reply(403, {"reason": "aud is not this push service"})
        if not time.time() < claims.get("exp", 0) <= time.time() + 86400:
            raise unauthorized
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise unauthorized

    def handle(self, req):
        import http_ece

        if req.method != "POST" or not req.path.startswith("/push/"):
            raise Reply(404, {"reason": "no such subscription"})
        if self.gone:
            raise Reply(410, {"reason": "subscription expired"})
        self._check_vapid(req.headers.get("authorization", ""))
        if req.headers.get("content-encoding") != "aes128gcm" or "ttl" not in req.headers:
            raise Reply(400, {"reason": "Content-Encoding aes128gcm and TTL are required"})
        plaintext = http_ece.decrypt(
            req.body,
            private_key=self.browser_key,
            auth_secret=self.auth_secret,
            version="aes128gcm",
        )
        self.delivered.append(json.loads(plaintext))
        return 201, {}, {"Location": f"{self.url}/m/{len(self.delivered)}"}
