"""Queries per operation: the same count with few rows or many (issue 7).

One measuring routine serves the bench (``run``, on the generated PostgreSQL database)
and the tests (``tests/test_query_counts.py``, on SQLite and PostgreSQL):

1. ``make_world`` adds a clerk, a reviewer, a trainee, an institution and a submitted
   quarterly report of the clerk's unit;
2. ``grow(world, n)`` bulk-inserts n rejected claims of that trainee (the first
   ``MAX_REPORT_ITEMS`` of them in that report, with its frozen items) and n events on
   the claim shown by the detail pages (at most ``MAX_EVENTS``) — rejected claims are
   prior history the rules read (they are not drafts) without taking a yearly slot, so
   one person can have 10,000 of them;
3. ``measure(world)`` counts the queries of each operation through the real code path:
   the services, the REST API with token auth and the pages with a session (Django's
   test client, in-process). Writes run in a savepoint that is rolled back, so every
   measurement starts from the same state.

The bench does it all inside one transaction that it rolls back, so the generated data
is left as it was. Counted queries include the SAVEPOINT/RELEASE statements of the
services' ``transaction.atomic`` (they are nested in the outer transaction here); they
are the same for few and many rows.
"""

from __future__ import annotations

import json
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from claims import services
from claims.audit import record_events
from claims.models import Claim, ClaimEvent
from programs.credit_codes import credit_code_check_char
from programs.models import Institution, InstitutionKind
from quarters.models import QuarterlyReport, ReportItem, ReportStatus
from trainees.id_numbers import check_char
from trainees.models import Household, Trainee

#: The unit of the world's clerk, and the claim every measured write files: program 9,
#: 中式烹调师 · 四级, 1800 yuan, passed and employed (the rules accept it for a poor
#: labourer). The prior claims are of the same kind, rejected.
UNIT = "654301"
PROGRAM, TRADE, LEVEL = 9, "4-03-02-01", "intermediate"
AMOUNT = Decimal("1800.00")
#: Events on the claim of the detail pages grow with n up to this many.
MAX_EVENTS = 500
#: The report holds at most this many of them: a unit's quarter is a few hundred claims
#: in Altay, and the report page renders every one (about 4 ms a row in the template).
MAX_REPORT_ITEMS = 1_000
FEW = 10
MANY = 10_000


@dataclass
class World:
    clerk: User
    reviewer: User
    trainee: Trainee
    institution: Institution
    report: QuarterlyReport
    clerk_token: str
    reviewer_token: str
    shown: Claim | None = None  # the claim the detail pages show (the first prior one)
    prior: int = 0


# --- Counting ------------------------------------------------------------------------------
def queries_of(action: Callable[[], object]) -> int:
    """How many SQL statements ``action`` sends to the default database.

    The log is emptied first: it keeps at most ``queries_limit`` (9,000) entries, and
    once full (a long run under ``DEBUG=1``, as ``make bench``) the capture's slice by
    length would be empty and every count 0.
    """
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        action()
    count = len(captured.captured_queries)
    if count >= connection.queries_limit:
        raise RuntimeError(f"more than {connection.queries_limit} queries: not counted")
    return count


