"""The email channel: Django's email backends (SMTP, or an ESP through django-anymail).

Marketing and service mail carries ``List-Unsubscribe`` with a signed
one-click URL and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
(RFC 8058), so mailbox providers can show their own unsubscribe button. HTML
links are rewritten to signed click-tracking redirects and an open pixel is
added; both write "Email Clicked" / "Email Opened" to the customer's timeline.

Marketing mail links the customer's preference centre: a footer with the
link is added to the text and HTML parts at send time unless the message
already has one (``{{ preferences_url }}`` in the template), so no
template can leave it out and none gets it twice. The stored message stays
as rendered; transactional and service mail get no footer.

The SMTP server goes through the same outbound guard as HTTP providers: a
loopback, private or link-local address is refused (when configured and when
connecting) unless ENGAGE_OUTBOUND_ALLOWED_NETWORKS allows it, so a
workspace's staff cannot make the server log in to, or relay through, a mail
server on its own network.
"""

import contextlib
import re
import smtplib
import socket
from email.utils import formataddr, make_msgid

from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend
from django.utils.html import escape

from engage.demo import outbox
from engage.messaging import preferences, tracking
from engage.plugins import hookimpl
from engage.plugins.base import (
    Capabilities,
    Channel,
    PermanentSendError,
    SendOutcomeUnknown,
    SendResult,
    SettingField,
    TransientSendError,
)
from engage.plugins.outbound import BlockedAddress, GuardedSMTP, host_refusal

# The delivery that sends nothing: each mail is kept in the admin's outbox.
OUTBOX = "outbox"
FOOTER_TEXT = "Choose what you hear from us"
HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']+)\2""", re.IGNORECASE)


