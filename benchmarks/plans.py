"""Query plans of the key reads, as the application issues them.

Each operation runs once under ``CaptureQueriesContext``; every SELECT it sent is then
run again as ``EXPLAIN (ANALYZE, BUFFERS)``. The plans go into the JSON and the output
(for the dashboards, whose pages send a dozen queries, only the slowest two are printed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

PRINT_LINES = 14
#: the plan lines printed (the whole plan is in the JSON): what is scanned and sorted
SHOWN = (
    "Scan",
    "Sort Key",
    "Sort Method",
    "Aggregate",
    "Limit",
    "Index Cond",
    "Execution Time",
)


def operations() -> list[tuple[str, str, Callable[[], object]]]:
    from accounts.models import User
    from benchmarks.rollup import busiest_closed_quarter
    from claims import rules
    from claims.filters import ClaimFilter
    from claims.listing import list_page
    from claims.models import Claim
    from claims.selectors import claims_listed, prior_claims_of
    from finance.services import rollup_figures
    from programs.models import Unit
    from reporting import dashboards, review

    clerk = User.objects.get(username="bench-clerk-654301")
    reviewer = User.objects.get(username="bench-reviewer")
    quarter, _ = busiest_closed_quarter()
    with connection.cursor() as cursor:  # the person with the longest history
        cursor.execute(
            "SELECT trainee_id FROM claims_claim GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        trainee_id = cursor.fetchone()[0]
    year = int(quarter[:4])

    def page(user: User, params: dict[str, str]) -> object:
        # as the list page and API read it (claims/views.py, claims/apis.py): a
        # keyset page and the count (claims/listing.py)
        found = ClaimFilter(params or None, queryset=claims_listed(user))
        filters = found.form.cleaned_data if found.is_bound and found.is_valid() else {}
        listed = list_page(user, found.qs, filters, cursor=None, page=None)
        return listed.rows

    def submit_history() -> object:
        history = prior_claims_of(trainee_id)
        taken = list(  # the slot query of services._take_limit_slot
            Claim.objects.filter(
                trainee_id=trainee_id,
                limit_year=year,
                status__in=rules.COUNTING_STATUSES,
            ).values_list("limit_slot", flat=True)
        )
        return history, taken

    unit = Unit.objects.get(pk="654301")
    return [
        ("rollup", f"rollup_figures('{quarter}')", lambda: rollup_figures(quarter)),
        (
            "claim_list_clerk",
            "a clerk's claim list, page 1, with its count",
            lambda: page(clerk, {}),
        ),
        (
            "claim_list_reviewer_submitted",
            "the reviewer's list of submitted claims (every unit), page 1 and count",
            lambda: page(reviewer, {"status": "submitted"}),
        ),
        (
            "claim_list_clerk_quarter",
            f"a clerk's list filtered to {quarter}, page 1 and count",
            lambda: page(clerk, {"quarter": quarter}),
        ),
        (
            "claim_search_id_number",
            "the reviewer searching one ID number",
            lambda: page(reviewer, {"q": _some_id_number(trainee_id)}),
        ),
        (
            "submit_history",
            "a submit's reads of the person: history (prior_claims_of) and the limit slots",
            submit_history,
        ),
        (
            "dashboard_prefecture",
            f"prefecture_dashboard({year})",
            lambda: dashboards.prefecture_dashboard(year),
        ),
        (
            "dashboard_unit",
            f"unit_dashboard({year}, 阿勒泰市)",
            lambda: dashboards.unit_dashboard(year, unit),
        ),
        (
            "dashboard_finance",
            f"finance_dashboard({year})",
            lambda: dashboards.finance_dashboard(year),
        ),
        (
            "november_review",
            f"review_figures({year})",
            lambda: review.review_figures(year),
        ),
    ]


def _some_id_number(trainee_id: int) -> str:
    from trainees.models import Trainee

    return Trainee.objects.get(pk=trainee_id).id_number


def explain(sql: str) -> tuple[str, float]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [r[0] for r in cursor.fetchall()]
    ms = 0.0
    for line in lines:
        if line.startswith("Execution Time:"):
            ms = float(line.split(":")[1].strip().split()[0])
    return "\n".join(lines), ms


def run(results: dict[str, Any]) -> None:
    out: dict[str, Any] = {}
    for name, label, fn in operations():
        with CaptureQueriesContext(connection) as ctx:
            fn()
        queries = []
        for q in ctx.captured_queries:
            sql = q["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            plan, ms = explain(sql)
            queries.append({"sql": sql, "plan": plan, "execution_ms": ms})
        total = sum(q["execution_ms"] for q in queries)
        out[name] = {
            "label": label,
            "queries": queries,
            "execution_ms": round(total, 2),
        }
        print(
            f"   -- {name}: {label} — {len(queries)} queries, {total:.1f} ms in PostgreSQL"
        )
        shown = sorted(queries, key=lambda q: -q["execution_ms"])
        if name.startswith(("dashboard", "november")):
            shown = shown[:2]
        for q in shown:
            lines = [x for x in q["plan"].splitlines() if any(k in x for k in SHOWN)]
            print(f"      {q['sql'][:150]}{'…' if len(q['sql']) > 150 else ''}")
            for line in lines[:PRINT_LINES]:
                print(f"        {line}")
    results["plans"] = out
