"""The server's front page, ``/``: what this server is and where to go next.

The first thing a newcomer opens is the address the demo prints, and the
admin's "View site" link leads here too; both deserve more than a 404. The
page names the doors (the admin, the API docs, the health check, ingestion)
and shows what an app adds through ``register_section``: the demo adds its
workspace's keys and admin login, and only on a development server.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import reverse


@dataclass(frozen=True)
class Section:
    """A block of the start page: a heading, labelled values, a closing note."""

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""


_SECTIONS: dict[str, Callable[[HttpRequest], Section | None]] = {}
TEMPLATE = Path(__file__).with_name("start.html")


def register_section(key: str, provider: Callable[[HttpRequest], Section | None]) -> None:
    """Show ``provider(request)`` on the start page, when it is not None.
    Called from an app's ``ready()``: registering the same provider again
    (tests reload apps) changes nothing."""
    if key in _SECTIONS and _SECTIONS[key] is not provider:
        raise ValueError(f"start page section {key!r} is already provided")
    _SECTIONS[key] = provider


def start_page(request: HttpRequest) -> HttpResponse:
    sections = [s for provider in _SECTIONS.values() if (s := provider(request)) is not None]
    context = {
        "admin_url": reverse("admin:index"),
        "docs_url": reverse("api-docs"),
        "schema_url": reverse("schema"),
        "health_url": reverse("health"),
        "sections": sections,
    }
    return HttpResponse(_template().render(context, request))


@cache
def _template():
    # engage.server is not an app, so its template is not on a loader's path.
    return engines["django"].from_string(TEMPLATE.read_text())
