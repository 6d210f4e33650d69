"""One way for channel plugins to call a provider over HTTP, and one mapping of
what went wrong onto engage's send errors.

- connection refused / DNS failure / connect timeout: nothing reached the
  provider → ``TransientSendError`` (retry later);
- a refused address (SSRF guard) or a redirect → ``PermanentSendError``:
  retrying changes nothing;
- a timeout or a dropped connection *after* the request went out: the
  provider may have sent it → ``SendOutcomeUnknown`` (never resent blindly);
- 429 and 5xx → ``TransientSendError`` (``Retry-After`` honoured);
- any other 4xx → ``ProviderRejected``, a ``PermanentSendError`` that keeps
  the status, the provider's error code and message so a plugin can react to
  a specific code (RCS falls back to SMS on one).
"""

import threading
from email.utils import parsedate_to_datetime

import httpx
from django.utils import timezone

from engage.plugins.base import PermanentSendError, SendOutcomeUnknown, TransientSendError
from engage.plugins.outbound import BlockedAddress, guarded_client


class ProviderRejected(PermanentSendError):
    def __init__(self, reason: str, *, status: int, code: str = "", body=None):
        self.status = status
        self.code = code
        self.body = body
        super().__init__(reason)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


def _error_of(response: httpx.Response) -> tuple[str, str, object]:
    """(code, message, parsed body) from the common provider error shapes:
    Twilio ``{"code", "message"}``, Google/Meta ``{"error": {"code"|"status", "message"}}``."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300], response.text
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, str):  # OAuth 2: {"error": "invalid_grant", "error_description"}
            return error, str(body.get("error_description", ""))[:300], body
        if isinstance(error, dict):
            code = error.get("code", error.get("status", ""))
            details = error.get("details") or []
            for detail in details if isinstance(details, list) else []:
                if isinstance(detail, dict) and detail.get("errorCode"):
                    code = detail["errorCode"]  # FCM: UNREGISTERED, INVALID_ARGUMENT...
            return str(code), str(error.get("message", ""))[:300], body
    return "", str(body)[:300], body


_local = threading.local()


def client() -> httpx.Client:
    """This thread's guarded client. Kept for the process's life: building one
    loads the TLS trust store, which costs more than a provider call, and its
    pool keeps connections to providers open between sends. Every new
    connection is still checked by the SSRF guard."""
    if getattr(_local, "client", None) is None:
        _local.client = guarded_client()
    return _local.client


def request(method: str, url: str, *, timeout: float | None = None, **kwargs) -> httpx.Response:
    """Send one provider request through the SSRF-guarded client; the 2xx
    response, or a SendError."""
    try:
        response = client().request(
            method,
            url,
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            **kwargs,
        )
    except BlockedAddress as exc:
        raise PermanentSendError(str(exc)) from None
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise TransientSendError(f"could not connect to the provider: {exc}") from None
    except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError) as exc:
        raise SendOutcomeUnknown(
            f"no answer from the provider after sending ({type(exc).__name__})"
        ) from None
    except httpx.TransportError as exc:
        raise SendOutcomeUnknown(f"transport error after sending: {exc}") from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    code, message, body = _error_of(response)
    reason = f"HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    if status == 429 or status >= 500:
        raise TransientSendError(
            reason, retry_after=retry_after_seconds(response.headers.get("retry-after"))
        )
    if 300 <= status < 400:
        raise PermanentSendError(f"HTTP {status}: redirects are not followed")
    raise ProviderRejected(reason, status=status, code=code, body=body)


def post(url: str, **kwargs) -> httpx.Response:
    return request("POST", url, **kwargs)
