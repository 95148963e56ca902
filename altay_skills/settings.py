"""Settings for Altay Skills, read from the environment (one module for every setting).

Without any environment the project runs on SQLite under ``.data/`` with Celery eager,
so ``make run`` needs nothing installed. ``DATABASE_URL`` switches to PostgreSQL and
``REDIS_URL`` to a Redis broker with a real worker.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (make run sets DEBUG=1)."
        )
    # Only ever used with DEBUG on (a developer's machine, the test suite).
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105  # nosec B105

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The reverse proxies whose X-Forwarded-For is believed (addresses or networks; "*"
# trusts any peer, for a proxy whose address is not fixed): the variable gunicorn.conf.py
# reads for its own forwarded_allow_ips, so one setting names the proxy for both.
# altay_skills/client_address.py reads it for the audit rows and the login lockout.
TRUSTED_PROXIES = env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1", "::1"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "altay_skills.apps.AxesConfig",  # django-axes, named in Chinese
    "django_celery_results",
    "django_celery_beat",
    "csp",
    "captcha",  # django-simple-captcha: the challenge of anonymous objections (issue 17)
    "altay_skills",
    "accounts",
    "programs",
    "trainees",
    "claims",
    "classes",
    "quarters",
    "finance",
    "reporting",
]

MIDDLEWARE = [
    # /healthz and /readyz for the proxy and the monitoring, before the Host check, the
    # HTTPS redirect, the session and the login (altay_skills.health).
    "altay_skills.health.HealthCheckMiddleware",
    # /metrics for the monitoring network only (altay_skills.metrics)
    "altay_skills.metrics.MetricsMiddleware",
    # A request id for every log line of the request and its tasks, and one line per
    # request with route, user and duration (altay_skills.request_context).
    "altay_skills.request_context.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # An API body over API_MAX_BODY_BYTES: a JSON 413 before anything reads it.
    "altay_skills.bodies.ApiBodyLimitMiddleware",
    "altay_skills.security.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "altay_skills.languages.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # An API write sent with an Idempotency-Key runs in one transaction with the record
    # of its answer, and a retry with the key gets that answer again (issue 21,
    # altay_skills.idempotency). After the session user; before everything below, so
    # that the transaction holds all of the view's work, the 503 of
    # DatabaseUnavailableMiddleware included.
    "altay_skills.idempotency.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    # The Chinese 404 page under DEBUG too (Django's technical page is English).
    "altay_skills.error_pages.NotFoundPageMiddleware",
    # Last, so that it sees a view's exception first: the database out of reach is a
    # 503 in Chinese, never a 500 traceback.
    "altay_skills.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "altay_skills.urls"
WSGI_APPLICATION = "altay_skills.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "altay_skills.languages.visitor_languages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATA_DIR.mkdir(exist_ok=True)
# Two roles on PostgreSQL (issue 14, item 10): DATABASE_URL is the application's role,
# which owns nothing (altay_skills/db_roles.py grants it what it needs);
# MIGRATION_DATABASE_URL is the owner of the tables, used only by the commands manage.py
# names in OWNER_COMMANDS (migrate, db_roles, restore, …), which set
# ALTAY_DATABASE_AS_OWNER. Without MIGRATION_DATABASE_URL both are DATABASE_URL.
APP_DATABASE = env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")


def _same_database(a: dict, b: dict) -> bool:
    """The owner's URL is the owner of *this* database: same engine, host, port, name."""
    keys = ("ENGINE", "HOST", "PORT", "NAME")
    return all(str(a.get(k) or "") == str(b.get(k) or "") for k in keys)


