"""engage settings, read from the environment.

Unset ``DATABASE_URL`` means the embedded default (a SQLite file under var/);
unset ``CELERY_BROKER_URL`` means tasks run inline. Production deployments set
both, plus ``SECRET_KEY`` and ``ALLOWED_HOSTS``; ``config.settings_production``
adds the HTTPS hardening that ``manage.py check --deploy`` asks for.
"""

from importlib.metadata import entry_points
from pathlib import Path

import environ
from celery.schedules import crontab

from engage.server.secret_key import DEVELOPMENT_SECRET_KEY, warn_development_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

# Without SECRET_KEY only loopback is served (engage.server.secret_key).
SECRET_KEY = env("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
if SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    warn_development_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "import_export",
    "engage.workspaces",
    "engage.profiles",
    "engage.events",
    "engage.privacy",
    "engage.plugins",
    "engage.messaging",
    "engage.segments",
    "engage.scoring",
    "engage.inbox",
    "engage.journeys",
    "engage.sendrates",
    "engage.broadcasts",
    "engage.audit",
    "engage.feedback",
    "engage.loyalty",
    "engage.catalog",
    "engage.metrics",
    "engage.imports",
    "engage.dashboards",
    "engage.demo",
    # Plugins that need tables of their own ship a Django app, found like the
    # plugins themselves: through an entry-point group (docs/plugins.md).
    *(entry.value for entry in entry_points(group="engage.apps")),
]

MIDDLEWARE = [
    "engage.server.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the audit trail names the staff user or API key.
    "engage.audit.actor.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it is the first to see a view's exception: 503 when the
    # database cannot be reached.
    "engage.server.database_outage.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'engage.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # One writer at a time: take the write lock at BEGIN so concurrent requests
    # queue instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    # Tests on SQLite use a file too: an in-memory shared-cache database fails
    # concurrent writers with "table is locked" instead of queueing them.
    DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}-test"}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (rate limits) --------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- celery ---------------------------------------------------------------
CELERY_TASK_ALWAYS_EAGER = not env("CELERY_BROKER_URL", default="")
# Celery acquires a producer even for an inline task: without a broker the
# in-memory transport spares it a connection to a default host (and kombu's
# "No hostname was supplied" warning in the demo's output).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Ingestion must never wait on a broker: a failed publish is dropped (the
# periodic sweep finds the events) instead of being retried inside the request.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Celery closes Django's database connections before and after every task
# unless this is set (then every this many tasks): each task would start a
# PostgreSQL backend and fill its caches again. config/celery.py closes them
# as Django does around a request instead (CONN_MAX_AGE, health checks).
CELERY_DB_REUSE_MAX = 1000
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "sweep-unprocessed-events": {
        "task": "engage.events.tasks.sweep_unprocessed_events",
        "schedule": env.float("ENGAGE_SWEEP_SECONDS", default=10.0),
    },
    "sweep-messages": {
        "task": "engage.messaging.tasks.sweep_messages",
        "schedule": env.float("ENGAGE_SWEEP_SECONDS", default=10.0),
    },
    # Dynamic segments saved while their refresh could not be published.
    "sweep-stale-segments": {
        "task": "engage.segments.tasks.sweep_stale_segments",
        "schedule": env.float("ENGAGE_SWEEP_SECONDS", default=10.0),
    },
    # Journey steps that came due (waits ending); new entries and wakes are
    # kicked at once, this catches up on the rest.
    "advance-journeys": {
        "task": "engage.journeys.tasks.advance_journeys",
        "schedule": env.float("ENGAGE_JOURNEY_SECONDS", default=5.0),
    },
    # One slice of each due broadcast (docs/broadcasts.md).
    "run-broadcasts": {
        "task": "engage.broadcasts.tasks.run_broadcasts",
        "schedule": env.float("ENGAGE_BROADCAST_SECONDS", default=5.0),
    },
    # Weekly scores and their history row: Mondays 03:00 UTC.
    "compute-scores-weekly": {
        "task": "engage.scoring.tasks.compute_all_workspaces",
        "schedule": crontab(minute=0, hour=3, day_of_week=1),
    },
    # Co-purchase counts behind the bought_together recommender: nightly, 02:30 UTC.
    "compute-copurchases-nightly": {
        "task": "engage.catalog.tasks.compute_all_copurchases",
        "schedule": crontab(minute=30, hour=2),
    },
    # Loyalty: expiry, expiry notices, tiers whose window moved (docs/loyalty.md).
    "loyalty-nightly": {
        "task": "engage.loyalty.tasks.run_nightly",
        "schedule": crontab(minute=30, hour=3),
    },
    # Segments whose answer changes with time alone (windows, relative dates).
    "refresh-time-dependent-segments": {
        "task": "engage.segments.tasks.refresh_time_dependent_segments",
        "schedule": env.float("ENGAGE_SEGMENT_REFRESH_SECONDS", default=900.0),
    },
    # Yesterday's attribution and closed periods' retention (docs/metrics.md).
    "roll-up-metrics": {
        "task": "engage.metrics.tasks.roll_up_all_workspaces",
        "schedule": crontab(minute=30, hour=2),
    },
}

