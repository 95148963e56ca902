"""The rollup worker killed (SIGKILL) halfway (issue 6, faults).

A quarter large enough that building its rollup takes seconds; the worker is killed
while it writes the workbook. Nothing partial is ever visible — no lines, not ready, no
workbook but a ``.partial`` — and the rerun (the message redelivered to a fresh pool
process, or re-queued by the beat sweep for a fresh worker) ends with exactly what a
clean build gives: the same checksum, lines and workbook bytes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.db.models import Count

import pytest

from claims.models import Claim
from finance import services
from finance.models import Rollup, RollupLine
from tests.conftest import requires_redis
from tests.factories import make_id_number
from tests.faults.conftest import WorkerProcess, requires_shared_database, wait_for
from tests.quarter_run import run_quarter
from trainees.id_numbers import parse_id_number
from trainees.models import Trainee

pytestmark = [
    requires_shared_database,
    requires_redis,
    pytest.mark.real_celery,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

QUARTER = "2020Q1"
#: Approved claims in the quarter: enough for the workbook to take a few seconds.
CLAIMS = 2_000
#: RollupLine attribute → the figure's key.
COLUMNS = {"unit_id": "unit", "program_id": "program"} | {
    k: k
    for k in ("fund", "trained", "passed", "employed", "approved", "advance", "balance")
}


@pytest.fixture
def big_quarter(claim_input: Any, reviewer: Any, settings: Any, tmp_path: Path) -> str:
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_big_quarter(claim_input, reviewer, CLAIMS)


def build_big_quarter(claim_input: Any, reviewer: Any, count: int) -> str:
    """A closed quarter (two units' reports, reviewed and closed through the services),
    then ``count`` more approved claims of new people in it, written in bulk."""
    run_quarter(claim_input, reviewer, quarter=QUARTER)
    template = Claim.objects.filter(status="approved").order_by("pk").first()
    assert template is not None
    people = []
    for i in range(count):
        number = make_id_number(date(1970, 1, 1) + timedelta(days=i // 400), serial=i)
        facts = parse_id_number(number)
        people.append(
            Trainee(
                id_number=number,
                name=f"学员{i}",
                birth_date=facts.birth_date,
                sex=facts.sex,
                household="rural",
                groups=["poor_labour"],
            )
        )
    Trainee.objects.bulk_create(people, batch_size=2000)
    copied = {
        f.attname: getattr(template, f.attname)
        for f in Claim._meta.concrete_fields
        if not f.primary_key
    }
    Claim.objects.bulk_create(
        (Claim(**copied | {"trainee_id": p.pk}) for p in people), batch_size=2000
    )
    return QUARTER


def checksum_now() -> str:
    return services.checksum_of(services.rollup_figures(QUARTER))


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def rollups_folder() -> Path:
    return Path(django_settings.MEDIA_ROOT) / "rollups"


def files_in_media() -> list[str]:
    return (
        sorted(p.name for p in rollups_folder().glob("*"))
        if rollups_folder().exists()
        else []
    )


def kill_while_writing(rollup_id: int, kill: Any) -> None:
    """Wait until the build is writing the workbook (progress 30: figures done, lines
    not yet written), let it write a little, then SIGKILL."""
    wait_for(
        lambda: Rollup.objects.filter(
            pk=rollup_id, status="running", progress__gte=30
        ).exists(),
        seconds=40,
        what="the build to reach the workbook",
        step=0.02,
    )
    time.sleep(0.2)
    kill()
    rollup = Rollup.objects.get(pk=rollup_id)
    assert rollup.status == "running" and rollup.progress < 90, "killed too late"


def seen(rollup_id: int) -> dict[str, Any]:
    """The rollup and its number of lines in one statement, so in one snapshot (two
    queries could straddle the build's final commit)."""
    return (
        Rollup.objects.filter(pk=rollup_id)
        .annotate(lines_count=Count("lines"))
        .values("status", "checksum", "workbook", "error", "lines_count")
        .get()
    )


def assert_nothing_partial_is_visible(rollup_id: int) -> None:
    rollup = seen(rollup_id)
    assert rollup["status"] != "ready"
    assert (rollup["checksum"], rollup["workbook"], rollup["lines_count"]) == (
        "",
        "",
        0,
    )
    assert all(name.endswith(".partial") for name in files_in_media()), files_in_media()


def wait_ready_watching(rollup_id: int) -> Rollup:
    """Until it is ready, every look finds no lines (all or nothing)."""

    def ready() -> Rollup | None:
        rollup = seen(rollup_id)
        if rollup["status"] == "ready":
            return Rollup.objects.get(pk=rollup_id)
        assert rollup["status"] != "failed", rollup["error"]
        assert rollup["lines_count"] == 0, rollup
        return None

    return wait_for(ready, seconds=60, what="the rerun to finish", step=0.05)


def assert_same_as_a_clean_build(rollup: Rollup, tmp_path: Path) -> None:
    figures = services.rollup_figures(rollup.quarter)
    assert rollup.checksum == services.checksum_of(figures)
    lines = RollupLine.objects.filter(rollup=rollup).order_by(
        "unit_id", "program_id", "fund"
    )
    assert [{k: getattr(line, a) for a, k in COLUMNS.items()} for line in lines] == [
        {k: f[k] for k in COLUMNS.values()} for f in figures
    ]
    assert sum(line.trained for line in lines) == CLAIMS + 6
    clean = tmp_path / "clean.xlsx"
    services.write_workbook(rollup, figures, rollup.checksum, clean)
    stored = Path(django_settings.MEDIA_ROOT) / rollup.workbook
    digest = hashlib.sha256(stored.read_bytes()).hexdigest()
    assert digest == rollup.workbook_sha256
    assert hashlib.sha256(clean.read_bytes()).hexdigest() == digest
    assert files_in_media() == [stored.name]  # the killed writer's .partial is gone


def test_a_pool_process_killed_mid_build_is_redelivered_and_completes(
    big_quarter, reviewer, broker, start_worker, tmp_path
):
    # given a worker whose pool process builds the rollup
    worker: WorkerProcess = start_worker(pool="prefork")
    began = time.monotonic()
    rollup = services.rollup_request(quarter=big_quarter, actor=reviewer)
    # when that process is SIGKILLed while writing the workbook
    (child,) = worker.pool_children()
    kill_while_writing(rollup.pk, lambda: os.kill(child, signal.SIGKILL))
    # then nothing partial is visible
    assert_nothing_partial_is_visible(rollup.pk)
    # and the message is redelivered (acks_late, reject_on_worker_lost) to a fresh
    # pool process, which completes it
    rollup = wait_ready_watching(rollup.pk)
    print(f"\nkilled and rebuilt in {time.monotonic() - began:.1f}s")
    assert rollup.attempts == 2
    assert worker.pool_children() != [child]
    assert_same_as_a_clean_build(rollup, tmp_path)


def test_a_worker_killed_mid_build_is_requeued_by_the_sweep_and_completes(
    big_quarter, reviewer, broker, start_worker, tmp_path
):
    # given a worker building the rollup
    worker = start_worker(pool="solo")
    rollup = services.rollup_request(quarter=big_quarter, actor=reviewer)
    # when the whole worker is SIGKILLed while writing the workbook
    kill_while_writing(rollup.pk, worker.kill)
    # then nothing partial is visible, and it stays so with no worker
    assert_nothing_partial_is_visible(rollup.pk)
    # (and say it had died while saving the file: its .partial is left behind)
    orphan = rollups_folder() / f"{QUARTER}-{checksum_now()[:16]}.{dead_pid()}.partial"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"PK\x03\x04 half a workbook")
    assert_nothing_partial_is_visible(rollup.pk)
    # when the beat sweep re-queues what is stuck and a fresh worker starts
    assert services.requeue_stuck_rollups(older_than_seconds=0) == 1
    start_worker(pool="solo")
    # then the rerun completes it to the same result as a clean build
    rollup = wait_ready_watching(rollup.pk)
    assert rollup.attempts == 2
    assert_same_as_a_clean_build(rollup, tmp_path)
