"""Settings, read from the environment.

Everything that differs between a laptop, CI and production comes from an
environment variable; the defaults are safe for production (DEBUG off) and
`make run` sets what a developer needs.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str = "False") -> bool:
    value = os.getenv(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: str) -> int:
    return int(os.getenv(name, default))


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


def envsecret(name: str, default: str = "") -> str:
    """Read NAME, or the contents of the file named by NAME_FILE (Docker/K8s secrets)."""
    path = os.getenv(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.getenv(name, default)


DEBUG = envbool("DEBUG")
SECRET_KEY = envsecret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
# The public address of the site, used in feeds, SMS and anything read outside a request.
SITE_URL = os.getenv("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "schedule",
    "venues",
    "events",
    "attendance",
    "notifications",
    "targets",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.SiteLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.getenv("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", "60"),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a writer instead of failing with "database is locked", and take the
    # write lock when a transaction begins, so read-then-write services serialise.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
    # Covering indexes (Index.include) are PostgreSQL's: SQLite builds the same
    # indexes without the carried columns, which is all a development database needs.
    # (A unique constraint with `include` would not be built on SQLite at all, models.W039:
    # that warning stays on.)
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and envint("DB_PREPARE_THRESHOLD", "5"):
    # Parameters bound by the server, and a statement a connection has run this many times
    # prepared (psycopg): the door's check-in and other repeated queries skip parsing and
    # planning. 0 turns both off, e.g. behind a pooler in transaction mode.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": envint("DB_PREPARE_THRESHOLD", "5")}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.getenv("REDIS_URL", "")
if REDIS_URL:
    # django-redis rather than Django's own RedisCache: it keeps one client per
    # process (Django's builds one per cache call, about as costly as the call)
    # and increments in one round trip (a throttle is an add and an incr).
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.getenv("CACHE_KEY_PREFIX", "lll"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "staff:home"
LOGOUT_REDIRECT_URL = "public:occurrence_list"

# Vietnamese first; English is one click away.
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.getenv("TIME_ZONE", "Asia/Ho_Chi_Minh")
USE_TZ = True
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.getenv("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.getenv("MEDIA_ROOT", BASE_DIR / "media"))
# Files only staff may download (annual reports), served through views that check
# access, never by the web server or /media/.
PRIVATE_MEDIA_ROOT = Path(os.getenv("PRIVATE_MEDIA_ROOT", BASE_DIR / "private-media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or envbool("TESTING")
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Set when a proxy in front appends the client address to X-Forwarded-For.
TRUST_X_FORWARDED_FOR = envbool("TRUST_X_FORWARDED_FOR")

# Security: on unless DEBUG; a proxy in front terminates TLS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", str(not DEBUG))
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", str(not DEBUG))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Background work: Celery runs tasks in-process when no broker is configured.
CELERY_BROKER_URL = os.getenv("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Keep a worker's database connection across tasks (Celery otherwise closes it
# around every task): measured in bench/reminders.py, it doubles SMS per second.
CELERY_DB_REUSE_MAX = envint("CELERY_DB_REUSE_MAX", "1000")

# django-scheduler
SHOW_CANCELLED_OCCURRENCES = True

# How far ahead occurrences of a recurring programme are materialised (rows the
# listing, registration and check-in read instead of expanding rules per request).
OCCURRENCE_HORIZON_DAYS = envint("OCCURRENCE_HORIZON_DAYS", "400")
# The longest a recurring series may run, so expansion stays bounded.
MAX_SERIES_DAYS = envint("MAX_SERIES_DAYS", "731")

# Attendance: when the door opens and closes around a date, how long personal
# data is kept after it (Decree 13/2023/NĐ-CP), and the largest walk-in count.
CHECKIN_OPENS_MINUTES = envint("CHECKIN_OPENS_MINUTES", "60")
CHECKIN_CLOSES_MINUTES = envint("CHECKIN_CLOSES_MINUTES", "30")
PERSONAL_DATA_RETENTION_DAYS = envint("PERSONAL_DATA_RETENTION_DAYS", "180")
# A venue "provides lifelong-learning services" in a year when it held at least
# this many published lifelong-learning dates (targets.indicators).
LIFELONG_LEARNING_MIN_OCCURRENCES = envint("LIFELONG_LEARNING_MIN_OCCURRENCES", "4")
# Requests per client to the public targets API (DRF rate: "120/min").
TARGETS_API_RATE = os.getenv("TARGETS_API_RATE", "120/min")
WALKIN_MAX_COUNT = envint("WALKIN_MAX_COUNT", "500")
# How long a door scanner's token, its user and door venues are kept in the cache and,
# for scans, in each worker (attendance.door_auth; forgotten at once when one of them is
# saved, and confirmed by every scan); 0: not cached.
DOOR_TOKEN_CACHE_SECONDS = envint("DOOR_TOKEN_CACHE_SECONDS", "60")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "attendance.door_auth.CachedTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lifelong learning events API",
    "DESCRIPTION": "Events, venues and attendance of public libraries, museums and culture centres.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# SMS leave through this transport (notifications.transports): the console in development.
SMS_TRANSPORT = os.getenv("SMS_TRANSPORT", "notifications.transports.ConsoleSms")
# Estimated price of one SMS segment (for the cost shown to staff and the caps).
SMS_SEGMENT_PRICE = os.getenv("SMS_SEGMENT_PRICE", "0.0832")
SMS_PRICE_CURRENCY = os.getenv("SMS_PRICE_CURRENCY", "USD")
# Twilio, for SMS_TRANSPORT=notifications.transports.TwilioSms. The sender is a
# messaging service when one is set, otherwise the number or sender ID in TWILIO_FROM.
TWILIO_ACCOUNT_SID = os.getenv("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = envsecret("TWILIO_AUTH_TOKEN")
TWILIO_FROM = os.getenv("TWILIO_FROM", "")
TWILIO_MESSAGING_SERVICE_SID = os.getenv("TWILIO_MESSAGING_SERVICE_SID", "")
# Tests and the benchmark only: a fake Twilio such as http://127.0.0.1:8099 instead of api.twilio.com.
TWILIO_API_BASE_URL = os.getenv("TWILIO_API_BASE_URL", "").rstrip("/")
# Seconds to wait for Twilio to connect and to answer, so a stalled request cannot hold a worker.
TWILIO_TIMEOUT = float(os.getenv("TWILIO_TIMEOUT", "10"))
# Ask Twilio to report delivery to SITE_URL/sms/status/ (SITE_URL must be reachable from the internet).
SMS_STATUS_CALLBACK = envbool("SMS_STATUS_CALLBACK", "True")
if SMS_TRANSPORT.endswith(".TwilioSms") and not (
    TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and (TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID)
):
    raise ImproperlyConfigured(
        "TwilioSms needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID."
    )

# Outbox (notifications.services). SMS handed to the provider per second by all
# workers together (counted in the cache: Redis when REDIS_URL is set, otherwise
# per process; not applied when Celery runs eagerly); 0: no limit.
SMS_RATE_PER_SECOND = envint("SMS_RATE_PER_SECOND", "10")
# A transient failure is retried after about BASE·2^(attempt-1) seconds (at most
# MAX, or longer when the provider asks), until MAX_ATTEMPTS attempts were made.
OUTBOX_RETRY_MAX_ATTEMPTS = envint("OUTBOX_RETRY_MAX_ATTEMPTS", "6")
OUTBOX_RETRY_BASE_SECONDS = envint("OUTBOX_RETRY_BASE_SECONDS", "30")
OUTBOX_RETRY_MAX_SECONDS = envint("OUTBOX_RETRY_MAX_SECONDS", "900")
# The periodic sweep hands over messages due for longer than this that no worker
# took (broker down when they were recorded, worker lost).
OUTBOX_SWEEP_AGE_SECONDS = envint("OUTBOX_SWEEP_AGE_SECONDS", "60")
# A message claimed this long ago with no answer recorded is settled by the sweep
# (the worker was lost). Must be longer than any provider call (TWILIO_TIMEOUT).
OUTBOX_STALE_SECONDS = envint("OUTBOX_STALE_SECONDS", "300")
# Reminders (notifications.reminders): none are sent in quiet hours (local time,
# HH:MM; equal values: no quiet hours), and one missed by more than the look-back
# (dispatcher down) is not sent any more.
QUIET_HOURS_START = os.getenv("QUIET_HOURS_START", "21:00")
QUIET_HOURS_END = os.getenv("QUIET_HOURS_END", "07:00")
REMINDER_LOOKBACK_MINUTES = envint("REMINDER_LOOKBACK_MINUTES", "120")
# The queue tasks go to unless routed (one per deployment, or per worker test).
CELERY_TASK_DEFAULT_QUEUE = os.getenv("CELERY_TASK_DEFAULT_QUEUE", "celery")

EMAIL_BACKEND = os.getenv("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "no-reply@localhost")
EMAIL_HOST = os.getenv("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "0")
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", "0")
# Below OUTBOX_STALE_SECONDS, so a hung SMTP server never holds a worker past the sweep.
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", "20")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
}
