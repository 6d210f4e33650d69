"""Production settings: everything from ``config.settings`` plus HTTPS hardening.

Use with ``DJANGO_SETTINGS_MODULE=config.settings_production``; ``SECRET_KEY``
and ``ALLOWED_HOSTS`` must come from the environment (no development default
is good enough for a public server). ``manage.py check --deploy`` is clean.
"""

from .settings import *  # noqa: F403
from .settings import SPECTACULAR_SETTINGS, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# Origins allowed to POST forms (the admin) when they differ from the host,
# e.g. "https://admin.example.com".
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# A load balancer's health check reaches the server itself, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Production serves what `collectstatic` wrote, never the apps' own folders:
# a forgotten collectstatic shows at once instead of being papered over.
WHITENOISE_USE_FINDERS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# `check --deploy` is about the deployment; the API schema's own warnings are
# checked where the schema is built (`manage.py spectacular --validate`, run by
# the tests), not on every deploy.
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "ENABLE_DJANGO_DEPLOY_CHECK": False}
