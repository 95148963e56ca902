"""Prometheus metrics (issue 19), for the monitoring network only.

- Requests: ``altay_http_requests_total{route, method, status}`` and
  ``altay_http_request_seconds{route}`` — the route is the URL pattern's name (a bounded
  set; an unresolved path counts as ``unresolved``), never the path itself.
- Tasks: ``altay_celery_tasks_total{task, state}`` and ``altay_celery_task_seconds{task}``.
- What the stages hold, counted at each scrape by the collectors named in
  ``settings.METRICS_COLLECTORS`` (``reporting.metrics``: the outbox's backlog, rollups by
  status).

``GET /metrics`` is answered first in the middleware (any ``Host``, no session), only to
a peer in ``METRICS_ALLOWED_IPS`` (the TCP peer, not ``X-Forwarded-For``: behind nginx
the site refuses ``/metrics`` from outside; README); anyone else gets a 404.

Under gunicorn each worker is its own process: with ``PROMETHEUS_MULTIPROC_DIR`` set (a
directory emptied at each start, shared by the web's workers and the Celery worker on the
same host) prometheus-client writes each process's values there and a scrape sums them
(``gunicorn.conf.py`` marks a finished worker dead).
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

PATH = "/metrics"
UNRESOLVED = "unresolved"

REQUESTS = Counter(
    "altay_http_requests", "HTTP requests answered", ["route", "method", "status"]
)
REQUEST_SECONDS = Histogram(
    "altay_http_request_seconds",
    "Time to answer a request",
    ["route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TASKS = Counter("altay_celery_tasks", "Celery tasks run", ["task", "state"])
TASK_SECONDS = Histogram(
    "altay_celery_task_seconds",
    "Time a Celery task ran",
    ["task"],
    buckets=(0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 5 * 60, 15 * 60),  # to a quarter hour
)


def request_observed(route: str, method: str, status: int, seconds: float) -> None:
    route = route or UNRESOLVED
    REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    REQUEST_SECONDS.labels(route=route).observe(seconds)


_STARTED: dict[str, float] = {}


def task_started(task_id: str = "", **_: Any) -> None:
    _STARTED[task_id] = time.monotonic()


def task_ended(
    task_id: str = "", task: Any = None, state: str | None = None, **_: Any
) -> None:
    started = _STARTED.pop(task_id, None)
    name = getattr(task, "name", "") or "unknown"
    TASKS.labels(task=name, state=state or "UNKNOWN").inc()
    if started is not None:
        TASK_SECONDS.labels(task=name).observe(time.monotonic() - started)


def connect_task_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(task_started, weak=False)
    task_postrun.connect(task_ended, weak=False)


def _allowed(address: str) -> bool:
    try:
        peer = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(
        peer in ipaddress.ip_network(network, strict=False)
        for network in settings.METRICS_ALLOWED_IPS
    )


def exposition() -> bytes:
    """Every process's values (multiprocess mode) or this one's, then the stages'."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
        text = generate_latest(processes)
    else:
        text = generate_latest(REGISTRY)
    stages = CollectorRegistry()
    for path in settings.METRICS_COLLECTORS:
        stages.register(import_string(path)())
    return text + generate_latest(stages)


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.rstrip("/") != PATH:
            return self.get_response(request)
        if not _allowed(request.META.get("REMOTE_ADDR", "")):
            return HttpResponse(
                '{"code": "not_found", "message": "页面不存在"}',
                status=404,
                content_type="application/json",
            )
        return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
