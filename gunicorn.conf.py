"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py altay_skills.wsgi``.

Environment: ``PORT`` (8000), ``BIND_HOST`` (127.0.0.1: the TLS reverse proxy on the
same host is the only client; set 0.0.0.0 in a container), ``WEB_CONCURRENCY`` (3
workers, for 2 cores), ``GUNICORN_TIMEOUT`` (60 s).
whitenoise serves /static/ from the app; run ``manage.py collectstatic`` first.
"""

import os

wsgi_app = "altay_skills.wsgi:application"
bind = [f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# SIGTERM (systemd stop, a deploy) lets requests in flight finish for up to 30 s.
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (a slow leak in a long-lived worker never grows large).
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# Every line of both logs masks ID numbers (first 6 and last 4), as Django's do.
logger_class = "trainees.log_masking.GunicornLogger"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# No query strings and no referrer (they can carry ID numbers, e.g. /trainees/?q=…):
# the client as the proxy saw it, time, method, path, status, bytes, milliseconds, agent.
access_log_format = (
    '%({x-forwarded-for}i)s %(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
)
# Headers and request lines beyond these are refused before Django sees them.
limit_request_line = 8190
limit_request_fields = 100
# The proxy's X-Forwarded-* are trusted from the loopback only (gunicorn's default).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "altay-skills"


def child_exit(server: object, worker: object) -> None:
    """A finished worker's metrics files are merged, not counted live (issue 19:
    altay_skills.metrics, PROMETHEUS_MULTIPROC_DIR)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
