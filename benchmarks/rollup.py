"""The quarterly rollup against the bare SQL ``GROUP BY`` computing the same figures.

Two ratios, each side doing the same work:

1. *figures*: ``rollup_figures(quarter)`` (the ORM ``GROUP BY`` of the claims, the sums
   of their ledgers — ``finance.ledger.money_by``, issue 12 — and the rounding to the
   fen) against one cursor running the hand-written ``GROUP BY`` with the same ``WHERE``
   (approved claims in the quarter's closed reports), each claim's ledger summed beside
   it (what it is owed, the advance paid, the recoveries), and fetching its rows;
2. *stored*: the database part of ``finance.services._build`` — ``rollup_figures`` +
   ``checksum_of`` + ``totals_of`` + the ``RollupLine`` bulk insert — against the bare
   ``GROUP BY`` plus one plain ``INSERT`` of the same lines; both in a transaction that
   is rolled back.

The workbook the task also writes is measured on its own (``benchmarks/workbook.py``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from psycopg2.extras import execute_values

#: The rollup's figures in one statement: the quarter's approved claims once, counted
#: per unit × program × fund, and their ledger lines summed per the same key — the sums
#: the rollup reads (``finance.rules.ClaimMoney``: approved = owed, advance = advance
#: paid less recoveries, balance = approved less advance). At a million claims this
#: form was the fastest of three (a ``LATERAL`` sum per claim took ×1.3 of it, a count
#: of ``DISTINCT`` claims over the joined lines ×1.4).
BARE_SQL = """
WITH q AS (
    SELECT c.id, c.unit_id, c.program_id, c.fund, c.passed, c.employment
    FROM claims_claim c
    JOIN claims_quarterlyreport r ON r.id = c.report_id
    WHERE c.status = 'approved' AND r.quarter = %s AND r.status = 'closed'
), counts AS (
    SELECT unit_id, program_id, fund,
           count(id) AS trained,
           count(id) FILTER (WHERE passed) AS passed,
           count(id) FILTER (WHERE employment <> 'none') AS employed
    FROM q
    GROUP BY unit_id, program_id, fund
), money AS (
    SELECT q.unit_id, q.program_id, q.fund,
           sum(l.amount) FILTER (WHERE l.kind = 'owed') AS owed,
           sum(l.amount) FILTER (WHERE l.kind = 'paid' AND l.part = 'advance')
               AS advance_paid,
           coalesce(sum(l.amount) FILTER (WHERE l.kind = 'recovery'), 0)
               - coalesce(sum(l.amount) FILTER (WHERE l.kind = 'netted'), 0)
               AS recovery
    FROM q
    JOIN finance_ledgerentry l ON l.claim_id = q.id
    GROUP BY q.unit_id, q.program_id, q.fund
)
SELECT counts.unit_id, counts.program_id, counts.fund,
       counts.trained, counts.passed, counts.employed,
       money.owed, money.advance_paid, money.recovery
FROM counts
LEFT JOIN money ON money.unit_id = counts.unit_id
    AND money.program_id = counts.program_id
    AND money.fund IS NOT DISTINCT FROM counts.fund
ORDER BY counts.unit_id, counts.program_id, counts.fund
"""


class Rollback(Exception):
    pass


def interleaved(
    sides: dict[str, Callable[[], Any]], repeat: int
) -> tuple[dict[str, float], dict[str, list[float]], dict[str, Any]]:
    """Median seconds per side over ``repeat`` rounds after one warm-up round; the
    sides take turns within a round so that a busy moment of the machine falls on
    all of them alike."""
    values = {name: fn() for name, fn in sides.items()}
    runs: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, fn in sides.items():
            t = time.perf_counter()
            values[name] = fn()
            runs[name].append(time.perf_counter() - t)
    return {n: statistics.median(r) for n, r in runs.items()}, runs, values


def bare(quarter: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(BARE_SQL, [quarter])
        return cursor.fetchall()


def bare_full(quarter: str, rollup_id: int) -> list[tuple]:
    """The same work in plain SQL: the GROUP BY, then the lines inserted in one
    statement, in a transaction rolled back."""
    rows: list[tuple] = []
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BARE_SQL, [quarter])
            rows = cursor.fetchall()
            values = [
                (
                    rollup_id,
                    f["unit"],
                    f["program"],
                    f["fund"],
                    f["trained"],
                    f["passed"],
                    f["employed"],
                    f["approved"],
                    f["advance"],
                    f["balance"],
                    f["recovery"],
                )
                for f in as_figures(rows)
            ]
            execute_values(
                cursor.cursor,
                "INSERT INTO reporting_rollupline (rollup_id, unit_id, program_id, fund, "
                "trained, passed, employed, approved, advance, balance, recovery) "
                "VALUES %s",
                values,
            )
            raise Rollback
    except Rollback:
        pass
    return rows


def fen(value: Decimal | None) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def as_figures(rows: list[tuple]) -> list[dict[str, object]]:
    out = []
    for unit, program, fund, trained, passed, employed, owed, paid, back in rows:
        approved, recovery = fen(owed), fen(back)
        advance = fen(paid) - recovery
        out.append(
            {
                "unit": unit,
                "program": program,
                "fund": fund or "",
                "trained": trained,
                "passed": passed,
                "employed": employed,
                "approved": approved,
                "advance": advance,
                "balance": approved - advance,
                "recovery": recovery,
            }
        )
    return out


def full_rollup(quarter: str, rollup_id: int) -> list[dict[str, object]]:
    """figures + checksum + totals + the lines inserted, then rolled back."""
    from finance.models import RollupLine
    from finance.services import (
        checksum_of,
        rollup_figures,
        rollup_lines,
        totals_of,
    )

    figures: list[dict[str, object]] = []
    try:
        with transaction.atomic():
            figures = rollup_figures(quarter)
            checksum_of(figures)
            totals_of(figures)
            RollupLine.objects.bulk_create(rollup_lines(rollup_id, figures))
            raise Rollback
    except Rollback:
        pass
    return figures


def busiest_closed_quarter() -> tuple[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT r.quarter, count(*) FROM claims_claim c
            JOIN claims_quarterlyreport r ON r.id = c.report_id
            WHERE c.status = 'approved' AND r.status = 'closed'
            GROUP BY r.quarter ORDER BY 2 DESC, 1 DESC LIMIT 1
            """
        )
        row = cursor.fetchone()
    if row is None:
        raise SystemExit("no closed quarter with approved claims: run --only generate")
    return row[0], row[1]


