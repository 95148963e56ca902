"""A quarter run through: two units submit, report, the reviewer decides and closes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from claims import services
from claims.models import Claim
from finance.services import payment_record
from quarters import services as quarter_services
from quarters.models import QuarterlyReport
from tests.class_run import claim_through_class
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    UserFactory,
    opened_evidence,
)

TRADES = ["6-31-01-03", "4-07-05-01", "4-10-01-05", "4-01-06-01"]


@dataclass
class Quarter:
    quarter: str
    reports: list[QuarterlyReport] = field(default_factory=list)
    approved: list[Claim] = field(default_factory=list)
    rejected: list[Claim] = field(default_factory=list)


def run_quarter(
    claim_input: Any,
    reviewer: Any,
    *,
    quarter: str = "2020Q1",
    finance: Any = None,
    on_submitted: Callable[[QuarterlyReport], None] | None = None,
    decide: bool = True,
    evidence: bool = True,
) -> Quarter:
    """Unit 654301's claims are project-based (a training provider's, run as classes:
    ``tests.class_run``), unit 654322's not. With ``finance``, the advances the rules
    give (unit 654301's, 五(二)) are paid while the reports are with the
    prefecture, before any decision; ``on_submitted`` is called with each report
    then. ``decide=False`` stops there. ``evidence=False`` leaves the claims without
    documents: each sampled one is found 材料不符 and approved past it with its reason
    (a test that migrates back past the documents' table)."""
    result = Quarter(quarter)
    units = [
        (
            UserFactory(username="q_clerk_a", role="county_clerk", unit_id="654301"),
            InstitutionFactory(unit_id="654301"),
        ),
        (
            UserFactory(username="q_clerk_b", role="county_clerk", unit_id="654322"),
            InstitutionFactory(unit_id="654322"),
        ),
    ]
    for clerk, inst in units:
        for i, trade in enumerate(TRADES):
            person = TraineeFactory(
                groups=["poor_labour"], registered_by_unit_id=clerk.unit_id
            )
            data = claim_input(
                trainee_id=person.pk,
                trade_id=trade,
                unit_id=clerk.unit_id,
                institution_id=inst.pk,
                amount_requested=Decimal("1800.00") - i,
                passed=i != 3,
                employment="employed" if i != 2 else "flexible",
                project_based=clerk.unit_id == "654301",
            )
            # a project-based claim of program 9 comes from a class (issue 16)
            draft = (
                claim_through_class(data, clerk=clerk)
                if data.project_based
                else services.claim_create(data=data, actor=clerk)
            )
            services.claim_submit(claim_id=draft.pk, actor=clerk)
        report = quarter_services.report_build(
            unit_id=clerk.unit_id, quarter=quarter, actor=clerk
        )
        report = quarter_services.report_submit(report_id=report.pk, actor=clerk)
        result.reports.append(report)
        if finance is not None:
            for claim in report.claims.filter(advance__gt=0).order_by("pk"):
                payment_record(
                    claim_id=claim.pk,
                    kind="advance",
                    amount=claim.advance,
                    paid_on=date(2020, 4, 10),
                    status="paid",
                    actor=finance,
                    reference=f"ADV-{claim.pk}",
                )
        if on_submitted is not None:
            on_submitted(report)
        if not decide:
            continue
        quarter_services.report_draw_spot_checks(report_id=report.pk, actor=reviewer)
        for check in report.spot_checks.all():
            quarter_services.spot_check_record(
                spot_check_id=check.pk,
                actor=reviewer,
                **(
                    {
                        "result": "consistent",
                        "documents": opened_evidence(check.pk, reviewer),
                    }
                    if evidence
                    else {"result": "inconsistent", "note": "未上传签到表"}
                ),
            )
        past_finding = "" if evidence else "签到表原件已在县局现场核对属实"
        claims = list(report.claims.order_by("pk"))
        for claim in claims[:-1]:
            result.approved.append(
                quarter_services.claim_approve(
                    claim_id=claim.pk, actor=reviewer, spot_check_reason=past_finding
                )
            )
        result.rejected.append(
            quarter_services.claim_reject(
                claim_id=claims[-1].pk, actor=reviewer, reason="材料不全"
            )
        )
        quarter_services.report_close(report_id=report.pk, actor=reviewer)
    return result


__all__ = ["Quarter", "date", "run_quarter"]