@contextmanager
def rolled_back() -> Iterator[None]:
    """A savepoint (or transaction) that is always rolled back."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- The world ----------------------------------------------------------------------------------
def _tag() -> str:
    return secrets.token_hex(4)


def _fresh_id_number() -> str:
    """A valid ID number nobody in the registry has (the bench database is full)."""
    while True:
        birth = date(1975, 1, 1) + timedelta(days=secrets.randbelow(9000))
        body = f"{UNIT}{birth:%Y%m%d}{secrets.randbelow(1000):03d}"
        number = body + check_char(body)
        if not Trainee.objects.filter(id_number=number).exists():
            return number


def _fresh_credit_code() -> str:
    while True:
        body = f"91{UNIT}MA{secrets.randbelow(10**7):07d}"[:17]
        code = body + credit_code_check_char(body)
        if not Institution.objects.filter(credit_code=code).exists():
            return code


def _free_quarter(unit_id: str) -> str:
    """A quarter in which the unit has no live report (one per unit and quarter)."""
    taken = set(
        QuarterlyReport.objects.filter(unit_id=unit_id)
        .exclude(status=ReportStatus.DISCARDED)
        .values_list("quarter", flat=True)
    )
    for year in range(2019, 2000, -1):
        for q in (4, 3, 2, 1):
            if f"{year}Q{q}" not in taken:
                return f"{year}Q{q}"
    raise RuntimeError("no free quarter for the measuring report")


def _user(role: str, unit_id: str | None) -> User:
    user = User(username=f"bench_{role}_{_tag()}", role=role, unit_id=unit_id)
    user.set_unusable_password()
    user.save()
    return user


def _token(user: User) -> str:
    from accounts.tokens import token_create

    return token_create(user=user)


def make_world() -> World:
    """A clerk of ``UNIT``, a reviewer, a trainee, an institution and an empty submitted
    report of the unit, each new (the bench adds them to a full database)."""
    clerk = _user(Role.COUNTY_CLERK, UNIT)
    reviewer = _user(Role.PREFECTURE_REVIEWER, None)
    trainee = Trainee.objects.create(
        id_number=_fresh_id_number(),
        name=f"计数学员{_tag()}",
        household=Household.RURAL,
        groups=["poor_labour"],
        registered_by_unit_id=UNIT,  # 五(二): the unit files for its own people
    )
    institution = Institution.objects.create(
        name=f"计数培训学校{_tag()}",
        kind=InstitutionKind.TRAINING_INSTITUTION,
        credit_code=_fresh_credit_code(),
        unit_id=UNIT,
        admitted=True,
    )
    now = timezone.now()
    report = QuarterlyReport.objects.create(
        unit_id=UNIT,
        quarter=_free_quarter(UNIT),
        status=ReportStatus.SUBMITTED,
        built_by=clerk,
        submitted_by=clerk,
        submitted_at=now,
        claim_count=0,
        control_total=Decimal("0.00"),
    )
    return World(
        clerk=clerk,
        reviewer=reviewer,
        trainee=trainee,
        institution=institution,
        report=report,
        clerk_token=_token(clerk),
        reviewer_token=_token(reviewer),
    )


def grow(world: World, n: int) -> None:
    """n more rejected claims of the world's trainee (in its report up to
    ``MAX_REPORT_ITEMS``), and as many more events (up to ``MAX_EVENTS`` in all) on the
    claim the detail pages show."""
    now = timezone.now()
    first = world.prior
    in_report = max(0, min(n, MAX_REPORT_ITEMS - first))
    claims = [
        Claim(
            trainee=world.trainee,
            program_id=PROGRAM,
            trade_id=TRADE,
            level_id=LEVEL,
            institution=world.institution,
            unit_id=UNIT,
            training_start=date(2020, 3, 1) - timedelta(days=2 * i),
            training_end=date(2020, 3, 1) - timedelta(days=2 * i),
            passed=True,
            certificate_number=f"QC-{world.trainee.pk}-{i}",
            employment="employed",
            amount_requested=AMOUNT,
            eligible=True,
            cap=AMOUNT,
            amount=AMOUNT,
            advance=Decimal("720.00"),
            fund="special",
            payee="trainee",
            decided_on=date(2020, 3, 1),
            status="rejected",
            created_by=world.clerk,
            submitted_at=now,
            reviewed_by=world.reviewer,
            reviewed_at=now,
            report=world.report if i - first < in_report else None,
        )
        for i in range(first, first + n)
    ]
    Claim.objects.bulk_create(claims, batch_size=1000)
    ReportItem.objects.bulk_create(
        (
            ReportItem(
                report=world.report,
                claim=c,
                amount=c.amount,
                advance=c.advance,
                fund=c.fund,
                program_id=PROGRAM,
            )
            for c in claims[:in_report]
        ),
        batch_size=1000,
    )
    world.prior += n
    items = min(world.prior, MAX_REPORT_ITEMS)
    QuarterlyReport.objects.filter(pk=world.report.pk).update(
        claim_count=items, control_total=AMOUNT * items
    )
    if world.shown is None:
        world.shown = claims[0]
    have = ClaimEvent.objects.filter(claim=world.shown).count()
    record_events(
        [
            ClaimEvent(
                claim=world.shown,
                actor=world.clerk,
                action="edit",
                from_status="draft",
                to_status="draft",
                changes={"amount_requested": [str(AMOUNT - k - 1), str(AMOUNT)]},
            )
            for k in range(max(0, min(MAX_EVENTS, have + n) - have))
        ]
    )


# --- The operations -------------------------------------------------------------------------------
def _input(world: World) -> services.ClaimInput:
    return services.ClaimInput(
        trainee_id=world.trainee.pk,
        program_id=PROGRAM,
        institution_id=world.institution.pk,
        unit_id=UNIT,
        training_start=date(2020, 3, 1),
        training_end=date(2020, 3, 31),
        amount_requested=AMOUNT,
        trade_id=TRADE,
        level_id=LEVEL,
        passed=True,
        certificate_number="QC-NEW",
        employment="employed",
    )


def _body(world: World) -> str:
    return json.dumps(
        {
            "trainee": world.trainee.pk,
            "program": PROGRAM,
            "institution": world.institution.pk,
            "training_start": "2020-03-01",
            "training_end": "2020-03-31",
            "amount_requested": str(AMOUNT),
            "trade": TRADE,
            "level": LEVEL,
            "passed": True,
            "certificate_number": "QC-NEW",
            "employment": "employed",
        }
    )


def _ok(response: Any, expected: int = 200) -> None:
    if response.status_code != expected:
        raise AssertionError(
            f"{response.request['PATH_INFO']}: {response.status_code}, "
            f"expected {expected}: {response.content[:300]!r}"
        )


def _get_ok(client: Client, url: str) -> None:
    _ok(client.get(url))


def _api(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def _page(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


Measured = tuple[int, float]


def counted(action: Callable[[], object]) -> Measured:
    """``action``'s query count and wall time in milliseconds."""
    started = time.perf_counter()
    count = queries_of(action)
    return count, round((time.perf_counter() - started) * 1000, 1)