def scratch_rollup(quarter: str) -> int:
    from accounts.models import User
    from finance.models import Rollup

    actor = (
        User.objects.filter(username="bench-reviewer").first() or User.objects.first()
    )
    rollup, _ = Rollup.objects.get_or_create(
        quarter=quarter, defaults={"requested_by": actor}
    )
    return rollup.pk


def run(results: dict[str, Any], *, repeat: int = 5) -> None:
    from finance.services import rollup_figures

    quarter, claims = busiest_closed_quarter()
    rollup_id = scratch_rollup(quarter)
    medians, runs, values = interleaved(
        {
            "bare": lambda: bare(quarter),
            "figures": lambda: rollup_figures(quarter),
            "full": lambda: full_rollup(quarter, rollup_id),
            "bare_full": lambda: bare_full(quarter, rollup_id),
        },
        repeat,
    )
    bare_s, figs_s, full_s = medians["bare"], medians["figures"], medians["full"]
    bare_full_s = medians["bare_full"]
    rows, figures, full = values["bare"], values["figures"], values["full"]
    # all quarters at once: the same two queries over five years
    every = f"""
        SELECT count(*) FROM ({BARE_SQL.replace("r.quarter = %s", "r.quarter <> %s")}) t
    """
    with connection.cursor() as cursor:
        t = time.perf_counter()
        cursor.execute(every, [""])
        all_quarters_s = time.perf_counter() - t
    equal = as_figures(rows) == figures == full
    if not equal:
        raise AssertionError("the rollup's figures differ from the bare GROUP BY")
    figures_ratio = figs_s / bare_s
    full_ratio = full_s / bare_full_s
    out = {
        "quarter": quarter,
        "approved_claims": claims,
        "lines": len(figures),
        "repeat": repeat,
        "bare_group_by_s": round(bare_s, 4),
        "rollup_figures_s": round(figs_s, 4),
        "rollup_full_s": round(full_s, 4),
        "bare_full_s": round(bare_full_s, 4),
        "ratio_figures": round(figures_ratio, 2),
        "ratio_full": round(full_ratio, 2),
        "target": 1.3,
        "met": figures_ratio <= 1.3 and full_ratio <= 1.3,
        "figures_equal": equal,
        "runs": {n: [round(x, 4) for x in r] for n, r in runs.items()},
        "all_quarters_group_by_s": round(all_quarters_s, 3),
    }
    results["rollup"] = out
    print(
        f"   rollup {quarter}: {claims:,} approved claims → {len(figures)} lines; "
        f"median of {repeat}: bare GROUP BY {bare_s * 1000:.1f} ms · rollup_figures "
        f"{figs_s * 1000:.1f} ms (×{figures_ratio:.2f}); with the lines stored: bare "
        f"GROUP BY + INSERT {bare_full_s * 1000:.1f} ms · figures+checksum+totals+"
        f"RollupLine {full_s * 1000:.1f} ms (×{full_ratio:.2f}); target ≤ 1.3: "
        f"{'met' if out['met'] else 'MISSED'}; figures equal: {equal}"
    )
    print(f"   the bare GROUP BY over all 20 quarters at once: {all_quarters_s:.2f} s")