class Email(Channel):
    id = "email"
    name = "Email"
    label = "Email"
    address_kind = "email"
    address_trait = "email"
    capabilities = Capabilities(two_way=False, rich_content=True)
    # The backend a session shares between sends, open once the first send needs it.
    _shared = None
    settings_schema = (
        SettingField("from_email", "email", required=True, help="Sender address."),
        SettingField("from_name", help="Sender display name."),
        SettingField("reply_to", "email"),
        SettingField(
            "backend",
            default="smtp",
            help=(
                '"smtp", "outbox" (kept in the admin\'s outbox and sent nowhere: for the demo '
                "and trials), or an anymail backend such as anymail.backends.postmark.EmailBackend."
            ),
        ),
        SettingField("smtp_host", help="Mail server; required for the smtp backend."),
        SettingField("smtp_port", "integer", default=25),
        SettingField("smtp_username"),
        SettingField("smtp_password", secret=True),
        SettingField("smtp_use_tls", "boolean", default=False, help="STARTTLS."),
        SettingField("esp_api_key", secret=True, help="API key of the anymail ESP."),
        SettingField("timeout", "integer", default=20, help="Seconds."),
        SettingField("track_opens", "boolean", default=True),
        SettingField("track_clicks", "boolean", default=True),
    )

    @classmethod
    def check_settings(cls, settings):
        backend = settings.get("backend", "smtp")
        if backend == OUTBOX:
            return {}
        if backend != "smtp" and not backend.startswith("anymail.backends."):
            return {"backend": 'must be "smtp", "outbox" or an anymail.backends.* backend'}
        if backend != "smtp" and not settings.get("esp_api_key"):
            return {"esp_api_key": "required for an anymail backend"}
        if not 0 < settings.get("smtp_port", 25) < 65536:
            return {"smtp_port": "must be between 1 and 65535"}
        if backend == "smtp":
            if not settings.get("smtp_host"):
                return {"smtp_host": "required for the smtp backend"}
            reason = host_refusal(settings["smtp_host"])
            if reason:
                return {"smtp_host": reason}
        return {}

    def connection(self):
        s = self.settings
        if s.get("backend") == OUTBOX:
            # Nothing to connect to: send() keeps each mail in the outbox.
            return get_connection("django.core.mail.backends.dummy.EmailBackend")
        if s.get("backend", "smtp") == "smtp":
            return GuardedSMTPBackend(
                host=s["smtp_host"],
                port=s.get("smtp_port", 25),
                username=s.get("smtp_username", ""),
                password=s.get("smtp_password", ""),
                use_tls=s.get("smtp_use_tls", False),
                timeout=s.get("timeout", 20),
                fail_silently=False,
            )
        return get_connection(s["backend"], api_key=s["esp_api_key"], fail_silently=False)

    def tracked_html(self, message, html: str) -> str:
        if not html:
            return html
        if self.settings.get("track_clicks", True):
            html = HREF.sub(
                lambda m: (
                    f"{m.group(1)}{m.group(2)}"
                    f"{escape(tracking.click_url(message, _unescape(m.group(3))))}{m.group(2)}"
                ),
                html,
            )
        if self.settings.get("track_opens", True):
            pixel = (
                f'<img src="{escape(tracking.open_pixel_url(message))}" width="1" height="1" '
                'alt="" style="display:none">'
            )
            closing = html.lower().rfind("</body>")
            html = html[:closing] + pixel + html[closing:] if closing >= 0 else html + pixel
        return html

    def build(self, *, message, address: str) -> EmailMultiAlternatives:
        s = self.settings
        sender = s["from_email"]
        if s.get("from_name"):
            sender = formataddr((s["from_name"], sender))
        headers = {"Message-ID": make_msgid(domain=s["from_email"].rsplit("@", 1)[-1])}
        if message.category != "transactional":
            headers["List-Unsubscribe"] = f"<{tracking.unsubscribe_url(message)}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        body, html = message.body or "", message.html
        if message.category == "marketing":
            body, html = _with_preferences_footer(message, body, html)
        mail = EmailMultiAlternatives(
            subject=message.subject,
            body=body,
            from_email=sender,
            to=[address],
            reply_to=[s["reply_to"]] if s.get("reply_to") else None,
            headers=headers,
            connection=self._shared or self.connection(),
        )
        if html:
            mail.attach_alternative(self.tracked_html(message, html), "text/html")
        return mail

    @contextlib.contextmanager
    def session(self):
        """One SMTP connection (or ESP HTTP session) for every send of the
        chunk; a send that fails closes it, and the next one connects again."""
        self._shared = self.connection()
        try:
            yield
        finally:
            _close(self._shared)
            self._shared = None

    def send(self, *, message, address: str) -> SendResult:
        mail = self.build(message=message, address=address)
        if self.settings.get("backend") == OUTBOX:
            return SendResult(provider_message_id=outbox.keep(message=message, mail=mail))
        try:
            return self._send(mail)
        except BaseException:
            if self._shared is not None:
                _close(self._shared)
            raise

    def _send(self, mail) -> SendResult:
        try:
            if self._shared is not None:
                # Connecting here, not when the session opens, lets a refused
                # connection be this message's (transient) error.
                self._shared.open()
            mail.send()
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            _raise_for_code(min(codes, default=550), str(exc.recipients))
        except BlockedAddress as exc:
            raise PermanentSendError(f"mail server: {exc}") from exc
        except (smtplib.SMTPConnectError, ConnectionRefusedError, socket.gaierror) as exc:
            raise TransientSendError(f"cannot connect to the mail server: {exc}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentSendError(f"mail server refused the login: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            # A coded answer (HELO, sender, data...): the server took no mail.
            _raise_for_code(exc.smtp_code, _text(exc.smtp_error))
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentSendError(f"mail server does not support it: {exc}") from exc
        except (smtplib.SMTPServerDisconnected, TimeoutError, OSError) as exc:
            # The connection broke mid-conversation: the server may have the mail.
            raise SendOutcomeUnknown(f"connection lost while sending: {exc}") from exc
        # An ESP's own id when anymail reports one (its webhooks use it), else
        # the Message-ID header bounces and replies refer to.
        status = getattr(mail, "anymail_status", None)
        provider_id = status.message_id if status is not None else None
        if provider_id is None:
            provider_id = mail.extra_headers["Message-ID"]
        return SendResult(provider_message_id=str(provider_id))


class GuardedSMTPBackend(EmailBackend):
    """Django's SMTP backend, connecting through the outbound guard."""

    @property
    def connection_class(self):
        return GuardedSMTP


def _close(backend) -> None:
    """Close a connection whose state may be broken; nothing to report if it fails."""
    with contextlib.suppress(Exception):
        backend.close()


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _raise_for_code(code: int, detail: str):
    if 400 <= code < 500:
        raise TransientSendError(f"mail server answered {code}: {detail}")
    raise PermanentSendError(f"mail server answered {code}: {detail}")


def _with_preferences_footer(message, body: str, html: str) -> tuple[str, str]:
    """``body`` and ``html`` with a preference centre footer, each unless
    it links the centre already."""
    url = preferences.link_for(message.profile_id, message.workspace_id)
    if body and not preferences.links_to_centre(body):
        body = f"{body.rstrip()}\n\n-- \n{FOOTER_TEXT}: {url}\n"
    if html and not preferences.links_to_centre(html):
        footer = (
            f'<p style="font-size:12px;color:#666666"><a href="{escape(url)}">{FOOTER_TEXT}</a></p>'
        )
        closing = html.lower().rfind("</body>")
        html = html[:closing] + footer + html[closing:] if closing >= 0 else html + footer
    return body, html


def _unescape(url: str) -> str:
    return url.replace("&amp;", "&")


@hookimpl
def engage_channels():
    return [Email]
