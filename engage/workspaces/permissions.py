from rest_framework import permissions

from .models import ApiKey


class IsSecretKey(permissions.BasePermission):
    message = "This endpoint needs a secret key; write keys can only ingest events."

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        return key.kind == ApiKey.SECRET