def operations(world: World) -> dict[str, Callable[[], Measured]]:
    """name → a callable doing one operation and counting it; ``measure`` undoes
    whatever it writes."""
    clerk_api, reviewer_api = _api(world.clerk_token), _api(world.reviewer_token)
    clerk_page, reviewer_page = _page(world.clerk), _page(world.reviewer)
    assert world.shown is not None, "grow the world first"
    shown, report = world.shown.pk, world.report.pk
    by_person = f"?trainee={world.trainee.pk}"
    json_post: dict[str, Any] = {"content_type": "application/json"}

    def draft() -> int:
        return services.claim_create(data=_input(world), actor=world.clerk).pk

    def submit_service() -> Measured:
        pk = draft()  # not counted: the submit alone is
        return counted(lambda: services.claim_submit(claim_id=pk, actor=world.clerk))

    def submit_api() -> Measured:
        url = reverse("api-claim-submit", args=[draft()])
        return counted(lambda: _ok(clerk_api.post(url)))

    def get(client: Client, url: str) -> Callable[[], Measured]:
        return lambda: counted(lambda: _ok(client.get(url)))

    return {
        "check (service)": lambda: counted(
            lambda: services.claim_check(data=_input(world), actor=world.clerk)
        ),
        "create (service)": lambda: counted(draft),
        "submit (service)": submit_service,
        "POST /api/claims/check/": lambda: counted(
            lambda: _ok(
                clerk_api.post(reverse("api-claim-check"), _body(world), **json_post)
            )
        ),
        "POST /api/claims/": lambda: counted(
            lambda: _ok(
                clerk_api.post(reverse("api-claims"), _body(world), **json_post), 201
            )
        ),
        "POST /api/claims/<id>/submit/": submit_api,
        "GET /api/claims/ (clerk)": get(clerk_api, reverse("api-claims")),
        "GET /api/claims/?trainee=": get(clerk_api, reverse("api-claims") + by_person),
        "GET /api/claims/<id>/": get(
            clerk_api, reverse("api-claim-detail", args=[shown])
        ),
        "GET /api/claims/<id>/events/": get(
            clerk_api, reverse("api-claim-events", args=[shown])
        ),
        "GET /claims/ (clerk)": get(clerk_page, reverse("claim_list")),
        "GET /claims/?trainee=": get(clerk_page, reverse("claim_list") + by_person),
        "GET /claims/ (reviewer)": get(reviewer_page, reverse("claim_list")),
        "GET /claims/<id>/": get(clerk_page, reverse("claim_detail", args=[shown])),
        "GET /reports/<id>/ (reviewer)": get(
            reviewer_page, reverse("report_detail", args=[report])
        ),
        "GET /api/reports/<id>/": get(
            reviewer_api, reverse("api-report-detail", args=[report])
        ),
    }


def measure(world: World) -> dict[str, dict[str, float]]:
    """name → {"queries": n, "ms": wall time}; each operation in a rolled-back
    savepoint, so each starts from the same state."""
    results: dict[str, dict[str, float]] = {}
    for name, operation in operations(world).items():
        with rolled_back():
            count, ms = operation()
        results[name] = {"queries": count, "ms": ms}
    return results


