"""The transactional outbox and the work it queues on submit (reporting.outbox).

These run anywhere (eager Celery, SQLite or PostgreSQL); the faults themselves — Redis
stopped, a worker killed — are in the neighbouring modules.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.utils import timezone

import pytest

from altay_skills import outbox
from altay_skills.errors import Conflict
from altay_skills.models import OutboxMessage
from claims import services
from reporting.models import Notice
from reporting.notices import raise_claim_check_notices
from tests.factories import InstitutionFactory, TraineeFactory

pytestmark = pytest.mark.django_db
CHECK_TASK = "reporting.tasks.check_submitted_claims"


def test_a_submit_writes_its_outbox_row_in_its_own_transaction(
    claim_input, clerk, django_capture_on_commit_callbacks
):
    # given a draft the rules refuse, and one they accept
    refused = services.claim_create(
        data=claim_input(amount_requested=Decimal("99999.00")), actor=clerk
    )
    draft = services.claim_create(
        data=claim_input(trainee_id=TraineeFactory().pk), actor=clerk
    )
    # when both are submitted
    with pytest.raises(Conflict):
        services.claim_submit(claim_id=refused.pk, actor=clerk)
    with django_capture_on_commit_callbacks() as published:
        services.claim_submit(claim_id=draft.pk, actor=clerk)
    # then only the accepted one has queued work (its check, and the trainee's text
    # message of issue 17), each published once it commits
    messages = {m.task: m for m in OutboxMessage.objects.all()}
    assert messages[CHECK_TASK].kwargs == {"claim_ids": [draft.pk]}
    assert all(m.status == "pending" for m in messages.values())
    assert len(published) == len(messages) == 2


def test_the_work_runs_on_commit_and_marks_its_message_done(
    claim_input, clerk, django_capture_on_commit_callbacks
):
    draft = services.claim_create(data=claim_input(), actor=clerk)
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_submit(claim_id=draft.pk, actor=clerk)
    message = OutboxMessage.objects.get(task=CHECK_TASK)
    assert (message.status, message.attempts) == ("done", 1)
    assert message.done_at is not None and message.published_at is not None


def test_run_once_does_the_work_of_a_message_once():
    message = OutboxMessage.objects.create(task=CHECK_TASK, kwargs={"claim_ids": []})
    calls: list[int] = []
    assert outbox.run_once(message.pk, lambda: calls.append(1) or 7) == 7
    assert outbox.run_once(message.pk, lambda: calls.append(1) or 7) is None
    assert calls == [1]
    message.refresh_from_db()
    assert message.status == "done"


def test_run_once_leaves_the_message_pending_when_the_work_fails():
    message = OutboxMessage.objects.create(task=CHECK_TASK, kwargs={"claim_ids": []})

    def fails() -> None:
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        outbox.run_once(message.pk, fails)
    message.refresh_from_db()
    assert message.status == "pending"


def test_dispatch_resends_only_what_waited_long_enough(monkeypatch):
    now = timezone.now()

    def message(
        name: str,
        *,
        age: timedelta,
        published: timedelta | None = None,
        status: str = "pending",
    ) -> OutboxMessage:
        row = OutboxMessage.objects.create(
            task=name, status=status, done_at=now if status == "done" else None
        )
        OutboxMessage.objects.filter(pk=row.pk).update(
            created_at=now - age,
            published_at=None if published is None else now - published,
        )
        return row

    message("fresh unsent", age=timedelta(seconds=5))
    message("old unsent", age=timedelta(minutes=2))
    message(
        "sent, not yet run", age=timedelta(minutes=2), published=timedelta(minutes=2)
    )
    message("sent, never run", age=timedelta(hours=1), published=timedelta(minutes=30))
    message("done", age=timedelta(hours=1), status="done")
    sent: list[str] = []
    monkeypatch.setattr(outbox, "send", lambda task, kwargs: sent.append(task) or "")

    result = outbox.dispatch_pending()

    assert sent == ["old unsent", "sent, never run"]
    assert (result.published, result.failed) == (2, 0)


def test_dispatch_stops_at_the_first_refusal_and_the_command_says_so(monkeypatch):
    for _ in range(3):
        OutboxMessage.objects.create(task=CHECK_TASK, kwargs={"claim_ids": []})
    tries: list[str] = []

    def refused(task: str, kwargs: dict[str, Any]) -> str:
        tries.append(task)
        return "OperationalError: Error 111 connecting. Connection refused."

    monkeypatch.setattr(outbox, "send", refused)
    err = StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("dispatch_outbox", stdout=StringIO(), stderr=err)
    assert exit_code.value.code == 1 and "消息队列仍不可用" in err.getvalue()
    assert len(tries) == 1
    first = OutboxMessage.objects.order_by("pk").first()
    assert first.attempts == 1 and "Connection refused" in first.error


def test_the_reviewers_hear_of_a_certificate_used_twice_and_of_an_overlap(
    claim_input, clerk, other_clerk, trainee, django_capture_on_commit_callbacks
):
    # given a claim already submitted for a person
    earlier = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=earlier.pk, actor=clerk)
    assert not Notice.objects.exists()
    # when another unit submits one for the same person, another trade, overlapping
    # dates, and a third person's claim carries the first claim's certificate number
    school = InstitutionFactory(unit_id="654322")
    overlap = services.claim_create(
        data=claim_input(
            unit_id="654322",
            institution_id=school.pk,
            trade_id="6-31-01-03",
            training_start=date(2020, 3, 20),
            training_end=date(2020, 4, 20),
            certificate_number="CERT-0002",
        ),
        actor=other_clerk,
    )
    copied = services.claim_create(
        data=claim_input(
            trainee_id=TraineeFactory().pk,
            certificate_number=claim_input().certificate_number,
        ),
        actor=clerk,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_submit(claim_id=overlap.pk, actor=other_clerk)
        services.claim_submit(claim_id=copied.pk, actor=clerk)
    # then the reviewers have one notice for each, linking the claim
    notices = {n.key: n for n in Notice.objects.all()}
    assert set(notices) == {
        f"overlapping_training:{overlap.pk}",
        f"shared_certificate:{copied.pk}",
    }
    assert f"申报#{earlier.pk}" in notices[f"overlapping_training:{overlap.pk}"].text
    assert (
        claim_input().certificate_number.upper()
        in notices[f"shared_certificate:{copied.pk}"].text
    )
    assert {n.role for n in notices.values()} == {"prefecture_reviewer"}
    assert notices[f"shared_certificate:{copied.pk}"].link == f"/claims/{copied.pk}/"
    # and checking again raises nothing new
    assert raise_claim_check_notices([overlap.pk, copied.pk]) == 0
    assert Notice.objects.count() == 2