_OWNER = (
    env.db("MIGRATION_DATABASE_URL")
    if env.str("MIGRATION_DATABASE_URL", default="")
    else None
)
# An owner URL naming another database than DATABASE_URL is not this database's owner
# (a command run with DATABASE_URL pointed elsewhere — a scratch SQLite, a restore
# target — must never migrate the database the owner URL names): it is ignored.
OWNER_DATABASE = (
    _OWNER
    if _OWNER is not None and _same_database(_OWNER, APP_DATABASE)
    else APP_DATABASE
)
DATABASES = {
    "default": dict(
        OWNER_DATABASE
        if env.bool("ALTAY_DATABASE_AS_OWNER", default=False)
        else APP_DATABASE
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A connection broken under a request (the server restarted, its backend terminated) is
# closed when the request ends and never handed to the next one, also if CONN_MAX_AGE
# is raised to keep connections between requests (altay_skills/middleware.py).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # One writer at a time; wait for the lock instead of failing at once. Immediate
    # transactions take the write lock when they begin: a deferred one that read first
    # and then writes while another holds the lock fails at once ("database is
    # locked", the timeout never applies), which under make run answered clerks saving
    # at the same moment 503 (tests/test_settings.py).
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
else:
    # No JIT compilation: PostgreSQL compiles a query whose *estimated* cost passes
    # jit_above_cost, and at ten million claims estimates of a few short statements
    # pass it (the claim list's warnings: 10.5 million rows estimated, 53 found;
    # 21 ms compiling, 1 ms running — docs/performance.md section 13). Behind a
    # pooler that refuses startup options, set it on the role instead (scaling.md).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# API tokens (accounts.tokens) end this many hours after they are issued, and with a
# change of the user's password, role or unit, and at sign-out.
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=8)
# Live tokens a user may hold at once; a new one beyond it ends the oldest.
API_TOKENS_PER_USER = env.int("API_TOKENS_PER_USER", default=10)

# Sessions end after an hour without activity (a shared county office computer).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=3600)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# django-axes: throttle per account and per address, never one for all.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"  # Chinese page, status 429
# The client behind the reverse proxy, not the proxy (else every address is 127.0.0.1).
AXES_CLIENT_IP_CALLABLE = "altay_skills.client_address.client_address"

# --- Language and time ---------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
# The staff pages and the API answer in Chinese whatever the browser prefers (issue 19):
# a clerk whose browser asks for English got "This field is required." inside Chinese
# pages. The pages trainees and the public read follow the visitor's choice among
# three languages (issue 17): altay_skills.languages.LanguageMiddleware decides by
# path. Each language is named in its own script (the switcher shows them so).
# ``kk-arab`` is Kazakh in the Arabic-based script used in China (Django's ``kk`` is
# Cyrillic); AltaySkillsConfig.ready adds it to Django's LANG_INFO.
LANGUAGES = [
    ("zh-hans", "简体中文"),
    ("ug", "ئۇيغۇرچە"),
    ("kk-arab", "قازاقشا"),
]
# Django reads the direction from the part before "-": "kk" here is only ever kk-arab.
LANGUAGES_BIDI = ["he", "ar", "ar-dz", "ckb", "fa", "ug", "ur", "kk"]
# The project's catalogues first, then Django's and DRF's Kazakh transliterated to the
# Arabic script (manage.py transliterate_kazakh): without it a kk-arab page took their
# Cyrillic kk catalogues, gettext's fallback from kk_Arab to kk.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale/packages"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=DATA_DIR / "media")
# Evidence documents (issue 16, claims.evidence) are kept through the "documents"
# storage: by default the filesystem under MEDIA_ROOT/documents/ (nothing to set up;
# no URL serves it: there is no MEDIA_URL route, a download goes through the scoped,
# audited view). DOCUMENT_STORAGE=s3 keeps them in an S3-compatible bucket instead
# (django-storages with boto3; MinIO, Ceph, a cloud's object store), private, read
# back through the same view (README, "Documents (issue 16)").
DOCUMENT_STORAGE = env.str("DOCUMENT_STORAGE", default="filesystem")
if DOCUMENT_STORAGE == "s3":
    DOCUMENTS_STORAGE: dict[str, Any] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("DOCUMENT_S3_BUCKET"),
            "endpoint_url": env.str("DOCUMENT_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("DOCUMENT_S3_REGION", default=None),
            "access_key": env.str("DOCUMENT_S3_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("DOCUMENT_S3_SECRET_ACCESS_KEY", default=None),
            "location": env.str("DOCUMENT_S3_PREFIX", default=""),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif DOCUMENT_STORAGE == "filesystem":
    DOCUMENTS_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
else:
    raise ImproperlyConfigured(
        f"DOCUMENT_STORAGE must be 'filesystem' or 's3', not {DOCUMENT_STORAGE!r}"
    )
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "documents": DOCUMENTS_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- REST API --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "altay_skills.openapi.AutoSchema",
    # Every answer under /api/ is JSON: no browsable HTML page, whatever Accept asks
    # (altay_skills.answers.JsonAnswers); OPTIONS in Chinese (answers.ApiMetadata).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "altay_skills.answers.JsonAnswers",
    "DEFAULT_METADATA_CLASS": "altay_skills.answers.ApiMetadata",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "altay_skills.api.exception_handler",
    # JSON read with a size cap and a nesting limit (altay_skills.bodies).
    "DEFAULT_PARSER_CLASSES": [
        "altay_skills.bodies.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "COERCE_DECIMAL_TO_STRING": True,
}
# Reads of the registry per user (trainees.apis.TraineeReadThrottle, issue 14, 3): DRF's
# rate syntax, e.g. "600/hour"; past it 429 in Chinese with Retry-After.
TRAINEE_READ_RATE = env.str("TRAINEE_READ_RATE", default="600/hour")
#: How long finding a person by their full ID number lets a user open them by id
#: (``trainees.models.TraineeFound``): a working day, as an API token lives.
TRAINEE_FOUND_HOURS = env.int("TRAINEE_FOUND_HOURS", default=8)
#: A payee account changed within this many days is flagged on the payment batch that
#: pays it (issue 18: a changed account is the classic way to redirect money).
PAYEE_ACCOUNT_RECENT_DAYS = env.int("PAYEE_ACCOUNT_RECENT_DAYS", default=30)
# Trainee confirmation (issue 17). The address the codes' links and QR codes open.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Anonymous requests to /t/<code>/ and /api/confirmations/ per address (DRF rate).
CONFIRMATION_RATE = env.str("CONFIRMATION_RATE", default="30/hour")
# Wrong last-4 answers a code takes before it is locked, and for how long.
CONFIRMATION_MAX_FAILURES = env.int("CONFIRMATION_MAX_FAILURES", default=5)
CONFIRMATION_LOCK_MINUTES = env.int("CONFIRMATION_LOCK_MINUTES", default=60)
#: each later lock of the same code twice the one before, up to this (a week)
CONFIRMATION_LOCK_MAX_MINUTES = env.int(
    "CONFIRMATION_LOCK_MAX_MINUTES", default=7 * 24 * 60
)
# Chinese working days (altay_skills.working_days: holidays and 调休, as the public
# notice counts) the unit has to record a finding on a trainee's "not me" before it
# shows as overdue.
TRAINEE_GRIEVANCE_WORKING_DAYS = env.int("TRAINEE_GRIEVANCE_WORKING_DAYS", default=5)
# Text messages (altay_skills.sms): console, file or the HTTP gateway.
SMS_BACKEND = env.str(
    "SMS_BACKEND",
    default="altay_skills.sms.ConsoleBackend"
    if DEBUG
    else "altay_skills.sms.HttpGatewayBackend",
)
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(DATA_DIR / "sms.jsonl"))
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_KEY = env.str("SMS_GATEWAY_KEY", default="")
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=5.0)
SMS_SIGN_NAME = env.str("SMS_SIGN_NAME", default="阿勒泰人社")
# One template id a text and language (a gateway registers each wording); a language
# without its own id falls back to the Chinese one (altay_skills.sms.template_id).
SMS_TEMPLATES = {
    "claim": env.str("SMS_TEMPLATE_CLAIM", default=""),
    "class_completed": env.str("SMS_TEMPLATE_CLASS_COMPLETED", default=""),
    "claim:ug": env.str("SMS_TEMPLATE_CLAIM_UG", default=""),
    "class_completed:ug": env.str("SMS_TEMPLATE_CLASS_COMPLETED_UG", default=""),
    "claim:kk-arab": env.str("SMS_TEMPLATE_CLAIM_KK_ARAB", default=""),
    "class_completed:kk-arab": env.str(
        "SMS_TEMPLATE_CLASS_COMPLETED_KK_ARAB", default=""
    ),
}
# Public notice (公示, issue 17): anonymous objections per client address (DRF's rate
# syntax, counted in the shared "throttle" cache), how long the public lists are cached
# (a lodged objection or a finding refreshes them at once), and the challenge: drawn by
# django-simple-captcha on this server, no outside service. CAPTCHA_TEST_MODE (answer
# "passed") is for a development machine only; the tests answer the real challenge.
OBJECTION_RATE = env.str("OBJECTION_RATE", default="5/hour")
PUBLIC_NOTICE_CACHE_SECONDS = env.int("PUBLIC_NOTICE_CACHE_SECONDS", default=120)
CAPTCHA_TEST_MODE = env.bool("CAPTCHA_TEST_MODE", default=False)
CAPTCHA_LENGTH = 4
CAPTCHA_TIMEOUT = 10  # minutes
CAPTCHA_LETTER_ROTATION = (-25, 25)
# One shared cache (issue 19): in Redis when there is one, so that gunicorn's workers
# share one count per user for the throttle (each process would otherwise count on its
# own) and one worker's answer for /readyz; a short timeout, and the throttle lets reads
# through while Redis is out of reach. Local memory only for `make run`. (Axes counts
# failed logins in the database, shared already.)
_COUNTS_REDIS = env.str("REDIS_URL", default="")


def _shared_cache(prefix: str) -> dict[str, object]:
    if not _COUNTS_REDIS:
        return {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": prefix,
        }
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _COUNTS_REDIS,
        "KEY_PREFIX": f"altay-{prefix}",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }


