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

Importers read from their source with ``source_request``: a read can be
repeated safely, so it waits and tries again where a send could not (429,
5xx, no answer), and turns what the operator must fix into one ``SourceError``
naming the source and, for a refused credential, the setting.
"""

import threading
import time
from email.utils import parsedate_to_datetime

import httpx
from django.conf import settings
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
    Twilio ``{"code", "message"}``, Google/Meta ``{"error": {"code"|"status", "message"}}``,
    Shopify ``{"errors"}``, Zendesk ``{"error", "description"}``."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300], response.text
    if isinstance(body, dict):
        if "errors" in body and "error" not in body:  # Shopify: {"errors": "..." or {field: ...}}
            return "", str(body["errors"])[:300], body
        error = body.get("error", body)
        if isinstance(error, str):  # OAuth 2: {"error": "invalid_grant", "error_description"}
            detail = body.get("error_description", body.get("description", ""))  # or Zendesk's
            return error, str(detail)[:300], body
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


class SourceError(OSError):
    """An importer's source failed for good: the run stops with this message,
    which names the source (and the setting to fix when it is the operator's).
    An OSError, as a file that cannot be read is: an import run records
    either as its failure."""


def source_request(
    method: str, url: str, *, source: str, credential: str, **kwargs
) -> httpx.Response:
    """One read from an importer's source (``source`` is its name, e.g.
    "Shopify"; ``credential`` the setting holding its token).

    429, 5xx and a request the source may not have answered are tried again
    up to ``ENGAGE_SOURCE_RETRIES`` times, each after the source's
    ``Retry-After`` or else a doubling back-off, every wait capped at
    ``ENGAGE_SOURCE_MAX_WAIT_SECONDS`` so a source cannot stall a worker for
    an hour. 401/403 and other refusals are not retried: the same request
    would be refused again.
    """
    retries, cap = settings.ENGAGE_SOURCE_RETRIES, settings.ENGAGE_SOURCE_MAX_WAIT_SECONDS
    attempt = 0
    while True:
        try:
            return request(method, url, **kwargs)
        except ProviderRejected as exc:
            if exc.status in (401, 403):
                raise SourceError(
                    f"{source} refused the credentials ({exc}); check the {credential} setting"
                ) from None
            raise SourceError(f"{source} rejected the request to {_path(url)}: {exc}") from None
        except (TransientSendError, SendOutcomeUnknown) as exc:
            if attempt >= retries:
                raise SourceError(
                    f"{source} failed {attempt + 1} times in a row at {_path(url)}: {exc}"
                ) from None
            wait = getattr(exc, "retry_after", None)
            time.sleep(min(cap, 2.0**attempt if wait is None else wait))
            attempt += 1
        except PermanentSendError as exc:
            raise SourceError(f"{source}: {exc}") from None


def same_origin(url: str, base: str) -> bool:
    """Whether ``url`` (a next-page link from a source's answer) points at
    the configured ``base``: the source's credentials go with every request,
    so a link elsewhere is never followed."""
    a, b = httpx.URL(url), httpx.URL(base)
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _path(url: str) -> str:
    """The URL without its query string, which may carry a page token."""
    return str(httpx.URL(url).copy_with(query=None))
