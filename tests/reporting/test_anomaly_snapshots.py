"""The anomaly page reads a snapshot kept fresh in the background (issue 20): the
snapshot reads back exactly what was computed, the page never computes while one
exists, a reviewer's 立即更新 recomputes it through the outbox, and a snapshot the code
can no longer read is computed again rather than shown wrong."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import pytest

from altay_skills.models import OutboxMessage
from classes.selectors import SharedClassSheet
from classes.warnings import ClassOverlap, PerfectClass, RosterAge, RosterPlace
from quarters.selectors import SpotCheckOverride
from reporting import anomaly_snapshots
from reporting.anomalies import (
    AgeOutlier,
    Anomalies,
    Burst,
    ClaimRef,
    Overlap,
    PersonRef,
    SharedCertificate,
    SharedPhone,
    SharedSheet,
)
from reporting.models import AnomalySnapshot
from tests.factories import TraineeFactory, UserFactory
from tests.reporting.test_dashboards import file_claim

pytestmark = pytest.mark.django_db
MARCH = {"training_start": date(2020, 3, 1), "training_end": date(2020, 3, 31)}
PAGE = "/dashboards/anomalies/"


def every_kind() -> Anomalies:
    """One finding of every list, each field set (dates, a datetime, decimals, a
    tuple with a date typed ``object``, an optional left empty)."""
    ref = ClaimRef(
        id=7,
        unit_name="阿勒泰市",
        trainee_id=3,
        trainee_name="古丽",
        id_number_masked="654301********1234",
        program=1,
        status="approved",
        training_start=date(2020, 3, 1),
        training_end=date(2020, 3, 31),
        institution_name="培训学校",
        certificate_number="X-1",
    )
    place = RosterPlace(
        class_id=2,
        planned_start=date(2020, 4, 1),
        planned_end=date(2020, 4, 30),
        status="running",
        institution_name="培训学校",
        unit_name="富蕴县",
    )
    return Anomalies(
        certificates=[SharedCertificate("X-1", [ref, ref])],
        overlaps=[Overlap(3, "古丽", "654301********1234", ref, ref)],
        bursts=[Burst(5, "培训学校", "阿勒泰市", date(2020, 3, 2), 21, [7, 8])],
        ages=[AgeOutlier(ref, date(1950, 1, 2), 70)],
        phones=[SharedPhone("13999990001", [PersonRef(3, "古丽", "6543**", [7])])],
        spot_check_overrides=[
            SpotCheckOverride(
                claim_id=7,
                unit_name="阿勒泰市",
                approved_amount=Decimal("1799.50"),
                at=timezone.now().replace(microsecond=0),
                actor_id=1,
                actor_name="审核人",
                reason="已补交材料",
                notes=["签到表不符"],
            ),
            SpotCheckOverride(7, "阿勒泰市", None, timezone.now(), 1, "审核人", "", []),
        ],
        claims_per_day=20,
        phone_min_trainees=3,
        sign_in_sheets=[SharedSheet("ab" * 32, [ref], [11, 12])],
        class_sign_in_sheets=[
            SharedClassSheet(
                "cd" * 32, [(1, 2, 3, date(2020, 4, 2)), (4, 5, None, None)]
            )
        ],
        class_overlaps=[ClassOverlap(3, "古丽", "6543**", place, place)],
        roster_ages=[RosterAge(3, "古丽", "6543**", date(1950, 1, 2), 70, place)],
        perfect_classes=[
            PerfectClass(
                2, "培训学校", "富蕴县", date(2020, 4, 1), date(2020, 4, 30), 30, [7]
            )
        ],
    )


def test_a_snapshot_reads_back_exactly_what_was_computed() -> None:
    found = every_kind()
    content = anomaly_snapshots.encode(found)
    again = anomaly_snapshots.decode(Anomalies, json.loads(json.dumps(content)))
    assert again == found
    assert again.total == found.total == 12
    assert isinstance(again.class_sign_in_sheets[0].uploads[0][3], date)
    assert isinstance(again.spot_check_overrides[0].at, datetime)
    assert again.spot_check_overrides[0].approved_amount == Decimal("1799.50")


@pytest.fixture
def filed(claim_input: Any, clerk: Any) -> Any:
    def make(**kw: Any) -> Any:
        kw.setdefault("certificate_number", "")
        return file_claim(claim_input, clerk, **{**MARCH, **kw})

    return make


def test_the_page_reads_the_snapshot_until_it_is_computed_again(
    filed: Any, reviewer: Any, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    filed(certificate_number="X-1")
    filed(certificate_number="x-1 ", amount_requested=Decimal("1700.00"))
    client.force_login(reviewer)
    first = client.get(PAGE)  # no snapshot yet: computed in the request, and kept
    assert first.status_code == 200
    assert "同一证书编号用于多笔申报（1）" in first.text
    assert 'data-testid="anomaly-snapshot"' in first.text
    assert AnomalySnapshot.objects.count() == 1

    # a new finding is not on the page until the lists are computed again …
    shared = [TraineeFactory(phone="13999990001") for _ in range(3)]
    filed(trainee=shared[0])
    with CaptureQueriesContext(connection) as read:
        page = client.get(PAGE)
    assert "同一电话号码登记多人（≥3人，0）" in page.text
    claim_reads = [q for q in read.captured_queries if '"claims_claim"' in q["sql"]]
    assert claim_reads == []  # the page read the snapshot, not the claims

    # … which a reviewer may ask for (the outbox runs it: eager Celery here)
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(f"{PAGE}refresh/")
    assert asked.status_code == 302
    assert OutboxMessage.objects.get(task="reporting.tasks.refresh_anomalies").done_at
    assert "同一电话号码登记多人（≥3人，1）" in client.get(PAGE).text


def test_the_beat_task_computes_the_snapshot(filed: Any) -> None:
    from reporting.tasks import refresh_anomalies

    filed(certificate_number="X-2")
    filed(certificate_number="X-2")
    assert refresh_anomalies() == 1
    snapshot = anomaly_snapshots.anomalies_current()
    assert [g.certificate_number for g in snapshot.found.certificates] == ["X-2"]
    assert not snapshot.stale


def test_a_snapshot_that_no_longer_reads_is_computed_again(
    filed: Any, reviewer: Any, client: Any
) -> None:
    filed(certificate_number="X-3")
    filed(certificate_number="X-3")
    AnomalySnapshot.objects.create(
        pk=anomaly_snapshots.SNAPSHOT_ID,
        computed_at=timezone.now(),
        took_ms=1,
        content={"certificates": [{"renamed": 1}]},  # an older shape
    )
    client.force_login(reviewer)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "同一证书编号用于多笔申报（1）" in page.text


def test_an_old_snapshot_says_so(reviewer: Any, client: Any, settings: Any) -> None:
    settings.ANOMALY_REFRESH_SECONDS = 5 * 60
    anomaly_snapshots.anomalies_refresh()
    AnomalySnapshot.objects.update(computed_at=timezone.now() - timedelta(minutes=11))
    client.force_login(reviewer)
    assert "已超过两个周期未更新" in client.get(PAGE).text


def test_only_the_reviewer_asks_for_a_recompute(auditor: Any, client: Any) -> None:
    client.force_login(auditor)
    assert client.get(PAGE).status_code == 200  # the auditor reads
    assert client.post(f"{PAGE}refresh/").status_code == 403
    client.force_login(UserFactory(role="county_clerk"))
    assert client.get(PAGE).status_code == 403
    assert not OutboxMessage.objects.filter(
        task="reporting.tasks.refresh_anomalies"
    ).exists()
