"""Reading a request body: size caps, gzip, JSON, nesting depth.

Every cap is enforced before the bytes are held in memory: the raw body is
read at most ``limit + 1`` bytes, and a gzip body is inflated with a bounded
output size, so a 10 KB gzip bomb that would inflate to 1 GB is refused after
producing ``limit + 1`` bytes, not after filling memory.

A chunked body (``Transfer-Encoding: chunked``) has no ``Content-Length``, and
Django then reads it as empty; the WSGI server has de-chunked it, and says so
with ``wsgi.input_terminated`` (gunicorn does), so it is read from the WSGI
input directly, under the same cap.
"""

import json
import math
import zlib

from engage.json_limits import TooDeep, check_depth, may_be_too_deep

from .errors import IngestError

GZIP_WBITS = 16 + zlib.MAX_WBITS  # gzip header and trailer, not raw deflate


def read_body(request, limit: int) -> bytes:
    """The request body, decompressed, at most ``limit`` bytes (else 413)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise _too_large(limit)
    if declared == 0 and request.META.get("wsgi.input_terminated"):
        raw = _read_to_end(request.META["wsgi.input"], limit + 1)
    else:
        raw = request.read(limit + 1)
    if len(raw) > limit:
        raise _too_large(limit)
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "")
    if encoding:
        encoding = encoding.strip().lower()
        if encoding in ("gzip", "x-gzip"):
            return gunzip(raw, limit)
        if encoding != "identity":
            raise IngestError.field(
                415,
                "unsupported_encoding",
                "Content-Encoding",
                f"{encoding!r} is not supported; send gzip or an uncompressed body",
            )
    return raw


def _read_to_end(stream, size: int) -> bytes:
    """At most ``size`` bytes of ``stream``, up to its end (a read may return fewer)."""
    chunks = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def gunzip(data: bytes, limit: int) -> bytes:
    """Inflate gzip ``data`` (one or more members), refusing past ``limit`` bytes."""
    out = bytearray()
    try:
        while data:
            inflater = zlib.decompressobj(GZIP_WBITS)
            out += inflater.decompress(data, limit + 1 - len(out))
            if len(out) > limit:
                raise _too_large(limit, decompressed=True)
            if not inflater.eof:
                raise IngestError.field(400, "invalid_gzip", "body", "gzip data is truncated")
            data = inflater.unused_data
    except zlib.error as exc:
        raise IngestError.field(400, "invalid_gzip", "body", f"not valid gzip ({exc})") from None
    return bytes(out)


def _too_large(limit: int, decompressed: bool = False) -> IngestError:
    what = "decompressed body" if decompressed else "body"
    return IngestError.field(
        413, "payload_too_large", "body", f"the {what} is larger than {limit} bytes"
    )


def _reject_constant(name: str):
    # NaN and Infinity are not JSON, and PostgreSQL's jsonb refuses them.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400 parses to inf, which jsonb cannot hold
        raise ValueError(f"number {text} is out of range")
    return value


_decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def parse_json(body: bytes):
    """The decoded JSON document; 400 naming the problem if it is not JSON or too deep.

    The depth walk runs only when the body opens more containers than the
    limit (two substring counts decide): every batch of a few dozen events,
    almost no single event. It costs about 2 us per event of a full batch.
    """
    if not body:
        raise IngestError.field(400, "invalid_json", "body", "empty; send a JSON object")
    try:
        value = _decoder.decode(body.decode("utf-8"))
        if may_be_too_deep(body):
            check_depth(value)
    except UnicodeDecodeError:
        raise IngestError.field(400, "invalid_json", "body", "not valid UTF-8") from None
    except (TooDeep, RecursionError):
        raise IngestError.field(400, "invalid_request", "body", str(TooDeep())) from None
    except ValueError as exc:  # JSONDecodeError, and the two hooks above
        raise IngestError.field(400, "invalid_json", "body", f"not valid JSON ({exc})") from None
    return value


def may_hold_unstorable_text(body: bytes) -> bool:
    """Whether the JSON text may decode to strings PostgreSQL cannot store.

    ``\\u0000`` (NUL) and lone UTF-16 surrogates can only reach us as ``\\u``
    escapes (raw NUL is invalid JSON, raw surrogates invalid UTF-8), so two
    substring searches let almost every request skip the per-string check.
    """
    return b"\\u0000" in body or b"\\ud" in body or b"\\uD" in body
