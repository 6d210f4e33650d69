"""The one error body of the DRF endpoints (``/api``, the inbox) and the admin's JSON.

Every refusal answers ``{"detail": "...", "errors": {"<field or JSON path>":
["reason", ...]}}``: ``detail`` is a sentence a person can read, ``errors``
lets a client point at what to fix (``{}`` when no field is at fault, as for a
missing key or an unknown URL). The ``/v1`` ingestion endpoints are plain
Django views and keep their Segment-compatible body.
"""

from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """DRF's handler (status, ``Allow``, ``Retry-After``, ``WWW-Authenticate``), our body."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's 500 handling (and its log) takes over
    if isinstance(response.data, dict) and "errors" in response.data:
        return response  # a view that already built this body (the segment API's list form)
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        detail = sentence(errors)
        errors.pop("", None)
    else:
        errors = getattr(exc, "errors", {})
        # Django's Http404 and PermissionDenied arrive here converted by DRF.
        detail = str(response.data.get("detail", "")) if isinstance(response.data, dict) else ""
    response.data = {"detail": detail, "errors": errors}
    return response


def field_errors(detail, path: str = "") -> dict[str, list[str]]:
    """Flatten DRF's nested validation detail into ``{"a.b[2].c": ["reason"]}``
    (a list's errors come as a list, or from DRF's list serializer as a dict
    by position).

    Errors about the body as a whole (a bare list, ``non_field_errors``) are
    collected under ``""``, which the handler folds into ``detail`` only.
    """
    if isinstance(detail, dict):
        errors: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(key, int):  # a list serializer's errors, by position
                child = f"{path}[{key}]"
            else:
                key = "" if key == "non_field_errors" else str(key)
                child = f"{path}.{key}" if path and key else (path or key)
            for field, reasons in field_errors(value, child).items():
                errors.setdefault(field, []).extend(reasons)
        return errors
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {path: [str(item) for item in detail]} if detail else {}
        errors = {}
        for position, item in enumerate(detail):
            for field, reasons in field_errors(item, f"{path}[{position}]").items():
                errors.setdefault(field, []).extend(reasons)
        return errors
    return {path: [str(detail)]}


def sentence(errors: dict[str, list[str]]) -> str:
    """``detail``: every reason, each after the path it is about."""
    return "; ".join(
        f"{path}: {reason}" if path else reason
        for path, reasons in errors.items()
        for reason in reasons
    )


def path_errors(items: list[str]) -> dict[str, list[str]]:
    """A service's ``["path: reason", ...]`` (as segment validation reports) as ``errors``."""
    errors: dict[str, list[str]] = {}
    for item in items:
        path, _, reason = item.partition(": ")
        errors.setdefault(path, []).append(reason)
    return errors


def error_body(errors: dict[str, list[str]]) -> dict:
    """The error body for a plain Django view that answers JSON (the admin's)."""
    return {"detail": sentence(errors), "errors": errors}