CACHES = {"default": _shared_cache("default"), "throttle": _shared_cache("throttle")}
SPECTACULAR_SETTINGS = {
    "TITLE": "阿勒泰地区职业技能提升补贴申报系统 API",
    "DESCRIPTION": "阿勒泰地区职业技能提升行动补贴申报（阿行办发〔2019〕50号）的接口说明。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # every field a real example, the tags described (Swagger UI made up
    # "program": 9223372036854776000 and "cap": "-307832430.")
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "altay_skills.openapi.fill_examples",
    ],
    # One name per choice set: several models have a "status" or a "kind". The
    # claim's and the institution's keep the names they were first published under.
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "claims.models.ClaimStatus",
        "KindEnum": "programs.models.InstitutionKind",
        "PolicyKindEnum": "programs.models.PolicyKind",
        "ReportStatusEnum": "quarters.models.ReportStatus",
        "SpotCheckResultEnum": "quarters.models.SpotCheckResult",
        "ObjectionStatusEnum": "quarters.models.ObjectionStatus",
        "RollupStatusEnum": "finance.models.RollupStatus",
        "PaymentStatusEnum": "finance.models.PaymentStatus",
        "PaymentKindEnum": "finance.models.PaymentKind",
        "PaymentStateEnum": "finance.serializers.PAYMENT_STATES",
        "ClassStatusEnum": "classes.models.ClassStatus",
        "DocumentKindEnum": "claims.models.DocumentKind",
        # a finding's outcome, upheld or dismissed: a trainee's "not me" and a public
        # objection share the two values (issue 17)
        "FindingOutcomeEnum": "claims.models.GrievanceOutcome",
    },
}

