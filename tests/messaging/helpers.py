from engage.messaging import services
from engage.messaging.rendering import Content


def queue_email(workspace, profile, *, category="transactional", key="", priority=0, **content):
    """Queue an email without handing it to a worker; returns the Message."""
    content.setdefault("subject", "Hello {{ traits.first_name }}")
    content.setdefault("body", "Hi {{ traits.first_name | default: 'there' }}")
    return services.create_message(
        workspace=workspace,
        profile=profile,
        channel="email",
        category=category,
        idempotency_key=key,
        priority=priority,
        content=Content(**content),
        send_now=False,
    ).message
