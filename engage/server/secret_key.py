"""Refuse to serve the public with the development ``SECRET_KEY``.

The default settings ship a key everyone can read, and everything engage signs
with it (inbox tokens, unsubscribe and tracking links, admin sessions) can be
forged by anyone while it is in use. It is fine on loopback, where only this
machine can connect: the tests, the benchmarks, the demo. The WSGI application
and the Celery worker call ``refuse_public_development_key`` at start, and
fail when ``ALLOWED_HOSTS`` names any other host.
"""

import ipaddress
import logging

from django.core.exceptions import ImproperlyConfigured

DEVELOPMENT_SECRET_KEY = "engage-insecure-development-key-change-me"  # noqa: S105 - public on purpose
# Django's test client sends "testserver"; "*.localhost" resolves to loopback.
LOCAL_NAMES = {"localhost", "testserver"}

logger = logging.getLogger(__name__)


def is_local(host: str) -> bool:
    """Whether an ``ALLOWED_HOSTS`` entry can only be reached from this machine."""
    name = host.lower().strip("[]")
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a domain name, or "*"


def public_hosts(allowed_hosts: list[str]) -> list[str]:
    return [host for host in allowed_hosts if not is_local(host)]


def refuse_public_development_key(secret_key: str, allowed_hosts: list[str]) -> None:
    """Raise ``ImproperlyConfigured`` for the development key with public hosts."""
    if secret_key != DEVELOPMENT_SECRET_KEY:
        return
    public = public_hosts(allowed_hosts)
    if public:
        raise ImproperlyConfigured(
            f"SECRET_KEY is the public development key, and ALLOWED_HOSTS names "
            f"{', '.join(public)}: anyone could forge inbox tokens and links. Set SECRET_KEY "
            f"(e.g. python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        )


def warn_development_key() -> None:
    logger.warning(
        "SECRET_KEY is the public development key: serving loopback only; set SECRET_KEY to "
        "serve anything else"
    )
