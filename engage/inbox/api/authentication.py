"""The inbox token as DRF authentication: the customer's app reads one inbox.

Not the secret key: a token names one customer of one workspace
(``tokens.issue``), so an app holding it can read and act on that inbox only.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from engage.inbox import tokens

AUTH_SCHEME = "Bearer"


class InboxReader:
    """Who an inbox token belongs to."""

    is_authenticated = True

    def __init__(self, workspace_id: int, profile_id: int):
        self.workspace_id = workspace_id
        self.profile_id = profile_id


class InboxTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        scheme, _, token = get_authorization_header(request).decode(errors="replace").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("Authorization: Bearer <inbox token> required")
        try:
            workspace_id, profile_id = tokens.read(token.strip())
        except tokens.InvalidInboxToken as exc:
            raise AuthenticationFailed(str(exc)) from None
        return InboxReader(workspace_id, profile_id), None

    def authenticate_header(self, request):
        return 'Bearer realm="inbox"'


class InboxTokenScheme(OpenApiAuthenticationExtension):
    target_class = InboxTokenAuthentication
    name = "inboxToken"

    def get_security_definition(self, auto_schema):
        definition = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=AUTH_SCHEME
        )
        definition["description"] = "A per-customer inbox token from POST /api/inbox/tokens."
        return definition