# Reverting a policy entry to an old version would rewrite the past: add a new entry.
SIMPLE_HISTORY_REVERT_DISABLED = True

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Celery ------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Eager without Redis; the memory transport named with a host, or kombu warns "No
# hostname was supplied" on the first publish (make run printed it).
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# A publish must never hang a clerk's request when Redis is down (stack.md).
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    "max_retries": 1,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Logging --------------------------------------------------------------------------
# Every handler masks ID numbers (first 6 and last 4) in messages, arguments and
# tracebacks (trainees.log_masking). Django's own "django" handlers (a second console,
# mail_admins, neither filtered) are replaced: its records reach the root handler.
# JSON lines a machine can read (issue 19) with DEBUG off, readable lines under make run:
# LOG_FORMAT=json|plain. Every handler masks ID numbers and names the request (its id,
# user and route; a task's name and id) — trainees.log_masking,
# altay_skills.request_context.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_id_numbers": {"()": "trainees.log_masking.IdNumberMaskingFilter"},
        "request_context": {"()": "altay_skills.request_context.RequestContextFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "trainees.log_masking.JsonFormatter"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_context", "mask_id_numbers"],
        },
        # runserver's request lines carry query strings (?trainee=<ID number>)
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["mask_id_numbers"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
        },
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # pikepdf (the evidence PDFs' check) says hello at import on every command
        "pikepdf": {"level": "WARNING"},
        # one line per request: runserver writes its own under make run
        "altay_skills.requests": {
            "level": "INFO" if LOG_FORMAT == "json" else "WARNING"
        },
    },
}
# --- Metrics (issue 19, altay_skills.metrics) ----------------------------------------------
# Who may read /metrics: the TCP peer's address (the monitoring host, or nginx's loopback
# when it passes /metrics on from the monitoring network only).
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
METRICS_COLLECTORS = ["reporting.metrics.StagesCollector"]