def few_and_many(
    few: int = FEW, many: int = MANY
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Measure with ``few`` prior claims, then with ``many`` (same world, grown)."""
    world = make_world()
    grow(world, few)
    small = measure(world)
    grow(world, many - few)
    return small, measure(world)


# --- Dashboards on the bench database ---------------------------------------------------
DASHBOARDS = [
    ("dashboards:prefecture", ""),
    ("dashboards:unit", f"&unit={UNIT}"),
    ("dashboards:finance", ""),
    ("dashboards:review", None),
]


def measure_dashboards(world: World, year: int) -> dict[str, dict[str, float]]:
    """Each dashboard for ``year`` as the reviewer (finance's as a finance officer)."""
    finance = _user(Role.FINANCE_OFFICER, None)
    results: dict[str, dict[str, float]] = {}
    for name, extra in DASHBOARDS:
        client = _page(finance if name == "dashboards:finance" else world.reviewer)
        query = f"?year={year}{extra}" if extra is not None else ""
        url = reverse(name, args=[year] if extra is None else []) + query
        count, ms = counted(partial(_get_ok, client, url))
        results[name.split(":")[1]] = {"queries": count, "ms": ms}
    return results


def measure_anomalies(world: World) -> dict[str, float]:
    """The anomaly lists span every year (no few and many by year here; their constant
    count is asserted by tests/reporting/test_dashboards.py): measured once — their
    computation in the background (the beat task's work) and the page, which reads
    the snapshot it leaves (issue 20)."""
    from reporting.anomaly_snapshots import anomalies_refresh

    compute_count, compute_ms = counted(anomalies_refresh)
    client = _page(world.reviewer)
    page = reverse("dashboards:anomalies")
    count, first_ms = counted(lambda: _ok(client.get(page)))
    # the page as a reviewer meets it after the first (template and codec warm):
    # the median of five
    ms = statistics.median(counted(lambda: _ok(client.get(page)))[1] for _ in range(5))
    return {
        "queries": count,
        "ms": ms,
        "first_ms": first_ms,
        "compute_queries": compute_count,
        "compute_ms": compute_ms,
    }


def _busiest_and_empty_years() -> tuple[int, int]:
    rows = list(
        Claim.objects.values_list("training_end__year")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    years = {int(y) for y, _ in rows}
    busiest = int(rows[0][0]) if rows else 2020
    empty = min(years, default=2021) - 1
    return busiest, empty


# --- The bench ---------------------------------------------------------------------------
def run(results: dict[str, Any]) -> None:
    """Count each operation's queries with 10 and 10,000 prior claims of one person (on
    top of the generated data), and each dashboard for an empty and the busiest year;
    everything the measuring adds is rolled back."""
    from django.conf import settings

    print("== Queries per operation (few vs many rows) ==", flush=True)
    total = Claim.objects.count()
    allowed = list(settings.ALLOWED_HOSTS)
    if "testserver" not in allowed:
        settings.ALLOWED_HOSTS = [*allowed, "testserver"]
    try:
        busiest, empty = _busiest_and_empty_years()  # before adding any claims
        with rolled_back():
            small, large = few_and_many(FEW, MANY)
            world = make_world()
            grow(world, 1)
            dash_few = measure_dashboards(world, empty)
            dash_many = measure_dashboards(world, busiest)
            anomaly_page = measure_anomalies(world)
    finally:
        settings.ALLOWED_HOSTS = allowed
    figures: dict[str, Any] = {"claims_in_database": total, "operations": {}}
    print(
        f"  ({total:,} claims in the database; prior claims of one person: "
        f"{FEW} vs {MANY:,})"
    )
    print(f"  {'operation':<34} {'few':>5} {'many':>5}  {'ms few':>8} {'ms many':>8}")
    for kind, few_rows, many_rows in (
        ("operations", small, large),
        ("dashboards", dash_few, dash_many),
    ):
        if kind == "dashboards":
            print(f"  dashboards: year {empty} (no claims) vs {busiest} (busiest)")
            figures["dashboards"] = {"few_year": empty, "many_year": busiest}
        target = (
            figures["operations"] if kind == "operations" else figures["dashboards"]
        )
        for name, few_row in few_rows.items():
            many_row = many_rows[name]
            same = few_row["queries"] == many_row["queries"]
            target[name] = {
                "queries_few": few_row["queries"],
                "queries_many": many_row["queries"],
                "ms_few": few_row["ms"],
                "ms_many": many_row["ms"],
                "constant": same,
            }
            mark = "" if same else "  GROWS"
            print(
                f"  {name:<34} {few_row['queries']:>5} {many_row['queries']:>5}  "
                f"{few_row['ms']:>8.1f} {many_row['ms']:>8.1f}{mark}"
            )
    figures["anomalies_all_years"] = anomaly_page
    print(
        f"  {'anomalies page (the snapshot)':<34} {anomaly_page['queries']:>5} "
        f"{'':>5}  {'':>8} {anomaly_page['ms']:>8.1f}"
        f"  (median of 5; the first request {anomaly_page['first_ms']:.1f})"
    )
    print(
        f"  {'anomalies computed (beat task)':<34} "
        f"{anomaly_page['compute_queries']:>5} "
        f"{'':>5}  {'':>8} {anomaly_page['compute_ms']:>8.1f}"
    )
    figures["all_constant"] = all(
        row["constant"]
        for group in (figures["operations"], figures["dashboards"])
        for row in group.values()
        if isinstance(row, dict)
    )
    results["queries"] = figures
