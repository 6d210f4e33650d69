"""Requests as Twilio sends them: form-encoded and signed with X-Twilio-Signature."""

from django.test import RequestFactory

from plugins.twilio_sms import twilio_signature

from .conftest import AUTH_TOKEN


def signed_post(path: str, params: dict, *, token: str = AUTH_TOKEN, tamper: dict | None = None):
    """A RequestFactory POST signed over ``params``; ``tamper`` changes the body
    after signing, as a forger would."""
    url = f"http://testserver{path}"
    signature = twilio_signature(token, url, {k: [v] for k, v in params.items()})
    return RequestFactory().post(
        path, {**params, **(tamper or {})}, HTTP_X_TWILIO_SIGNATURE=signature
    )
