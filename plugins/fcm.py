"""Mobile push through Firebase Cloud Messaging's HTTP v1 API.

A send is ``POST /v1/projects/{project_id}/messages:send`` with an OAuth 2
access token. The token comes from the service account: engage signs a JWT
(RS256) with the account's private key and exchanges it at the account's
``token_uri`` (Google's OAuth server), then reuses it until shortly before it
expires. The device token is the customer's ``push_token`` identity. When
FCM answers UNREGISTERED (the app was uninstalled, the token rotated), the
token is removed from the profile so it is never tried again.
"""

import base64
import hashlib
import json
import time
from functools import lru_cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.core.cache import cache

from engage.plugins import hookimpl, provider_http
from engage.plugins.base import (
    Capabilities,
    Channel,
    PermanentSendError,
    SendResult,
    SettingField,
    TransientSendError,
)
from engage.plugins.provider_http import ProviderRejected
from engage.profiles.models import Identity

FCM_API = "https://fcm.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SERVICE_ACCOUNT_FIELDS = ("project_id", "client_email", "private_key", "token_uri")
# FCM error codes meaning the device token is dead.
DEAD_TOKEN_CODES = frozenset({"UNREGISTERED"})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@lru_cache(maxsize=32)
def _private_key(pem: str):
    """The parsed key; parsing checks the RSA key, slow enough to do once."""
    return serialization.load_pem_private_key(pem.encode(), password=None)


def service_account_jwt(account: dict, now: int | None = None) -> str:
    """The signed assertion exchanged for an access token (RFC 7523)."""
    now = int(now or time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": account.get("private_key_id", "")}
    claims = {
        "iss": account["client_email"],
        "scope": SCOPE,
        "aud": account["token_uri"],
        "iat": now,
        "exp": now + 3600,
    }
    signing_input = (
        _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
    )
    signature = _private_key(account["private_key"]).sign(
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return signing_input + "." + _b64url(signature)


class FCMChannel(Channel):
    id = "push"
    name = "Push (Firebase Cloud Messaging)"
    label = "Push"
    address_kind = "push_token"
    capabilities = Capabilities(two_way=False, rich_content=False, max_length=4000)
    settings_schema = (
        SettingField(
            "service_account_json",
            required=True,
            secret=True,
            help="The Firebase service account key file's JSON.",
        ),
        SettingField("api_base_url", type="url", default=FCM_API),
    )

    @classmethod
    def check_settings(cls, settings):
        try:
            account = json.loads(settings["service_account_json"])
        except ValueError:
            return {"service_account_json": "not valid JSON"}
        if not isinstance(account, dict):
            return {"service_account_json": "must be a JSON object"}
        missing = [name for name in SERVICE_ACCOUNT_FIELDS if not account.get(name)]
        if missing:
            return {"service_account_json": f"missing {', '.join(missing)}"}
        try:
            key = _private_key(account["private_key"])
        except (ValueError, TypeError):
            return {"service_account_json": "private_key is not a PEM private key"}
        if not isinstance(key, rsa.RSAPrivateKey):
            return {"service_account_json": "private_key must be an RSA key"}
        return {}

    @property
    def account(self) -> dict:
        return json.loads(self.settings["service_account_json"])

    def _token_cache_key(self, account: dict) -> str:
        ident = (
            f"{account['client_email']}|{account.get('private_key_id', '')}|{account['token_uri']}"
        )
        return "engage:fcm-token:" + hashlib.sha256(ident.encode()).hexdigest()

    def access_token(self) -> str:
        account = self.account
        key = self._token_cache_key(account)
        token = cache.get(key)
        if token:
            return token
        try:
            response = provider_http.post(
                account["token_uri"],
                data={"grant_type": JWT_BEARER, "assertion": service_account_jwt(account)},
            )
        except ProviderRejected as exc:
            raise PermanentSendError(f"token endpoint refused the service account: {exc}") from None
        body = response.json()
        token = body["access_token"]
        # Refresh a minute early so a token never expires in flight.
        cache.set(key, token, timeout=max(60, int(body.get("expires_in", 3600)) - 60))
        return token

    def send(self, *, message, address: str) -> SendResult:
        account = self.account
        notification = {"body": message.body}
        if message.subject:
            notification["title"] = message.subject
        payload = {
            "message": {
                "token": address,
                "notification": notification,
                "data": {"engage_message_id": str(message.pk)},
            }
        }
        base = self.settings["api_base_url"].rstrip("/")
        try:
            response = provider_http.post(
                f"{base}/v1/projects/{account['project_id']}/messages:send",
                json=payload,
                headers={"Authorization": f"Bearer {self.access_token()}"},
            )
        except ProviderRejected as exc:
            if exc.status == 401:
                # The access token was revoked or expired early: fetch a new one next time.
                cache.delete(self._token_cache_key(account))
                raise TransientSendError(f"access token refused: {exc}") from None
            if exc.code in DEAD_TOKEN_CODES:
                Identity.objects.filter(
                    workspace_id=message.workspace_id, kind=self.address_kind, value=address
                ).delete()
            raise
        return SendResult(provider_message_id=response.json()["name"])


@hookimpl
def engage_channels():
    return [FCMChannel]
