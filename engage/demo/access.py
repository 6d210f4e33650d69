"""The demo's way in: its workspace's keys and its admin login, the same on
every run.

The demo keeps them (``DemoAccess``) so that running it again prints keys
that still work instead of a new pair each time, and says the admin password
again. A key revoked in the admin, or a password changed there, is noticed:
the keys are replaced (the old ones revoked), and for a changed password the
demo says how to set a new one rather than print a stale one.
"""

import ipaddress
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http.request import split_domain_port

from engage.server.start import Section
from engage.workspaces.models import ApiKey, Workspace
from engage.workspaces.selectors import active_key
from engage.workspaces.services import create_api_key, revoke_api_key

from .models import DemoAccess

ADMIN_USERNAME = "admin"
KEY_NAME = "demo"
# What earlier versions of the demo called the pair each run added.
OLD_KEY_NAME = "demo run"
RESET_PASSWORD = f"scripts/manage changepassword {ADMIN_USERNAME}"


@dataclass(frozen=True)
class Access:
    write_key: str
    secret_key: str
    admin_login: str


@transaction.atomic
def ensure_access(workspace: Workspace, *, new_keys: dict[str, str] | None = None) -> Access:
    """The demo workspace's working keys and admin login, made when missing.

    ``new_keys`` ({kind: raw key}) are the keys a workspace just created was
    given; otherwise the kept pair is reused while both still work, and
    replaced by a fresh one when either does not.
    """
    access = DemoAccess.objects.select_for_update().filter(workspace=workspace).first()
    if access is None:
        access = DemoAccess(workspace=workspace)
    if new_keys is not None:
        access.write_key, access.secret_key = new_keys[ApiKey.WRITE], new_keys[ApiKey.SECRET]
    elif not _keys_work(access):
        _rotate_keys(access)
    login = _admin_login(access)
    access.save()
    return Access(write_key=access.write_key, secret_key=access.secret_key, admin_login=login)


def _keys_work(access: DemoAccess) -> bool:
    for raw, kind in ((access.write_key, ApiKey.WRITE), (access.secret_key, ApiKey.SECRET)):
        key = active_key(raw)
        if key is None or key.kind != kind or key.workspace_id != access.workspace_id:
            return False
    return True


def _rotate_keys(access: DemoAccess) -> None:
    """A fresh pair, and every older demo pair revoked: keys do not pile up."""
    old = ApiKey.objects.filter(
        workspace_id=access.workspace_id,
        name__in=[KEY_NAME, OLD_KEY_NAME],
        revoked_at__isnull=True,
    )
    for key in old:
        revoke_api_key(key=key)
    for raw in (access.write_key, access.secret_key):
        if raw and (key := active_key(raw)) and key.workspace_id == access.workspace_id:
            revoke_api_key(key=key)
    workspace = access.workspace
    access.write_key = create_api_key(workspace=workspace, kind=ApiKey.WRITE, name=KEY_NAME)[1]
    access.secret_key = create_api_key(workspace=workspace, kind=ApiKey.SECRET, name=KEY_NAME)[1]


def _admin_login(access: DemoAccess) -> str:
    users = get_user_model()
    user = users.objects.filter(username=ADMIN_USERNAME).first()
    if user is None:
        access.admin_username = ADMIN_USERNAME
        access.admin_password = secrets.token_urlsafe(12)
        user = users.objects.create_superuser(ADMIN_USERNAME, "", access.admin_password)
        access.workspace.members.add(user)
    elif not (access.admin_password and user.check_password(access.admin_password)):
        access.admin_username = ADMIN_USERNAME
        access.admin_password = ""
        return (
            f"(user '{ADMIN_USERNAME}'; its password is not one the demo set: "
            f"`{RESET_PASSWORD}` sets a new one)"
        )
    return f"(user '{ADMIN_USERNAME}', password '{access.admin_password}')"


def start_page_section(request) -> Section | None:
    """The demo's keys and login on the start page: only on a development
    server, to a browser on the same machine (the demo serves on loopback).

    A reverse proxy or tunnel (ngrok, cloudflared) on the same machine also
    connects from loopback, so the request must also name a loopback host and
    carry no forwarding header."""
    local = _from_loopback(request) and _loopback_host(request) and not _forwarded(request)
    if not settings.DEBUG or not local:
        return None
    access = DemoAccess.objects.select_related("workspace").order_by("pk").first()
    if access is None:
        return None
    rows = [
        ("workspace", access.workspace.name),
        ("write key (ingest only)", access.write_key),
        ("secret key (read/manage)", access.secret_key),
        ("admin user", access.admin_username),
    ]
    if access.admin_password:
        rows.append(("admin password", access.admin_password))
    return Section(
        title="Demo",
        rows=rows,
        note=(
            "Set up by scripts/demo, which prints these again on every run. "
            f"Changed the admin password and lost it? {RESET_PASSWORD}"
        ),
    )


def _from_loopback(request) -> bool:
    return _is_loopback(request.META.get("REMOTE_ADDR", ""))


FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_FORWARDED_HOST")


def _forwarded(request) -> bool:
    return any(header in request.META for header in FORWARDING_HEADERS)


def _loopback_host(request) -> bool:
    host, _port = split_domain_port(request.META.get("HTTP_HOST", ""))
    return host == "localhost" or _is_loopback(host.strip("[]"))


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
