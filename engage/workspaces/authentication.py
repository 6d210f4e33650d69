"""DRF authentication for the management API: ``Authorization: Bearer <key>``.

Any active key authenticates (so a write key gets a clear 403 from
``IsSecretKey`` rather than a misleading 401); the permission decides.
"""

from dataclasses import dataclass

from rest_framework import authentication, exceptions

from .models import ApiKey, Workspace
from .selectors import active_key


@dataclass(frozen=True)
class KeyHolder:
    """Stands in for ``request.user``: whoever holds the key acts for its workspace."""

    key: ApiKey

    is_authenticated = True
    is_anonymous = False

    @property
    def workspace(self) -> Workspace:
        return self.key.workspace


class SecretKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise exceptions.AuthenticationFailed("Authorization: expected 'Bearer <secret key>'.")
        key = active_key(raw.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("Authorization: unknown or revoked key.")
        return KeyHolder(key), key

    def authenticate_header(self, request) -> str:
        return self.keyword