# --- Errors reach a person (issue 19, trainees.error_reports) -----------------------------
# SENTRY_DSN: a self-hosted Sentry or GlitchTip in the prefecture's network, every event
# scrubbed (no ID number, no request body). Without it, ADMINS ("a@x.cn,b@x.cn") get a
# mail for each ERROR line, masked the same way, through EMAIL_HOST.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
ADMINS = [("", address) for address in env.list("ADMINS", default=[])]
SERVER_EMAIL = env.str("SERVER_EMAIL", default="altay-skills@localhost")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_EXCEPTION_REPORTER_FILTER = "trainees.error_reports.NoBodyReporterFilter"
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
# Sentry starts with the apps (trainees.apps: its scrubbing is the ID-number masking).
if ADMINS and not SENTRY_DSN and not DEBUG:
    LOGGING["handlers"]["mail_admins"] = {  # type: ignore[index]
        "level": "ERROR",
        "class": "trainees.error_reports.MaskedAdminEmailHandler",
        "filters": ["request_context", "mask_id_numbers"],
    }
    LOGGING["root"]["handlers"].append("mail_admins")  # type: ignore[index]

if CELERY_TASK_ALWAYS_EAGER:
    # Tasks run inside the command or request that queued them: a line per task
    # ("Task … succeeded in …", fifty of them in seed_demo) says nothing to a person.
    # A worker (REDIS_URL set) keeps logging each task.
    LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING"}  # type: ignore[index]

# --- Production hardening (issue 6) -------------------------------------------------------
# `DEBUG=0 SECRET_KEY=… ALLOWED_HOSTS=… manage.py check --deploy --fail-level WARNING` is
# clean (make security, tests/test_production_settings.py). TLS ends at the reverse proxy,
# which must set X-Forwarded-Proto (and must be the only way to reach gunicorn).
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)  # a year
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp 4.0), on every page in every mode, so that the
# browser tests run under it. Nothing is loaded from anywhere but this server; no inline
# or eval'd script (static/app/app.js replaces inline handlers; htmx's indicator styles
# are off in base.html). style-src-attr allows the inline style *attributes* a few
# templates use (progress-bar widths, column widths); <style> elements and style sheets
# from elsewhere stay blocked by style-src 'self'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
# Swagger UI (/api/docs/) and ReDoc (/api/redoc/) pages are drf-spectacular's templates:
# an inline <script> that starts the viewer and an inline <style>, and ReDoc injects its
# styles and starts a worker from a blob. Only those two pages get these additions
# (altay_skills.security.CSPMiddleware); every other directive, connect-src 'self'
# included, still holds there. The pages show the schema and nothing a user entered.
API_DOCS_CSP_UPDATE = {
    "/api/docs/": {"script-src": ["'unsafe-inline'"], "style-src": ["'unsafe-inline'"]},
    "/api/redoc/": {
        "script-src": ["'unsafe-inline'"],
        "style-src": ["'unsafe-inline'"],
        "worker-src": ["'self'", "blob:"],
    },
}

# --- The audit trail (issue 14, item 10) ------------------------------------------------
# Every link of the hash chains is an HMAC under AUDIT_KEY, a key the database does not
# hold: whoever can write the tables (a superuser too) cannot forge a link. Production
# refuses to start without one (32 characters or more); rotating it is `manage.py
# audit_rekey` (README). A digest of every chain's head is written daily under
# AUDIT_ANCHOR_DIR, outside the database (reporting.audit, a beat task).
AUDIT_KEY = env.str("AUDIT_KEY", default="")
if not AUDIT_KEY and DEBUG:
    AUDIT_KEY = "dev-only-audit-key-do-not-use-in-production"
