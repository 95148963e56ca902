"""What the stages hold, counted at each scrape of ``/metrics`` (issue 19; named in
``settings.METRICS_COLLECTORS``, exposed by ``altay_skills.metrics``): two indexed
counts, cheap enough for a scrape every 15 s."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from altay_skills.models import OutboxMessage, OutboxStatus
from finance.models import Rollup, RollupStatus


class StagesCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog = GaugeMetricFamily(
            "altay_outbox_backlog",
            "Queued work not yet done by a worker (outbox messages pending)",
        )
        backlog.add_metric(
            [], OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()
        )
        yield backlog
        rollups = GaugeMetricFamily(
            "altay_rollups", "Quarterly rollups by status", labels=["status"]
        )
        counts = dict(
            Rollup.objects.values_list("status").annotate(n=Count("pk")).order_by()
        )
        for status in RollupStatus.values:
            rollups.add_metric([status], counts.get(status, 0))
        yield rollups
