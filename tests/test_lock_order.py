"""Row locks in one place and one order (issue 11, ``altay_skills/lock_objects.py``).

A reviewer's bulk approval and a clerk's spreadsheet import over the same people, on two
real PostgreSQL connections released together by a barrier: neither deadlocks and the
yearly limit (五(二): 3 a year) holds. The bulk approval used to lock people in
claim-id order (one claim at a time) while the import locked them in person-id order,
so the two could deadlock; now both lock every person in id order before any claim.

And no application module but ``lock_objects`` calls ``select_for_update``.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from django.db import connection
from django.db.models import Count

import pytest

from claims import intake, rules
from claims import services as claim_services
from claims.intake import save as intake_save
from claims.models import Claim
from quarters import services as quarter_services
from tests import racing
from tests.claims.test_imports import good_row, xlsx
from tests.conftest import requires_postgres
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    UserFactory,
    clear_spot_checks,
)

ROOT = Path(__file__).resolve().parent.parent
APPS = [
    "accounts",
    "programs",
    "trainees",
    "claims",
    "quarters",
    "finance",
    "reporting",
    "altay_skills",
]
LOCKS = ROOT / "altay_skills" / "lock_objects.py"


def test_no_module_but_lock_objects_calls_select_for_update() -> None:
    calls = re.compile(r"\.select_for_update\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if path != LOCKS
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if calls.search(line)
    ]
    assert offenders == [], "lock through altay_skills.lock_objects: " + ", ".join(
        offenders
    )
    assert calls.search(LOCKS.read_text("utf-8"))  # the one place (the grep works)


# --- The race ----------------------------------------------------------------------------
ROUNDS = 3
PEOPLE = 6
#: the two claims of each person in the report, the import's row (the third of the
#: year), and a row that would be the fourth (refused when the file is checked)
REPORTED = ["6-31-01-03", "4-07-05-01"]
IMPORTED, FOURTH = "4-10-01-05", "4-01-06-01"


def race(calls: list[Callable[[], object]]) -> Counter[str]:
    """The shared race, with a refusal's message in full (a deadlock must show)."""
    return racing.race(
        calls,
        describe=lambda exc: f"{exc.code}: {exc.message} {getattr(exc, 'detail', '')}",
        join_timeout=120,
    )


@pytest.fixture
def worst_interleaving(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The import locks its people just after the bulk approval has approved its first
    claim: with people locked one claim at a time (the old order) the approval then
    holds the person of its highest id and still needs the lowest, which the import
    takes first — a deadlock every time, not only when the threads happen to meet."""
    approving = threading.Event()
    approve = quarter_services.claim_approve
    lock_people = intake_save.lock_trainees

    def approve_then_signal(**kwargs: Any) -> Any:
        claim = approve(**kwargs)
        approving.set()
        return claim

    def lock_people_once_approving(ids: Any) -> list[int]:
        approving.wait(timeout=10)
        return lock_people(ids)

    monkeypatch.setattr(quarter_services, "claim_approve", approve_then_signal)
    monkeypatch.setattr(intake_save, "lock_trainees", lock_people_once_approving)
    return approving


def quarter_dates(round_: int) -> tuple[str, date, date]:
    """Each round its own quarter of 2020 (one live report per unit and quarter)."""
    month = 3 * round_ + 2
    return f"2020Q{round_ + 1}", date(2020, month, 1), date(2020, month, 28)


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bulk_approval_and_import_over_the_same_people_neither_deadlock(
    claim_input: Any,
    reviewer: Any,
    settings: Any,
    tmp_path: Path,
    worst_interleaving: threading.Event,
) -> None:
    assert connection.vendor == "postgresql"
    settings.MEDIA_ROOT = tmp_path
    clerk = UserFactory(username="lock_clerk", role="county_clerk", unit_id="654301")
    importer = UserFactory(
        username="lock_importer", role="county_clerk", unit_id="654301"
    )
    institution = InstitutionFactory(unit_id="654301")

    for round_ in range(ROUNDS):
        # given people whose claims, in claim-id order, go from the highest person id
        # to the lowest — the opposite of the import's order — two each in a report
        quarter, start, end = quarter_dates(round_)
        people = [TraineeFactory(groups=["poor_labour"]) for _ in range(PEOPLE)]
        claim_ids = []
        for trade in REPORTED:
            for person in sorted(people, key=lambda p: -p.pk):
                draft = claim_services.claim_create(
                    data=claim_input(
                        trainee_id=person.pk,
                        institution_id=institution.pk,
                        trade_id=trade,
                        training_start=start,
                        training_end=end,
                    ),
                    actor=clerk,
                )
                claim_services.claim_submit(claim_id=draft.pk, actor=clerk)
                claim_ids.append(draft.pk)
        report = quarter_services.report_build(
            unit_id="654301", quarter=quarter, actor=clerk
        )
        report = quarter_services.report_submit(report_id=report.pk, actor=clerk)
        clear_spot_checks(report, reviewer)  # drawn before any approval
        # and a checked file bringing each of them a third claim of the year (and a
        # fourth, refused by the check)
        rows = [
            good_row(
                person,
                institution,
                trade=trade,
                training_start=start,
                training_end=end,
            )
            for person in people
            for trade in (IMPORTED, FOURTH)
        ]
        batch = intake.import_check(
            data=xlsx(rows), filename="申报.xlsx", actor=importer
        )
        assert len(batch.passing) == PEOPLE

        # when the reviewer approves the report's claims while the clerk saves the file
        worst_interleaving.clear()
        outcome = race(
            [
                functools.partial(
                    quarter_services.claims_approve_bulk,
                    claim_ids=claim_ids,
                    actor=reviewer,
                    # one person's trainings overlap (issue 15, 6): seen and confirmed
                    warnings_confirmed=claim_ids,
                ),
                functools.partial(
                    intake.import_save, token=batch.token, actor=importer, submit=True
                ),
            ]
        )

        # then both succeed: no deadlock, no refusal
        assert outcome == Counter({"ok": 2}), (round_, outcome)
        for person in people:
            counted = Claim.objects.filter(
                trainee=person,
                limit_year=2020,
                status__in=rules.COUNTING_STATUSES,
            )
            assert sorted(counted.values_list("status", "limit_slot")) == [
                ("approved", 1),
                ("approved", 2),
                ("submitted", 3),
            ]
    # and nobody ever holds more than the three claims of a year
    per_year = (
        Claim.objects.filter(status__in=rules.COUNTING_STATUSES)
        .values("trainee_id", "limit_year")
        .order_by()
        .annotate(n=Count("id"))
    )
    assert max(row["n"] for row in per_year) == 3
