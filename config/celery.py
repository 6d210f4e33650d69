"""Celery application.

With no ``CELERY_BROKER_URL`` the settings switch Celery to eager mode, so the
embedded default runs every task inline in the calling process.
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init
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


@task_prerun.connect
@task_postrun.connect
def reuse_database_connections(sender=None, signal=None, **kwargs) -> None:
    """Keep a worker's database connection across tasks, as Django keeps it across
    requests: closed once older than ``CONN_MAX_AGE`` or left unusable by an
    error (``CELERY_DB_REUSE_MAX`` keeps Celery from closing it every time),
    and checked before each task (``CONN_HEALTH_CHECKS``), since a task's
    first statement is often a transaction's, which Django does not check.

    Measured in the pipeline benchmark: two workers started about four
    PostgreSQL backends a second, each filling its catalog caches anew. An
    inline task runs inside its caller's transaction: nothing to close there.
    """
    from django.db import close_old_connections, connections

    if getattr(sender.request, "is_eager", False):
        return
    close_old_connections()
    if signal is task_prerun:
        for conn in connections.all(initialized_only=True):
            conn.close_if_health_check_failed()
