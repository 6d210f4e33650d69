"""Who is acting: the request being served, remembered for the audit trail.

Services are called from views, the admin, commands and workers; rather than
thread an actor argument through every call, the middleware remembers the
request for its duration and ``record`` asks it, after authentication has
run: a staff user's session, or the API key DRF put on the request. Outside
a request (a command, a worker) the actor is ``system``.
"""

from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.http import HttpRequest

from engage.workspaces.models import ApiKey

SYSTEM = "system"

_request: ContextVar[HttpRequest | None] = ContextVar("engage_audit_request", default=None)


class ActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def current_actor():
    """(user, api_key, label) of whoever the current request acts for."""
    request = _request.get()
    if request is None:
        return None, None, SYSTEM
    key = getattr(request, "auth", None)
    if isinstance(key, ApiKey):
        return None, key, f"API key {key.prefix}… {key.name}".strip()
    user = getattr(request, "user", None)
    if isinstance(user, get_user_model()) and user.is_authenticated:
        return user, None, user.get_username()
    return None, None, SYSTEM
