"""The audit trail is a hash chain per claim; PostgreSQL refuses to rewrite it."""

from io import StringIO
from itertools import pairwise

from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

import pytest

from claims import audit, services
from claims.models import Claim, ClaimEvent
from quarters import services as quarter_services
from tests.conftest import on_postgres, requires_postgres
from tests.factories import send_to_prefecture

pytestmark = pytest.mark.django_db

TRADES = ["6-31-01-03", "4-07-05-01"]


def verify_audit() -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def approved(clerk, reviewer, claim_input):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    send_to_prefecture(claim)
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    return claim


def test_a_claims_life_is_one_intact_chain(clerk, reviewer, claim_input):
    claim = approved(clerk, reviewer, claim_input)
    events = list(ClaimEvent.objects.filter(claim=claim).order_by("id"))
    assert [e.action for e in events] == [
        "create",
        "submit",
        "report",
        "approve",
        "owed",  # the ledger line the approval wrote, chained like every event
    ]
    assert events[0].prev_hash == ""
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash
    for event in events:
        assert event.hash == audit.event_hash(event.prev_hash, event)
    code, output = verify_audit()
    assert code == 0
    assert "审计链完整：5 条记录，1 笔申报\n资金账目与审计链一致：1 条账目" in output


def test_an_empty_trail_verifies(db):
    assert verify_audit() == (
        0,
        "审计链完整：0 条记录，0 笔申报\n资金账目与审计链一致：0 条账目\n"
        "报表审计链完整：0 条记录，0 份报表\n",
    )


def test_bulk_paths_chain_every_claim(clerk, claim_input):
    items = [(b, services.judge(b)) for b in (claim_input(trade_id=t) for t in TRADES)]
    claims = services.claims_create_batch(items=items, actor=clerk, submit=True)
    send_to_prefecture(*claims)  # report_submit writes one "report" event per claim
    for claim in claims:
        events = list(ClaimEvent.objects.filter(claim=claim).order_by("id"))
        assert [e.action for e in events] == ["create", "submit", "report"]
        assert [e.prev_hash for e in events] == ["", events[0].hash, events[1].hash]
    code, output = verify_audit()
    assert code == 0
    assert output.startswith(
        "审计链完整：6 条记录，2 笔申报\n资金账目与审计链一致：0 条账目\n报表审计链完整："
    )


def test_a_rewritten_reason_is_named(clerk, reviewer, claim_input):
    if on_postgres():
        pytest.skip("PostgreSQL refuses the update (test_postgres_refuses_…)")
    claim = approved(clerk, reviewer, claim_input)
    submit = ClaimEvent.objects.get(claim=claim, action="submit")
    ClaimEvent.objects.filter(pk=submit.pk).update(reason="改过的理由")
    code, output = verify_audit()
    assert code == 1
    assert f"claim #{claim.pk}, event #{submit.pk}:" in output
    assert f"found {submit.hash}" in output


def delete_event(pk: int) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        if on_postgres():  # triggers off, as only a superuser could
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM claims_claimevent WHERE id = %s", [pk])
        if on_postgres():
            cursor.execute("SET LOCAL session_replication_role = origin")


def test_a_deleted_middle_event_breaks_the_next_link(clerk, reviewer, claim_input):
    claim = approved(clerk, reviewer, claim_input)
    submit, report = ClaimEvent.objects.filter(
        claim=claim, action__in=["submit", "report"]
    ).order_by("id")
    delete_event(submit.pk)
    code, output = verify_audit()
    assert code == 1
    assert (
        f"claim #{claim.pk}, event #{report.pk}: expected prev {submit.prev_hash}"
        in output
    )


def test_the_first_broken_link_is_named_among_intact_chains(
    clerk, reviewer, claim_input
):
    intact = approved(clerk, reviewer, claim_input)
    other = services.claim_create(data=claim_input(trade_id=TRADES[1]), actor=clerk)
    services.claim_submit(claim_id=other.pk, actor=clerk)
    first = ClaimEvent.objects.get(claim=other, action="create")
    delete_event(first.pk)
    code, output = verify_audit()
    assert code == 1
    assert f"claim #{other.pk}, event #" in output
    assert f"claim #{intact.pk}," not in output


@requires_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE claims_claimevent SET reason = 'x'",
        "DELETE FROM claims_claimevent",
    ],
)
def test_postgres_refuses_to_rewrite_events(clerk, claim_input, sql):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    refused = pytest.raises(DatabaseError, match="append-only")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    event = ClaimEvent.objects.get(claim=claim)
    assert event.reason == "" and event.hash == audit.event_hash("", event)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ClaimEvent.objects.filter(pk=event.pk).update(reason="x")
    assert Claim.objects.count() == 1
    assert verify_audit()[0] == 0


def test_a_deleted_report_event_is_named_too(clerk, reviewer, claim_input):
    """verify_audit walks the quarterly reports' trails as well as the claims'."""
    from quarters.models import ReportEvent

    approved(clerk, reviewer, claim_input)
    first, second = ReportEvent.objects.order_by("id")[:2]
    assert verify_audit()[0] == 0
    with transaction.atomic(), connection.cursor() as cursor:
        if on_postgres():  # triggers off, as only a superuser could
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM quarters_reportevent WHERE id = %s", [first.pk])
        if on_postgres():
            cursor.execute("SET LOCAL session_replication_role = origin")
    code, output = verify_audit()
    assert code == 1
    assert "报表审计链断裂" in output
    assert f"event #{second.pk}" in output
