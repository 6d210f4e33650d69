"""Celery application.

With no ``CELERY_BROKER_URL`` the settings switch Celery to eager mode, so the
embedded default runs every task inline in the calling process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("engage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
