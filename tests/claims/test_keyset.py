"""The claim list without counting everything (issue 20): keyset pages, cheap counts.

A small world of claims in two units, two programs, two institutions, two quarters and
three statuses, many created at the same instant (the ties the primary key breaks),
walked a few claims a page through the API and the page, forward then back, under
every filter the list offers.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest

from claims import listing
from claims.models import Claim
from tests.claims.test_apis import CLAIMS, client_for
from tests.factories import InstitutionFactory, TraineeFactory

pytestmark = pytest.mark.django_db

SIZE = 4
STATUSES = ("draft", "submitted", "withdrawn")
#: 29 claims: ``n // 3`` shared instants, so most pages cut through a tie
COUNT = 29


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "PAGE_SIZE", SIZE)


@pytest.fixture
def world(clerk, other_clerk) -> dict[str, Any]:
    institutions = [InstitutionFactory(unit_id="654301") for _ in range(2)]
    elsewhere = InstitutionFactory(unit_id="654322")
    claims = []
    for n in range(COUNT):
        mine = n % 5 != 4
        claims.append(
            Claim(
                trainee=TraineeFactory(name=f"翻页人员{n:02d}"),
                program_id=9 if n % 2 else 10,
                trade_id="4-03-02-01",
                level_id="intermediate",
                institution=institutions[n % 2] if mine else elsewhere,
                unit_id="654301" if mine else "654322",
                training_start=date(2020, 3, 1) if n % 3 else date(2020, 4, 1),
                training_end=date(2020, 3, 31) if n % 3 else date(2020, 5, 31),
                amount_requested=Decimal("1800.00"),
                cap=Decimal("1800.00"),
                status=STATUSES[n % 3],
                # a live claim holds one of the person's yearly slots
                limit_slot=1 if STATUSES[n % 3] == "submitted" else None,
                limit_year=2020 if STATUSES[n % 3] == "submitted" else None,
                created_by=clerk if mine else other_clerk,
            )
        )
    created = Claim.objects.bulk_create(claims)
    start = datetime(2020, 6, 1, 8, 0, tzinfo=UTC)
    for n, claim in enumerate(created):
        Claim.objects.filter(pk=claim.pk).update(
            created_at=start + timedelta(minutes=n // 3)
        )
    return {"institutions": institutions, "elsewhere": elsewhere}


def expected_ids(user_unit: str | None, **where: Any) -> list[int]:
    qs = Claim.objects.filter(**where)
    if user_unit:
        qs = qs.filter(unit_id=user_unit)
    return list(qs.order_by("-created_at", "-id").values_list("pk", flat=True))


def walk_api(
    client, first: str, params: dict[str, str] | None = None, *, back: bool = True
) -> tuple[list[list[int]], list[dict[str, Any]]]:
    """Every page from ``first`` by ``next``, then (``back``) back by ``previous``."""
    forward, bodies = [], []
    link: str | None = first
    while link:
        body = client.get(link, params if link == first else None).json()
        bodies.append(body)
        forward.append([c["id"] for c in body["results"]])
        link = body["next"]
        assert len(forward) <= COUNT, "the walk does not end"
    if not back:
        return forward, bodies
    backward = [[c["id"] for c in bodies[-1]["results"]]]
    link = bodies[-1]["previous"]
    while link:
        body = client.get(link).json()
        backward.append([c["id"] for c in body["results"]])
        link = body["previous"]
        assert len(backward) <= COUNT, "the walk back does not end"
    assert backward[::-1] == forward, "back by previous is not the same pages"
    return forward, bodies


FILTERS = [
    ({}, {}),
    ({"status": "submitted"}, {"status": "submitted"}),
    ({"program": "9"}, {"program_id": 9}),
    ({"quarter": "2020Q1"}, {"training_end__lte": date(2020, 3, 31)}),
    (
        {"quarter": "2020Q2", "status": "draft", "program": "10"},
        {"training_end__gte": date(2020, 4, 1), "status": "draft", "program_id": 10},
    ),
    ({"q": "翻页人员1"}, {"trainee__name__contains": "翻页人员1"}),
]


@pytest.mark.parametrize(("params", "where"), FILTERS)
def test_the_clerk_walks_every_claim_once_in_order(
    small_pages, world, clerk, params, where
):
    # given the clerk's claims under a filter
    expected = expected_ids("654301", **where)
    # when they walk the pages forward and back
    pages, bodies = walk_api(client_for(clerk), CLAIMS, params)
    # then each claim comes once, newest first, ties by id, SIZE a page
    walked = [pk for page in pages for pk in page]
    assert walked == expected
    assert all(len(page) == SIZE for page in pages[:-1])
    # and the count is exact on every page
    assert {b["count"] for b in bodies} == {len(expected)}
    assert {b["count_is_estimate"] for b in bodies} == {False}
    assert bodies[0]["previous"] is None


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({}, {}),
        ({"unit": "654322"}, {"unit_id": "654322"}),
        (
            {"unit": "654301", "status": "withdrawn"},
            {"unit_id": "654301", "status": "withdrawn"},
        ),
        ({"institution": "elsewhere"}, {"institution__unit_id": "654322"}),
    ],
)
def test_the_reviewer_walks_every_unit_under_each_filter(
    small_pages, world, reviewer, params, where
):
    if params.get("institution") == "elsewhere":
        params = {"institution": str(world["elsewhere"].pk)}
    expected = expected_ids(None, **where)

    pages, bodies = walk_api(client_for(reviewer), CLAIMS, params)

    assert [pk for page in pages for pk in page] == expected
    assert bodies[0]["count"] == len(expected)


def test_a_claim_created_while_walking_neither_repeats_nor_hides_one(
    small_pages, world, clerk
):
    # given the first page
    client = client_for(clerk)
    first = client.get(CLAIMS).json()
    before = expected_ids("654301")
    # when a newer claim arrives before the next page is read
    newest = Claim.objects.get(pk=before[0])
    newest.pk = None
    newest.trainee = TraineeFactory()
    newest.save()
    # then the walk from the first page's next link holds every older claim once
    pages, _ = walk_api(client, first["next"], back=False)
    assert [c["id"] for c in first["results"]] + [
        pk for page in pages for pk in page
    ] == before


# --- The count ---------------------------------------------------------------------------
def test_filters_the_summaries_hold_are_counted_exactly_above_the_cap(
    small_pages, world, clerk, monkeypatch
):
    monkeypatch.setattr(listing, "EXACT_COUNT_CAP", 2)

    body = client_for(clerk).get(CLAIMS, {"status": "draft", "program": 10}).json()

    assert body["count"] == len(expected_ids("654301", status="draft", program_id=10))
    assert body["count_is_estimate"] is False


def test_a_filter_the_summaries_do_not_hold_is_estimated_above_the_cap(
    small_pages, world, clerk, monkeypatch
):
    # given a cap below the institution's claims
    monkeypatch.setattr(listing, "EXACT_COUNT_CAP", 2)
    institution = world["institutions"][0]
    # when the list is filtered by it
    body = client_for(clerk).get(CLAIMS, {"institution": institution.pk}).json()
    # then the count is an estimate above the cap, and says so
    assert body["count_is_estimate"] is True
    assert body["count"] > 2


def test_below_the_cap_a_filter_the_summaries_do_not_hold_is_counted(world, clerk):
    institution = world["institutions"][0]

    body = client_for(clerk).get(CLAIMS, {"institution": institution.pk}).json()

    assert body["count"] == len(expected_ids("654301", institution=institution))
    assert body["count_is_estimate"] is False


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the planner's estimate is PostgreSQL's"
)
def test_the_estimate_is_the_planner_s_on_postgresql(world, clerk, monkeypatch):
    monkeypatch.setattr(listing, "EXACT_COUNT_CAP", 2)
    monkeypatch.setattr(listing, "planner_estimate", lambda qs: 12345)

    body = client_for(clerk).get(CLAIMS, {"q": "翻页人员"}).json()

    assert (body["count"], body["count_is_estimate"]) == (12345, True)


def test_the_planner_estimate_reads_no_rows(world, clerk):
    qs = Claim.objects.filter(unit_id="654301")
    estimate = listing.planner_estimate(qs)
    if connection.vendor == "postgresql":
        assert isinstance(estimate, int) and estimate >= 0
    else:
        assert estimate is None


def test_the_summary_count_follows_the_clerks_scope(world, clerk, reviewer):
    assert listing.summary_count(clerk, {}) == len(expected_ids("654301"))
    assert listing.summary_count(reviewer, {}) == COUNT
    assert listing.summary_count(reviewer, {"unit": "654322"}) == len(
        expected_ids("654322")
    )


# --- Old page numbers, bad cursors -----------------------------------------------------
def test_an_old_page_number_is_still_served_with_cursor_links(
    small_pages, world, clerk
):
    body = client_for(clerk).get(CLAIMS, {"page": 2}).json()

    assert [c["id"] for c in body["results"]] == expected_ids("654301")[SIZE : 2 * SIZE]
    assert "cursor=" in body["next"] and "page=" not in body["next"]
    previous = client_for(clerk).get(body["previous"]).json()
    assert [c["id"] for c in previous["results"]] == expected_ids("654301")[:SIZE]


@pytest.mark.parametrize(
    ("page", "code"),
    [
        ("11", "page_too_deep"),
        ("999999", "page_too_deep"),
        ("abc", "invalid_page"),
        ("0", "invalid_page"),
    ],
)
def test_a_deep_or_bad_page_number_is_a_chinese_400(world, clerk, page, code):
    response = client_for(clerk).get(CLAIMS, {"page": page})

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert re.search(r"[\u4e00-\u9fff]", response.json()["message"])


FORGED = [
    "x",
    "!!!",
    "WyJuIiwiYmFkIiwxXQ",  # ["n","bad",1]
    "bnVsbA",  # null
    # ["n","2020-01-01T00:00:00+00:00",10**30]: an id beyond the column
    "WyJuIiwiMjAyMC0wMS0wMVQwMDowMDowMCswMDowMCIsMTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMF0",
    # ["n","2020-01-01T00:00:00",1]: no time zone
    "WyJuIiwiMjAyMC0wMS0wMVQwMDowMDowMCIsMV0",
]


@pytest.mark.parametrize("cursor", FORGED)
def test_a_forged_cursor_is_a_chinese_400(world, clerk, cursor):
    response = client_for(clerk).get(CLAIMS, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_a_cursor_round_trips():
    at = listing.Cursor(datetime(2020, 1, 2, 3, 4, 5, 6, tzinfo=UTC), 42, True)
    assert listing.Cursor.decode(at.encode()) == at


def test_the_queries_do_not_grow_with_the_depth(small_pages, world, clerk):
    client = client_for(clerk)
    first = client.get(CLAIMS).json()
    link = first["next"]
    for _ in range(4):
        link = client.get(link).json()["next"]
    counts = []
    for target in (CLAIMS, link):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(target).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- The page ---------------------------------------------------------------------------
def _next_link(html: str) -> str | None:
    found = re.search(r'href="\?([^"]+)" rel="next"', html)
    return found[1].replace("&amp;", "&") if found else None


def test_the_page_walks_every_claim_once(small_pages, world, client, clerk):
    client.force_login(clerk)
    seen: list[int] = []
    query: str | None = "status=draft"
    while query is not None:
        html = client.get(reverse("claim_list") + "?" + query).content.decode()
        seen += [int(i) for i in re.findall(r'class="fw-semibold">#(\d+)<', html)]
        query = _next_link(html)
        assert len(seen) <= COUNT
    assert seen == expected_ids("654301", status="draft")


def test_the_page_says_about_when_the_count_is_estimated(
    world, client, clerk, monkeypatch
):
    monkeypatch.setattr(listing, "EXACT_COUNT_CAP", 2)
    client.force_login(clerk)
    institution = world["institutions"][0]

    html = client.get(
        reverse("claim_list") + f"?institution={institution.pk}"
    ).content.decode()

    assert 'data-testid="count-estimate">约 ' in html


def test_a_deep_old_page_link_on_the_page_is_a_400_that_says_why(world, client, clerk):
    client.force_login(clerk)

    response = client.get(reverse("claim_list") + "?page=50")

    assert response.status_code == 400
    html = response.content.decode()
    assert "页码分页只支持前" in html
    assert html.count('class="fw-semibold">#') == len(expected_ids("654301"))
