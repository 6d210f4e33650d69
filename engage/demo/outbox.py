"""The local outbox: the email channel's ``outbox`` delivery.

The demo (and a trial install without a mail server) must show the mail a
journey or an API call sends, and an SMTP server on loopback is refused by
the outbound guard anyway. With ``"backend": "outbox"`` the email channel
builds each mail as for SMTP (headers, unsubscribe link, tracked HTML) and
hands it here instead; the admin's outbox page lists what was kept.
"""

from django.core.mail import EmailMultiAlternatives

from .models import OutboxEmail


def keep(*, message, mail: EmailMultiAlternatives) -> str:
    """Store ``mail`` (built for ``message``) in the outbox; returns its
    Message-ID, the provider id a mail server's bounces would refer to."""
    html = next((content for content, mimetype in mail.alternatives if mimetype == "text/html"), "")
    headers = {name: str(value) for name, value in mail.extra_headers.items()}
    if mail.reply_to:
        headers["Reply-To"] = ", ".join(mail.reply_to)
    kept = OutboxEmail.objects.create(
        workspace_id=message.workspace_id,
        message=message,
        message_id_header=headers.get("Message-ID", ""),
        from_email=mail.from_email,
        to=", ".join(mail.to),
        subject=mail.subject,
        body=mail.body,
        html=html,
        headers=headers,
    )
    return kept.message_id_header