if not DEBUG and len(AUDIT_KEY) < 32:
    raise ImproperlyConfigured(
        "AUDIT_KEY must be set (32 characters or more) when DEBUG is off: the key of "
        "the audit trail's hash chains, kept outside the database."
    )
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(DATA_DIR / "backups")))
AUDIT_ANCHOR_DIR = Path(
    env.str("AUDIT_ANCHOR_DIR", default=str(BACKUP_DIR / "audit-anchors"))
)

# An API body (JSON or form) is at most this; a larger one is a JSON 413, unread. The
# largest real body (a bulk approval of 1,000 ids, a class's results) is a few KB.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
# An API write's answer is kept this many hours for a retry with the same
# Idempotency-Key (altay_skills.idempotency, issue 21); the beat purges older keys.
IDEMPOTENCY_KEY_HOURS = env.int("IDEMPOTENCY_KEY_HOURS", default=24)
# How long a retry waits (PostgreSQL) for a request that holds its key before it
# answers 409 request_in_progress: less than GUNICORN_TIMEOUT and the proxy's timeout.
IDEMPOTENCY_WAIT_SECONDS = env.int("IDEMPOTENCY_WAIT_SECONDS", default=30)
# An evidence upload (POST /api/claims/{id}/documents/, issue 16): the file's 10 MB and
# the multipart envelope; the file itself is held to 10 MB by claims.evidence.
API_UPLOAD_MAX_BODY_BYTES = 10 * 1024 * 1024 + 256 * 1024
# A CSRF failure under /api/ answers the API's JSON error, elsewhere Django's page.
CSRF_FAILURE_VIEW = "altay_skills.error_pages.csrf_failure"

# Upload limits for spreadsheet intake (issue 3 defends further before parsing).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Share of each quarterly report drawn for document checking (随机抽查, 五(一)).
SPOT_CHECK_SHARE = env.str("SPOT_CHECK_SHARE", default="0.10")

# How often the anomaly lists are computed for their page (reporting.anomaly_snapshots).
ANOMALY_REFRESH_SECONDS = env.int("ANOMALY_REFRESH_SECONDS", default=5 * 60)

# A rollup queued or running this long without finishing is queued again (its worker
# died, or the broker lost the message); the sweep runs at the same period. Set it
# above the longest rollup's build time (a second build of one rollup wastes work but
# stores nothing twice).
ROLLUP_REQUEUE_SECONDS = env.int("ROLLUP_REQUEUE_SECONDS", default=10 * 60)

CELERY_BEAT_SCHEDULE = {
    "outstanding-reports": {
        "task": "reporting.tasks.notify_outstanding_reports",
        "schedule": 6 * 3600,
    },
    "requeue-stuck-rollups": {
        "task": "reporting.tasks.requeue_stuck_rollups",
        "schedule": ROLLUP_REQUEUE_SECONDS,
    },
    # Work queued while the broker was down (reporting.outbox).
    "dispatch-outbox": {
        "task": "reporting.tasks.dispatch_outbox",
        "schedule": 60,
    },
    # The audit trail's heads, written outside the database (issue 14, item 10).
    "anchor-audit-trail": {
        "task": "reporting.tasks.anchor_audit_trail",
        "schedule": crontab(hour=1, minute=30),
    },
    # The anomaly lists' snapshot, which the page reads (issue 20).
    "refresh-anomalies": {
        "task": "reporting.tasks.refresh_anomalies",
        "schedule": ANOMALY_REFRESH_SECONDS,
    },
    # The dashboards' backlog rows folded, one per report, unit and day (issue 20).
    "compact-backlog": {
        "task": "reporting.tasks.compact_backlog",
        "schedule": 10 * 60,
    },
    # The import's staging files (full ID numbers) deleted once they expire (issue 14).
    "purge-expired-imports": {
        "task": "claims.tasks.purge_expired_imports",
        "schedule": timedelta(minutes=5),
    },
    # The answers kept for retried API writes, deleted after IDEMPOTENCY_KEY_HOURS
    # (issue 21).
    "purge-idempotency-keys": {
        "task": "altay_skills.tasks.purge_idempotency_keys",
        "schedule": timedelta(hours=1),
    },
}
