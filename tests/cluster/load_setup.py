"""What the faults-under-load test sets up inside the cluster (``manage.py shell`` on an
app host, through HAProxy, as the application's role), and what it reads back.

- quarter 2020Q1 run through and closed, with ``paid_claims`` more approved claims of new
  people, and its rollup built: the balances finance pays during the load;
- quarter 2020Q2 closed with ``rollup_claims`` approved claims: the rollup a worker is
  killed in the middle of;
- ``people`` new trainees of unit 654322, one for each claim the clerks file;
- the clerk, the reviewer and finance (the test signs them in through the API).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count

from accounts.models import Role
from claims.audit import record_events
from claims.models import Claim, ClaimEvent
from claims.services import ClaimInput
from finance import services as finance_services
from finance.ledger import ledger_follow
from finance.models import LedgerKind, Payment, Rollup
from quarters.models import PublicNotice
from tests.factories import UserFactory, make_id_number
from tests.quarter_run import run_quarter
from trainees.id_numbers import parse_id_number
from trainees.models import Trainee

CLERK = "q_clerk_b"
UNIT = "654322"


def _claim_input(month: int) -> Any:
    def build(**overrides: Any) -> ClaimInput:
        base = ClaimInput(
            trainee_id=overrides["trainee_id"],
            program_id=9,
            institution_id=overrides["institution_id"],
            unit_id=UNIT,
            training_start=date(2020, month, 1),
            training_end=date(2020, month, 28),
            amount_requested=Decimal("1800.00"),
            trade_id="4-03-02-01",
            level_id="intermediate",
            passed=True,
            certificate_number="",
            employment="employed",
        )
        built = replace(base, **overrides)
        number = f"CERT-{built.trainee_id:05d}-{built.trade_id}-{built.level_id}"
        return replace(built, certificate_number=number)

    return build


def _new_people(count: int, first_serial: int, unit: str = UNIT) -> list[Trainee]:
    people = []
    for i in range(count):
        serial = first_serial + i
        # make_id_number has 500 order numbers a day for men
        number = make_id_number(
            date(1950, 1, 1) + timedelta(days=serial // 500), serial=serial % 500
        )
        facts = parse_id_number(number)
        people.append(
            Trainee(
                id_number=number,
                name=f"负载学员{serial}",
                birth_date=facts.birth_date,
                sex=facts.sex,
                household="rural",
                groups=["poor_labour"],
                registered_by_unit_id=unit,
            )
        )
    return Trainee.objects.bulk_create(people, batch_size=2000)


def _closed_quarter(
    quarter: str, month: int, reviewer: Any, extra: int, serial: int, owed: bool = False
) -> None:
    run_quarter(_claim_input(month), reviewer, quarter=quarter)
    template = (
        Claim.objects.filter(status="approved", unit_id=UNIT, report__quarter=quarter)
        .order_by("pk")
        .first()
    )
    assert template is not None, f"no approved claim of {UNIT} in {quarter}"
    copied = {
        f.attname: getattr(template, f.attname)
        for f in Claim._meta.concrete_fields
        if not f.primary_key
    }
    Claim.objects.bulk_create(
        (
            Claim(
                **copied
                | {"trainee_id": p.pk, "certificate_number": f"LOAD-{quarter}-{p.pk}"}
            )
            for p in _new_people(extra, serial)
        ),
        batch_size=2000,
    )
    copies = Claim.objects.filter(certificate_number__startswith=f"LOAD-{quarter}-")
    # each copy's audit trail: the template's last change of status, chained
    # (verify_audit); its money lines are the ledger's own (ledger_follow below)
    last = (
        ClaimEvent.objects.filter(claim_id=template.pk)
        .exclude(action__in=LedgerKind.values)
        .order_by("-id")
        .first()
    )
    assert last is not None
    ids = list(copies.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), 2000):
        record_events(
            [
                ClaimEvent(
                    claim_id=pk,
                    actor_id=last.actor_id,
                    action=last.action,
                    from_status=last.from_status,
                    to_status=last.to_status,
                    reason="故障测试的批量数据",
                )
                for pk in ids[start : start + 2000]
            ]
        )
    if owed:  # what approval writes in the ledger, so that the balance is due
        for claim in copies.order_by("pk"):
            with transaction.atomic():
                locked = Claim.objects.select_for_update().get(pk=claim.pk)
                ledger_follow(locked, action="approve", actor=reviewer)


def setup(people: int, paid_claims: int, rollup_claims: int) -> None:
    reviewer = UserFactory(username="c_reviewer", role=Role.PREFECTURE_REVIEWER)
    finance = UserFactory(username="c_finance", role=Role.FINANCE_OFFICER)
    _closed_quarter("2020Q1", 3, reviewer, paid_claims, serial=10_000, owed=True)
    rollup = finance_services.rollup_request(quarter="2020Q1", actor=reviewer)
    finance_services.rollup_build(rollup_id=rollup.pk)
    # the quarter's public notice ran its course in 2020 (balances wait for it)
    PublicNotice.objects.filter(quarter="2020Q1").update(
        opened_on=date(2020, 4, 1), closes_on=date(2020, 4, 15)
    )
    _closed_quarter("2020Q2", 5, reviewer, rollup_claims, serial=40_000)
    clerk = UserFactory(username=CLERK)
    payable = [
        (claim.pk, str(claim.approved_amount))
        # the copies of unit 654322's first claim: not project-based, so no advance was
        # due, and the balance is the approved amount
        for claim in Claim.objects.filter(
            report__quarter="2020Q1",
            status="approved",
            unit_id=UNIT,
            certificate_number__startswith="LOAD-",
        )
        .exclude(payments__kind="balance")
        .order_by("pk")
    ]
    filers = _new_people(people, 70_000)
    from programs.models import Institution

    print(
        json.dumps(
            {
                "users": {
                    "clerk": clerk.username,
                    "reviewer": reviewer.username,
                    "finance": finance.username,
                },
                "institution": Institution.objects.filter(unit_id=UNIT).first().pk,  # type: ignore[union-attr]
                "people": [p.pk for p in filers],
                "payable": payable,
                "rollup_ready": Rollup.objects.get(pk=rollup.pk).status,
            }
        )
    )


def facts(people: list[int], payable: list[int]) -> None:
    """What the database holds of the load: claims per filer, balance payments per
    claim, the rollups per quarter, and the yearly-limit and paid-twice checks."""

    def per(rows: Any, key: str) -> dict[int, int]:
        return dict(rows.values_list(key).annotate(n=Count("id")).values_list(key, "n"))

    def groups_over(rows: Any, keys: tuple[str, ...], most: int) -> int:
        return int(
            rows.values(*keys).annotate(n=Count("id")).filter(n__gt=most).count()
        )

    live = Claim.objects.filter(status__in=["submitted", "approved", "returned"])
    claims = per(Claim.objects.filter(trainee_id__in=people), "trainee_id")
    submitted = per(
        Claim.objects.filter(trainee_id__in=people, status="submitted"), "trainee_id"
    )
    payments = per(
        Payment.objects.filter(claim_id__in=payable, kind="balance", status="paid"),
        "claim_id",
    )
    paid_twice = groups_over(
        Payment.objects.filter(status="paid"), ("claim_id", "kind"), 1
    )
    over_limit = groups_over(
        live.exclude(limit_year=None), ("trainee_id", "limit_year"), 3
    )
    same_trade_twice = groups_over(
        live.exclude(trade_id=None), ("trainee_id", "trade_id", "level_id"), 1
    )
    rollups = list(
        Rollup.objects.values("quarter")
        .annotate(n=Count("id"))
        .values_list("quarter", "n")
    )
    rollup_state = list(
        Rollup.objects.filter(quarter="2020Q2")
        .annotate(lines_count=Count("lines"))
        .values("status", "lines_count", "checksum")
    )
    print(
        json.dumps(
            {
                "claims": claims,
                "submitted": submitted,
                "payments": payments,
                "paid_twice": paid_twice,
                "over_limit": over_limit,
                "same_trade_twice": same_trade_twice,
                "rollups": rollups,
                "rollup_2020Q2": rollup_state,
            }
        )
    )
