"""Prometheus metrics (issue 19): requests by route, tasks, the outbox's backlog and
rollups by status — for the monitoring network only."""

from __future__ import annotations

import re

from django.test import Client

import pytest

from altay_skills.models import OutboxMessage
from finance.tasks import requeue_stuck_rollups

pytestmark = pytest.mark.django_db


def scrape(address: str = "127.0.0.1") -> tuple[int, str]:
    response = Client(REMOTE_ADDR=address).get("/metrics")
    return response.status_code, response.content.decode()


def value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.M)
    assert match, f"{sample} not in the metrics"
    return float(match.group(1))


def test_requests_are_counted_by_route_and_timed(clerk):
    _, before = scrape()
    name = 'altay_http_requests_total{method="GET",route="claim_list",status="200"}'
    counted = value(before, name) if name in before else 0
    client = Client()
    client.force_login(clerk)
    assert client.get("/claims/").status_code == 200
    client.get("/no-such-page/")
    _, after = scrape()
    assert value(after, name) == counted + 1
    assert 'route="unresolved"' in after  # a path is never a label
    assert "/no-such-page/" not in after
    assert value(after, 'altay_http_request_seconds_count{route="claim_list"}') >= 1


def test_tasks_the_outbox_and_rollups_are_there():
    requeue_stuck_rollups.apply()
    OutboxMessage.objects.create(task="reporting.tasks.check_submitted_claims")
    status, text = scrape()
    assert status == 200
    assert (
        value(
            text,
            'altay_celery_tasks_total{state="SUCCESS",task="reporting.tasks.requeue_stuck_rollups"}',
        )
        >= 1
    )
    assert value(text, "altay_outbox_backlog") == 1
    assert value(text, 'altay_rollups{status="failed"}') == 0


@pytest.mark.parametrize("address", ["10.9.9.9", "192.168.1.20", "not-an-address"])
def test_anyone_outside_the_monitoring_network_gets_a_404(address):
    status, text = scrape(address)
    assert status == 404
    assert "altay_" not in text


def test_the_monitoring_network_is_a_setting(settings):
    settings.METRICS_ALLOWED_IPS = ["10.9.0.0/16"]
    assert scrape("10.9.9.9")[0] == 200
    assert scrape("127.0.0.1")[0] == 404