# --- API ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["engage.workspaces.authentication.SecretKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["engage.workspaces.permissions.IsSecretKey"],
    # Every operation documents the errors it can answer (engage.api.schema).
    "DEFAULT_SCHEMA_CLASS": "engage.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    # One error body, {"detail", "errors"}, and JSON refused past 64 levels
    # (engage.json_limits) instead of a RecursionError.
    "EXCEPTION_HANDLER": "engage.api.errors.exception_handler",
    # JSON only: a form body cannot carry the API's nested objects and types,
    # so it is refused with 415 rather than half-read.
    "DEFAULT_PARSER_CLASSES": ["engage.api.parsers.JSONParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "engage API",
    "DESCRIPTION": (
        "Management API of engage (secret key, `Authorization: Bearer sk_...`). "
        "The Segment-compatible ingestion endpoints under /v1/ are described in docs/api.md."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components, with what input requires
    # (minLength of a non-blank string) and without read-only fields.
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets whose field name other components use for other choices.
    "ENUM_NAME_OVERRIDES": {
        "BroadcastActionEnum": "engage.broadcasts.models.Broadcast.ACTIONS",
        "BroadcastStatusEnum": "engage.broadcasts.models.Broadcast.STATUSES",
        "FeedbackKindEnum": "engage.feedback.scales.KINDS",
        "LoyaltyMovementKindEnum": "engage.loyalty.models.PointsMovement.KINDS",
        "LoyaltyRequestKindEnum": "engage.loyalty.api.serializers.REQUEST_KINDS",
        "SegmentKindEnum": "engage.segments.models.Segment.KINDS",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The secret-key scheme first in Swagger UI's Authorize dialog.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "engage.api.schema.secret_key_first",
    ],
}

# --- engage ---------------------------------------------------------------
# Ingestion limits (Segment's published limits by default).
ENGAGE_MAX_EVENT_BYTES = env.int("ENGAGE_MAX_EVENT_BYTES", default=32 * 1024)
ENGAGE_MAX_BATCH_BYTES = env.int("ENGAGE_MAX_BATCH_BYTES", default=500 * 1024)
ENGAGE_MAX_BATCH_EVENTS = env.int("ENGAGE_MAX_BATCH_EVENTS", default=2500)
# Requests per second per workspace when the workspace sets no limit of its own.
ENGAGE_DEFAULT_RATE_LIMIT = env.int("ENGAGE_DEFAULT_RATE_LIMIT", default=1000)
# Identity resolution: values never used to merge, and how many identities of a
# kind one profile may hold (user_id is always 1).
ENGAGE_BLOCKED_IDENTIFIERS = env.list("ENGAGE_BLOCKED_IDENTIFIERS", default=[])
ENGAGE_DEFAULT_IDENTITY_LIMIT = env.int("ENGAGE_DEFAULT_IDENTITY_LIMIT", default=25)
# Events claimed and resolved per transaction (a fixed number of statements per
# batch: larger batches cost fewer per event; docs/performance.md).
ENGAGE_PROCESSING_BATCH = env.int("ENGAGE_PROCESSING_BATCH", default=2000)
# Product Updated / Product Deleted events change the catalog: off by default,
# as a write key is public in web pages and apps (docs/recommendations.md).
ENGAGE_CATALOG_EVENTS = env.bool("ENGAGE_CATALOG_EVENTS", default=False)
# Outbound HTTP (webhooks, providers, web push) refuses loopback, private and
# link-local addresses (SSRF) except in these networks (CIDR list), e.g. an
# internal relay.
ENGAGE_OUTBOUND_ALLOWED_NETWORKS = env.list("ENGAGE_OUTBOUND_ALLOWED_NETWORKS", default=[])
# Importers retry a source's 429, 5xx or lost answer this many times, waiting its
# Retry-After (else 1, 2, 4... s), each wait capped at this many seconds.
ENGAGE_SOURCE_RETRIES = env.int("ENGAGE_SOURCE_RETRIES", default=4)
ENGAGE_SOURCE_MAX_WAIT_SECONDS = env.float("ENGAGE_SOURCE_MAX_WAIT_SECONDS", default=60.0)
# Importers' `path` settings are read only inside <this directory>/<workspace id>/
# (files the server's operator puts there); uploads in the admin need none.
ENGAGE_IMPORT_DIR = env("ENGAGE_IMPORT_DIR", default=str(VAR_DIR / "imports"))
# The largest file an import reads (an upload, a path setting or --file), in bytes.
ENGAGE_IMPORT_MAX_BYTES = env.int("ENGAGE_IMPORT_MAX_BYTES", default=512 * 1024 * 1024)
# The address customers and providers reach this server at: unsubscribe and
# tracking links, webhook URLs.
ENGAGE_PUBLIC_URL = env("ENGAGE_PUBLIC_URL", default="http://localhost:8000")
# Basic-auth "user:password" your ESP sends to /anymail/<esp>/tracking/
# (bounces, complaints, opens); ESP webhooks are refused while it is unset.
ANYMAIL = {"WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET", default="")}
# Message sends: attempts for transient errors, first backoff (doubling), and
# how long a message may stay "sending" before its worker counts as dead.
ENGAGE_SEND_MAX_ATTEMPTS = env.int("ENGAGE_SEND_MAX_ATTEMPTS", default=5)
ENGAGE_SEND_BACKOFF_SECONDS = env.float("ENGAGE_SEND_BACKOFF_SECONDS", default=30.0)
ENGAGE_SENDING_TIMEOUT_SECONDS = env.float("ENGAGE_SENDING_TIMEOUT_SECONDS", default=300.0)
# Due messages a worker claims in one transaction and sends over one connection.
ENGAGE_SEND_CHUNK_SIZE = env.int("ENGAGE_SEND_CHUNK_SIZE", default=50)
# Seconds between broadcast ticks: each hands every due broadcast one slice
# of rate x this many members.
ENGAGE_BROADCAST_SECONDS = env.float("ENGAGE_BROADCAST_SECONDS", default=5.0)

# --- i18n / static ----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise warns about a missing STATIC_ROOT, so it always exists (it is not
# committed). Until ``collectstatic`` fills it (development, tests, the demo),
# static files are served straight from the apps.
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG or not any(STATIC_ROOT.iterdir())

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Everything goes to stderr, DEBUG or not, each record with the id of the
# request it was written for: an unhandled exception is one record from
# django.request, with its traceback. 4xx answers are the client's business
# and are not logged.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "engage.server.request_id.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s request=%(request_id)s %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "engage": {"level": env("LOG_LEVEL", default="INFO")},
        # Django's own handlers print only with DEBUG on; the root's always do.
        "django": {"handlers": [], "level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}
