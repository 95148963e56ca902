"""A report's trail (issue 11): every report action writes one ``ReportEvent`` in its
own transaction — who, what, and which claims moved — and a refused action writes
none. The trail is hash-chained per report and append-only on PostgreSQL. The action
of both trails, a claim's and a report's, is one of a ``TextChoices``."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.urls import reverse

import pytest

from altay_skills.errors import Conflict, PermissionDenied
from claims import services, workflow
from claims.models import ClaimAction, ClaimEvent
from quarters import events
from quarters import services as quarter_services
from quarters.models import QuarterlyReport, ReportAction, ReportEvent
from tests.conftest import requires_postgres
from tests.factories import TraineeFactory, opened_evidence

pytestmark = pytest.mark.django_db

TRADES = ["6-31-01-03", "4-07-05-01", "4-10-01-05"]


@pytest.fixture
def submitted_claims(clerk: Any, claim_input: Any) -> list[Any]:
    claims = []
    for trade in TRADES:
        draft = services.claim_create(data=claim_input(trade_id=trade), actor=clerk)
        claims.append(services.claim_submit(claim_id=draft.pk, actor=clerk))
    return claims


def build(clerk: Any) -> QuarterlyReport:
    return quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )


def trail(report: QuarterlyReport) -> list[tuple[str, str]]:
    return [
        (e.action, e.actor.username)
        for e in ReportEvent.objects.filter(report=report).order_by("id")
    ]


# --- One event per action -----------------------------------------------------------------
def test_building_writes_one_event_naming_the_claims_moved_in(clerk, submitted_claims):
    report = build(clerk)

    (event,) = ReportEvent.objects.filter(report=report)
    assert (event.action, event.actor) == (ReportAction.BUILD, clerk)
    assert event.changes == {
        "created": True,
        "claims_in": sorted(c.pk for c in submitted_claims),
    }


def test_refreshing_a_draft_writes_one_more_event_with_only_the_new_claims(
    clerk, submitted_claims, claim_input
):
    report = build(clerk)
    someone = TraineeFactory(groups=["poor_labour"])  # the first has 3 this year
    draft = services.claim_create(data=claim_input(trainee_id=someone.pk), actor=clerk)
    late = services.claim_submit(claim_id=draft.pk, actor=clerk)

    build(clerk)

    assert trail(report) == [("build", "clerk_a"), ("build", "clerk_a")]
    assert report.events.order_by("id").last().changes == {
        "created": False,
        "claims_in": [late.pk],
    }


def test_discarding_writes_one_event_naming_the_claims_moved_out(
    clerk, submitted_claims
):
    report = build(clerk)

    quarter_services.report_discard(report_id=report.pk, actor=clerk)

    assert trail(report) == [("build", "clerk_a"), ("discard", "clerk_a")]
    assert report.events.get(action="discard").changes == {
        "claims_out": sorted(c.pk for c in submitted_claims)
    }


def test_submitting_writes_one_event_with_the_frozen_count_and_total(
    clerk, submitted_claims
):
    report = build(clerk)

    quarter_services.report_submit(report_id=report.pk, actor=clerk)

    assert trail(report) == [("build", "clerk_a"), ("submit", "clerk_a")]
    changes = report.events.get(action="submit").changes
    notice = changes.pop("notice")  # the public notice it opened (issue 17)
    assert changes == {"claim_count": 3, "control_total": "5400.00"}
    assert set(notice) == {"opened_on", "closes_on", "working_days", "calendar_covered"}


def test_the_reviewers_actions_each_write_one_event(clerk, reviewer, submitted_claims):
    report = build(clerk)
    quarter_services.report_submit(report_id=report.pk, actor=clerk)

    checks = quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer
    )
    for check in checks:
        quarter_services.spot_check_record(
            spot_check_id=check.pk,
            actor=reviewer,
            result="consistent",
            documents=opened_evidence(check.pk, reviewer),
            note="相符",
        )
    for claim in submitted_claims:
        quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    quarter_services.report_close(report_id=report.pk, actor=reviewer)

    assert trail(report) == [
        ("build", "clerk_a"),
        ("submit", "clerk_a"),
        ("draw_spot_checks", "reviewer"),
        *[("record_spot_check", "reviewer")] * len(checks),
        ("close", "reviewer"),
    ]
    drawn = report.events.get(action="draw_spot_checks").changes
    assert drawn["claims"] == sorted(c.claim_id for c in checks)
    assert drawn["seed"] == QuarterlyReport.objects.get(pk=report.pk).spot_check_seed
    recorded = report.events.filter(action="record_spot_check").first()
    assert recorded.reason == "相符"
    examined = checks[0].documents_examined.get()
    assert recorded.changes == {
        "spot_check": checks[0].pk,
        "claim": checks[0].claim_id,
        "result": "consistent",
        "documents": [{"document": examined.pk, "sha256": examined.sha256}],
    }


# --- A refusal writes nothing; a failed write refuses the action ------------------------------
def test_a_refused_action_writes_no_event(clerk, reviewer, submitted_claims):
    report = build(clerk)
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    before = trail(report)

    with pytest.raises(PermissionDenied):
        quarter_services.report_close(report_id=report.pk, actor=clerk)
    with pytest.raises(Conflict):
        quarter_services.report_close(report_id=report.pk, actor=reviewer)  # no sample
    with pytest.raises(Conflict):
        quarter_services.report_discard(report_id=report.pk, actor=clerk)  # submitted
    with pytest.raises(Conflict):
        build(clerk)  # frozen

    assert trail(report) == before


def test_the_event_is_written_in_the_actions_transaction(
    clerk, submitted_claims, monkeypatch
):
    report = build(clerk)

    def broken(**kwargs: Any) -> None:
        raise DatabaseError("the trail is unavailable")

    monkeypatch.setattr(quarter_services, "report_event_record", broken)

    # when writing the event fails, the action does not happen either
    with pytest.raises(DatabaseError):
        quarter_services.report_submit(report_id=report.pk, actor=clerk)
    report.refresh_from_db()
    assert report.status == "draft"
    assert not report.items.exists()
    assert not ClaimEvent.objects.filter(action="report").exists()


# --- The chain, the trigger ------------------------------------------------------------------
def test_each_report_has_its_own_hash_chain(clerk, reviewer, submitted_claims):
    report = build(clerk)
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    quarter_services.report_draw_spot_checks(report_id=report.pk, actor=reviewer)

    chain = list(report.events.order_by("id"))
    assert chain[0].prev_hash == ""
    for before, after in pairwise(chain):
        assert after.prev_hash == before.hash
    for event in chain:
        assert event.hash == events.event_hash(event.prev_hash, event)
    assert events.verify().broken is None


def test_a_rewritten_report_event_breaks_the_chain(clerk, submitted_claims):
    report = build(clerk)
    event = report.events.get()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # triggers off, as only a superuser could
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE quarters_reportevent SET reason = 'x' WHERE id = %s", [event.pk]
        )

    verdict = events.verify()

    assert verdict.broken is not None
    assert (verdict.broken.claim_id, verdict.broken.event_id) == (report.pk, event.pk)


@requires_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE quarters_reportevent SET reason = 'x'",
        "DELETE FROM quarters_reportevent",
    ],
)
def test_postgres_refuses_to_rewrite_report_events(clerk, submitted_claims, sql):
    report = build(clerk)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ReportEvent.objects.filter(report=report).delete()
    assert report.events.get().reason == ""
    assert events.verify().broken is None


# --- The page, the choices -------------------------------------------------------------------
def test_the_report_page_shows_its_trail(client, clerk, submitted_claims):
    report = build(clerk)
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    client.force_login(clerk)

    page = client.get(reverse("report_detail", args=[report.pk])).content.decode()

    trail_html = page.split('data-testid="report-events"', 1)[1].split("</ol>", 1)[0]
    assert "编制" in trail_html and "列入3笔申报" in trail_html
    assert "报送" in trail_html and "冻结3笔，控制总额5400.00元" in trail_html


def test_claim_actions_are_choices_labelled_by_the_workflow_table():
    assert dict(ClaimAction.choices) == workflow.ACTION_LABELS
    transitions = {action for _status, action in workflow.TRANSITIONS}
    assert transitions <= set(ClaimAction.values)


def test_every_claim_event_of_a_quarter_is_one_of_the_choices(closed_quarter):
    written = set(ClaimEvent.objects.values_list("action", flat=True))
    assert {"create", "submit", "report", "spot_check", "approve", "reject"} <= written
    assert written <= set(ClaimAction.values)
    assert set(ReportEvent.objects.values_list("action", flat=True)) == {
        "build",
        "submit",
        "draw_spot_checks",
        "record_spot_check",
        "close",
    }
