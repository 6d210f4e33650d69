"""Celery application.

With no ``CELERY_BROKER_URL`` the settings switch Celery to eager mode, so the
embedded default runs every task inline in the calling process.
"""

import os

from celery import Celery
from celery.signals import worker_init
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("engage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def refuse_public_development_key(**kwargs) -> None:
    """A worker signs links and tokens too: it refuses the development key off loopback.

    Celery logs and ignores what a signal handler raises, so the refusal is a
    ``SystemExit``, which stops the worker before it consumes anything.
    """
    from django.conf import settings

    from engage.server import secret_key

    try:
        secret_key.refuse_public_development_key(settings.SECRET_KEY, settings.ALLOWED_HOSTS)
    except ImproperlyConfigured as exc:
        raise SystemExit(f"engage: {exc}") from None
