"""OpenAPI description of engage's key authentication (drf-spectacular extension).

Without it drf-spectacular cannot describe ``SecretKeyAuthentication`` and
warns; with it, Swagger UI offers an "Authorize" box for the secret key.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class SecretKeyScheme(OpenApiAuthenticationExtension):
    target_class = "engage.workspaces.authentication.SecretKeyAuthentication"
    name = "secretKey"

    def get_security_definition(self, auto_schema):
        definition = build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix=self.target.keyword,
        )
        definition["description"] = "A workspace secret key (sk_...). Write keys get 403."
        return definition
