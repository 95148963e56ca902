"""Queries per operation do not grow with rows (issue 7).

One person with 10 prior claims, then with 2,000 (bulk-inserted, rejected: history the
rules read without a yearly slot; the first 1,000 in one submitted report of the
clerk's unit), and the claim of the detail pages with 10 events, then 500: each
operation — the submit, the create and the dry run through the services and the API,
the claim list, detail and report pages and their API — sends exactly as many queries
both times. The
measuring is ``benchmarks.queries``, which ``make bench`` runs on the generated data.

Already covered elsewhere, not repeated here: every dashboard with 5 or 60 claims
(tests/reporting/test_dashboards.py), the claim list page with 5 or 50 drafts
(tests/claims/test_views.py), the report page with 2 or 12 claims
(tests/claims/test_report_views.py) and the rollup page (tests/reporting/test_views.py).
"""

from __future__ import annotations

from typing import Any

from django.db import connection

import pytest

from benchmarks import queries
from claims.models import Claim

pytestmark = pytest.mark.django_db

#: Upper bounds, so a constant but wasteful count also fails (measured + a little room).
MAX_QUERIES = {
    "check (service)": 12,
    "create (service)": 25,
    # + the trainee's confirmation (issue 17): its row, its event, the SMS's outbox row;
    # + the classes the person is rostered on, for a claim typed by hand (issue 16)
    "submit (service)": 29,
    "POST /api/claims/check/": 20,
    "POST /api/claims/": 35,
    "POST /api/claims/<id>/submit/": 35,
    # the page with its names in one statement (``read_listed``); its warnings: one
    # statement and whether any claim came from a class (issue 16, issue 20)
    "GET /api/claims/ (clerk)": 6,
    # + the planner's estimate of a count the summaries cannot answer (PostgreSQL,
    # issue 20: asked whatever the count, so that it stays constant)
    "GET /api/claims/?trainee=": 7,
    "GET /api/claims/<id>/": 8,
    "GET /api/claims/<id>/events/": 8,
    "GET /claims/ (clerk)": 10,
    "GET /claims/?trainee=": 11,
    "GET /claims/ (reviewer)": 10,
    "GET /claims/<id>/": 16,
    "GET /reports/<id>/ (reviewer)": 20,
    "GET /api/reports/<id>/": 12,
}


#: The bench uses 10,000 (``queries.MANY``); here 2,000 keep the test to seconds (the
#: report page then lists 1,000 claims, ``queries.MAX_REPORT_ITEMS``).
MANY = 2_000
_MEASURED: dict[str, Any] = {}


@pytest.fixture
def measured(db: Any) -> Any:
    """Few and many, measured once per process (the numbers are kept; the rows go with
    the first test's transaction)."""
    if not _MEASURED:
        few, many = queries.few_and_many(queries.FEW, MANY)
        assert Claim.objects.count() >= MANY
        _MEASURED.update(few=few, many=many)
    return _MEASURED["few"], _MEASURED["many"]


def test_every_operation_is_measured(measured):
    few, many = measured
    assert set(few) == set(many) == set(MAX_QUERIES)


@pytest.mark.parametrize("operation", sorted(MAX_QUERIES))
def test_the_count_is_the_same_for_10_or_2000_prior_claims(measured, operation):
    few, many = measured
    assert many[operation]["queries"] == few[operation]["queries"], (
        f"{operation}: {few[operation]['queries']} queries with {queries.FEW} prior "
        f"claims, {many[operation]['queries']} with {MANY}"
    )
    assert many[operation]["queries"] <= MAX_QUERIES[operation]


def test_counting_survives_a_full_query_log(db):
    # given the log of a long run under DEBUG=1, full to its limit
    limit = connection.queries_limit
    connection.queries_log.extend({"sql": "-", "time": "0"} for _ in range(limit))
    # then one query still counts as one
    assert queries.queries_of(lambda: list(Claim.objects.all())) == 1
