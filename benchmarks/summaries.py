"""The claim summaries (issue 20): what the dashboards and the November review cost
reading them, and what keeping them costs each transition.

1. *reads*: the prefecture, unit and finance dashboards and the November review of the
   busiest year (the most counted claims), median server time of ``repeat`` runs of
   the selector (no template) and its query count;
2. *writes*: ``claim_submit`` of eligible drafts and ``claim_approve`` of submitted
   claims in submitted reports, one claim per transaction as a person does them, with
   the summaries kept and with their upsert switched off (``claims.models
   .summaries_apply`` replaced by a no-op), in alternating rounds, every round rolled
   back (the dataset stays as generated). The figure is the median per-claim time of
   each side and their ratio (target ≤ ×1.3).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import ExtractYear
from django.test.utils import CaptureQueriesContext

from altay_skills.errors import DomainError


class _Rollback(Exception):
    pass


def busiest_year() -> tuple[int, str]:
    from claims.models import ClaimSummary
    from claims.rules import COUNTING_STATUSES

    counted = ClaimSummary.objects.filter(status__in=sorted(COUNTING_STATUSES))
    year = (
        counted.annotate(y=ExtractYear("month"))
        .values("y")
        .annotate(n=Sum("claims"))
        .order_by("-n")
        .first()
    )
    unit = (
        counted.filter(month__year=year["y"])
        .values("unit_id")
        .annotate(n=Sum("claims"))
        .order_by("-n")
        .first()
    )
    return int(year["y"]), unit["unit_id"]


def timed(call: Callable[[], object], repeat: int) -> dict[str, Any]:
    call()  # warm: the first run pays the imports and the plan caches
    times = []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            t = time.perf_counter()
            call()
            times.append(time.perf_counter() - t)
        queries = len(captured)
    return {"median_ms": round(statistics.median(times) * 1000, 1), "queries": queries}


def reads(repeat: int) -> dict[str, Any]:
    from programs.models import Unit
    from reporting import dashboards, review

    year, unit_code = busiest_year()
    unit = Unit.objects.get(pk=unit_code)
    out: dict[str, Any] = {"year": year, "unit": unit_code}
    for name, call in (
        ("prefecture_dashboard", lambda: dashboards.prefecture_dashboard(year)),
        ("unit_dashboard", lambda: dashboards.unit_dashboard(year, unit)),
        ("finance_dashboard", lambda: dashboards.finance_dashboard(year)),
        ("november_review", lambda: review.review_figures(year)),
    ):
        out[name] = timed(call, repeat)
        print(
            f"   {name} {year}: {out[name]['median_ms']} ms, "
            f"{out[name]['queries']} queries"
        )
    return out


@contextmanager
def summaries_off() -> Iterator[None]:
    import claims.models

    kept = claims.models.summaries_apply
    claims.models.summaries_apply = lambda changes, *, using="default": None
    try:
        yield
    finally:
        claims.models.summaries_apply = kept


def per_claim(action: Callable[[int], object], ids: list[int]) -> tuple[float, int]:
    """Median seconds per claim of ``action`` over ``ids``, all rolled back."""
    times = []
    try:
        with transaction.atomic():
            for pk in ids:
                t = time.perf_counter()
                try:
                    action(pk)
                except DomainError:
                    continue
                times.append(time.perf_counter() - t)
            raise _Rollback
    except _Rollback:
        pass
    return (statistics.median(times) if times else 0.0), len(times)


def writes(per_round: int = 40, rounds: int = 3) -> dict[str, Any]:
    from accounts.models import User
    from claims import services, workflow
    from claims.models import Claim
    from quarters import services as quarter_services
    from quarters.models import ReportStatus

    reviewer = User.objects.get(username="bench-reviewer")
    clerks = {
        u.unit_id: u for u in User.objects.filter(username__startswith="bench-clerk-")
    }
    drafts = list(
        Claim.objects.filter(status=workflow.DRAFT, eligible=True)
        .order_by("pk")
        .values_list("pk", "unit_id")[: per_round * rounds * 2]
    )
    submitted = list(
        Claim.objects.filter(
            status=workflow.SUBMITTED, report__status=ReportStatus.SUBMITTED
        )
        .order_by("pk")
        .values_list("pk", flat=True)[: per_round * rounds * 2]
    )
    units = dict(drafts)
    sides: dict[str, dict[str, list[float]]] = {
        "submit": {"with": [], "without": []},
        "approve": {"with": [], "without": []},
    }
    done = {"submit": 0, "approve": 0}
    actions: dict[str, tuple[Callable[[int], object], list[int]]] = {
        "submit": (
            lambda pk: services.claim_submit(claim_id=pk, actor=clerks[units[pk]]),
            [pk for pk, _ in drafts],
        ),
        "approve": (
            lambda pk: quarter_services.claim_approve(claim_id=pk, actor=reviewer),
            submitted,
        ),
    }
    for name, (action, ids) in actions.items():
        for r in range(rounds):
            chunk = ids[r * 2 * per_round : (r + 1) * 2 * per_round]
            first, second = chunk[:per_round], chunk[per_round:]
            # alternate which side goes first, and which claims each side gets
            if r % 2:
                first, second = second, first
            seconds, n = per_claim(action, first)
            sides[name]["with"].append(seconds)
            done[name] += n
            with summaries_off():
                seconds, n = per_claim(action, second)
            sides[name]["without"].append(seconds)
            done[name] += n
    out: dict[str, Any] = {}
    for name, side in sides.items():
        with_ms = statistics.median(side["with"]) * 1000
        without_ms = statistics.median(side["without"]) * 1000
        out[name] = {
            "with_summaries_ms": round(with_ms, 2),
            "without_summaries_ms": round(without_ms, 2),
            "ratio": round(with_ms / without_ms, 2) if without_ms else None,
            "claims": done[name],
        }
        print(
            f"   {name}: {with_ms:.2f} ms per claim with the summaries, "
            f"{without_ms:.2f} ms without: ×{out[name]['ratio']} "
            f"({done[name]} claims, rolled back)"
        )
    return out


def run(results: dict[str, Any], repeat: int = 5) -> None:
    results["summaries"] = {"reads": reads(repeat), "writes": writes()}
