"""The audit trail is a hash chain per claim; PostgreSQL refuses to rewrite it."""

import gzip
import hashlib
import json
from io import StringIO
from itertools import pairwise
from pathlib import Path

from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

import pytest

from claims import audit, services
from claims.models import Claim, ClaimEvent
from quarters import services as quarter_services
from tests.conftest import on_postgres, requires_postgres
from tests.factories import clear_spot_checks, send_to_prefecture

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
    send_to_prefecture(claim, sampled_by=reviewer)  # its one claim sampled, checked
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    return claim


def test_a_claims_life_is_one_intact_chain(clerk, reviewer, claim_input):
    claim = approved(clerk, reviewer, claim_input)
    events = list(ClaimEvent.objects.filter(claim=claim).order_by("id"))
    assert [e.action for e in events] == [
        "create",
        "submit",
        "report",
        "attach_document",  # the sampled claim's sign-in sheet, opened by the reviewer
        "spot_check",  # a report of one claim samples it: checked before approval
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
    assert "审计链完整：7 条记录，1 笔申报\n资金账目与审计链一致：1 条账目" in output


def test_an_empty_trail_verifies(db, settings, tmp_path):
    settings.AUDIT_ANCHOR_DIR = tmp_path
    assert verify_audit() == (
        0,
        "审计链完整：0 条记录，0 笔申报\n资金账目与审计链一致：0 条账目\n"
        "报表审计链完整：0 条记录，0 份报表\n培训班审计链完整：0 条记录，0 个培训班\n"
        "锚定摘要：尚无（manage.py anchor_audit 或每日定时任务写入）\n"
        "申报状态与末条审计记录一致：0 笔申报\n"
        "证明材料与存储文件、审计链一致：0 份材料\n"
        "报表状态与末条审计记录一致：0 份报表\n"
        "培训班状态与末条审计记录一致：0 个培训班\n"
        "课次的日期、学时和出勤人员与审计记录一致：0 个课次\n"
        "培训班名单及其申报与审计记录一致：0 个培训班\n"
        "培训班先行拨付与审计链一致：0 笔\n",
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


# --- Issue 14, item 10: a trail that cannot be forged ----------------------------------
# Whoever can write the tables — the owner, a superuser with the triggers off — cannot
# compute a link without AUDIT_KEY, cannot cut events off the end of a chain past the
# last anchor, and cannot move a claim without an event.


@pytest.fixture(autouse=True)
def _anchors_in_tmp(settings, tmp_path):
    settings.AUDIT_ANCHOR_DIR = tmp_path / "audit-anchors"


def keyless_link(scheme: str, prev: str, body: str) -> str:
    """A link as someone without the audit key computes it: the old plain sha256, or
    an HMAC under a key they guessed."""
    if scheme == "sha256":
        return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()
    return audit.chain_hash(prev, body, key="a-guessed-key")


def raw(sql: str, params: list | None = None, *, triggers_off: bool = False) -> None:
    """Raw SQL as the owner of the tables (a superuser in the tests); ``triggers_off``
    as only a superuser could."""
    with transaction.atomic(), connection.cursor() as cursor:
        if triggers_off and on_postgres():
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params or [])
        if triggers_off and on_postgres():
            cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.mark.parametrize("scheme", ["sha256", "guessed-key"])
def test_a_forged_approve_event_inserted_by_raw_sql_is_named(
    clerk, reviewer, claim_input, scheme
):
    # given a submitted claim in a submitted report
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    send_to_prefecture(claim)
    last = ClaimEvent.objects.filter(claim=claim).order_by("-id").first()
    # when someone with the database but not the key inserts an approval and moves it
    at = timezone.now()
    body = audit.canonical(
        claim_id=claim.pk,
        actor_id=reviewer.pk,
        at=at,
        action="approve",
        from_status="submitted",
        to_status="approved",
        reason="",
        changes={},
    )
    forged = keyless_link(scheme, last.hash, body)
    raw(
        "INSERT INTO claims_claimevent (claim_id, actor_id, at, action, from_status, "
        "to_status, reason, changes, prev_hash, hash) VALUES "
        "(%s, %s, %s, 'approve', 'submitted', 'approved', '', '{}', %s, %s)",
        [claim.pk, reviewer.pk, at, last.hash, forged],
    )
    raw("UPDATE claims_claim SET status = 'approved' WHERE id = %s", [claim.pk])
    # then verify_audit names the forged link
    code, output = verify_audit()
    assert code == 1
    assert "审计链断裂" in output
    assert f"claim #{claim.pk}, event #" in output and f"found {forged}" in output


@pytest.mark.parametrize("scheme", ["sha256", "guessed-key"])
def test_history_rewritten_and_rehashed_with_the_triggers_off_is_named(
    clerk, reviewer, claim_input, scheme
):
    # given an approved claim
    claim = approved(clerk, reviewer, claim_input)
    events = list(ClaimEvent.objects.filter(claim=claim).order_by("id"))
    # when a superuser turns the trigger off, rewrites the submission's reason and
    # re-hashes the rest of the chain (as the old sha256 chain allowed)
    if on_postgres():
        raw("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own transaction is still open
        raw(
            "ALTER TABLE claims_claimevent DISABLE TRIGGER claims_claimevent_append_only"
        )
    prev = ""
    for event in events:
        if event.action == "submit":
            event.reason = "改过的理由"
        body = audit.canonical(
            claim_id=event.claim_id,
            actor_id=event.actor_id,
            at=event.at,
            action=event.action,
            from_status=event.from_status,
            to_status=event.to_status,
            reason=event.reason,
            changes=event.changes,
        )
        link = keyless_link(scheme, prev, body)
        raw(
            "UPDATE claims_claimevent SET reason = %s, prev_hash = %s, hash = %s "
            "WHERE id = %s",
            [event.reason, prev, link, event.pk],
        )
        prev = link
    if on_postgres():
        raw(
            "ALTER TABLE claims_claimevent ENABLE TRIGGER claims_claimevent_append_only"
        )
    # then the first re-hashed link is named
    code, output = verify_audit()
    assert code == 1
    assert f"claim #{claim.pk}, event #{events[0].pk}:" in output


def test_a_truncated_trail_beside_claims_fails(clerk, reviewer, claim_input):
    approved(clerk, reviewer, claim_input)
    if on_postgres():
        raw("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own transaction is still open
        raw("TRUNCATE claims_claimevent CASCADE")  # the ledger lines refer to events
    else:
        raw("DELETE FROM finance_ledgerentry")
        raw("DELETE FROM claims_claimevent")
    code, output = verify_audit()
    assert code == 1
    assert "审计记录为空，但数据库中有 1 笔申报" in output


def test_a_status_changed_without_an_event_is_named(clerk, claim_input):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    submit = ClaimEvent.objects.get(claim=claim, action="submit")
    raw("UPDATE claims_claim SET status = 'approved' WHERE id = %s", [claim.pk])
    code, output = verify_audit()
    assert code == 1
    assert (
        f"申报状态与审计记录不符：申报 #{claim.pk} 的状态为 approved，"
        f"但其末条审计记录 #{submit.pk} 记为 submitted"
    ) in output


def test_a_claim_without_any_event_is_named(clerk, claim_input):
    kept = services.claim_create(data=claim_input(), actor=clerk)
    bare = services.claim_create(data=claim_input(trade_id=TRADES[1]), actor=clerk)
    raw(
        "DELETE FROM claims_claimevent WHERE claim_id = %s",
        [bare.pk],
        triggers_off=True,
    )
    assert ClaimEvent.objects.filter(claim=kept).exists()
    code, output = verify_audit()
    assert code == 1
    assert f"申报 #{bare.pk} 没有任何审计记录" in output


def test_a_report_status_changed_without_an_event_is_named(clerk, claim_input):
    # given a submitted report (its last status-changing event: submit)
    _claim, report = submitted_and_reported(clerk, claim_input)
    assert report.status == "submitted"
    submit = report.events.get(action="submit")
    assert verify_audit()[0] == 0
    # when its status is moved by raw SQL, with no event
    raw(
        "UPDATE claims_quarterlyreport SET status = 'closed' WHERE id = %s",
        [report.pk],
    )
    # then verify_audit names it
    code, output = verify_audit()
    assert code == 1
    assert (
        f"报表状态与审计记录不符：报表 #{report.pk} 的状态为 closed，"
        f"但其末条审计记录 #{submit.pk}（报送）之后应为 submitted"
    ) in output


def test_a_report_without_any_event_is_named(clerk, claim_input):
    _claim, report = submitted_and_reported(clerk, claim_input)
    raw(
        "DELETE FROM quarters_reportevent WHERE report_id = %s",
        [report.pk],
        triggers_off=True,
    )
    code, output = verify_audit()
    assert code == 1
    assert f"报表 #{report.pk} 没有任何审计记录" in output


def submitted_and_reported(clerk, claim_input):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = send_to_prefecture(claim)
    return claim, report


def test_events_cut_off_the_end_of_a_claim_s_chain_are_found_by_the_anchor(
    clerk, claim_input
):
    # given a submitted, reported claim, anchored
    claim, _report = submitted_and_reported(clerk, claim_input)
    report_event = ClaimEvent.objects.get(claim=claim, action="report")
    assert report_event.to_status == "submitted"  # the status stays with the cut
    call_command("anchor_audit", stdout=StringIO())
    # when its last event is deleted (no link breaks, the status still agrees)
    raw(
        "DELETE FROM claims_claimevent WHERE id = %s",
        [report_event.pk],
        triggers_off=True,
    )
    # then the chain and the status alone would pass, the anchor does not
    assert audit.verify().broken is None
    assert audit.claims_out_of_step()[1] is None
    code, output = verify_audit()
    assert code == 1
    assert (
        f"申报 #{claim.pk} 的审计记录与锚定摘要不符：摘要记有 3 条"
        f"（末条 #{report_event.pk}），现存 2 条"
    ) in output


def test_events_cut_off_the_end_of_a_report_s_chain_are_found_by_the_anchor(
    clerk, claim_input
):
    from quarters.models import ReportEvent

    _claim, report = submitted_and_reported(clerk, claim_input)
    call_command("anchor_audit", stdout=StringIO())
    last = ReportEvent.objects.filter(report=report).order_by("-id").first()
    raw("DELETE FROM quarters_reportevent WHERE id = %s", [last.pk], triggers_off=True)
    code, output = verify_audit()
    assert code == 1
    assert f"报表 #{report.pk} 的审计记录与锚定摘要不符" in output


def test_events_written_after_the_anchor_verify(clerk, reviewer, claim_input):
    claim, report = submitted_and_reported(clerk, claim_input)
    clear_spot_checks(report, reviewer)
    call_command("anchor_audit", stdout=StringIO())
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    other = services.claim_create(data=claim_input(trade_id=TRADES[1]), actor=clerk)
    assert other.pk
    code, output = verify_audit()
    assert code == 0, output
    assert "与锚定摘要一致：audit-anchor-" in output


def test_an_anchor_edited_outside_the_application_is_refused(clerk, claim_input):
    submitted_and_reported(clerk, claim_input)
    call_command("anchor_audit", stdout=StringIO())
    from reporting.audit import latest_anchor

    path = latest_anchor()
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        signed = json.load(handle)
    for head in signed["body"]["claims"].values():
        head[0] -= 1  # as if the last event had never been written
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(signed, handle)
    code, output = verify_audit()
    assert code == 1
    assert "签名不符" in output


def test_the_daily_anchor_is_a_beat_task_writing_under_the_backup_directory(
    clerk, claim_input, settings
):
    from celery.schedules import crontab

    from reporting.audit import anchor_read
    from reporting.tasks import anchor_audit_trail

    entry = settings.CELERY_BEAT_SCHEDULE["anchor-audit-trail"]
    assert entry["task"] == "reporting.tasks.anchor_audit_trail"
    assert entry["schedule"] == crontab(hour=1, minute=30)  # once a day
    claim, report = submitted_and_reported(clerk, claim_input)
    path = Path(anchor_audit_trail.delay().get())
    assert path.is_relative_to(settings.AUDIT_ANCHOR_DIR)
    body = anchor_read(path)
    events = list(ClaimEvent.objects.filter(claim=claim).order_by("id"))
    assert body["claims"] == {str(claim.pk): [3, events[-1].pk, events[-1].hash]}
    assert list(body["reports"]) == [str(report.pk)]


def test_the_anchors_live_under_the_backup_directory_by_default(monkeypatch):
    import importlib

    from altay_skills import settings as module

    monkeypatch.delenv("AUDIT_ANCHOR_DIR", raising=False)
    monkeypatch.setenv("BACKUP_DIR", "/srv/backups")
    fresh = importlib.reload(module)
    try:
        assert Path("/srv/backups/audit-anchors") == fresh.AUDIT_ANCHOR_DIR
    finally:
        monkeypatch.undo()
        importlib.reload(module)


# --- Re-keying the chains written before the key (claims 0014_audit_hmac) --------------
def _migrate(target: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_rekeys_old_chains_and_refuses_a_broken_one(
    clerk, reviewer, claim_input
):
    from quarters.events import verify as verify_reports

    # a claim with no document (documents came after 0013: going back drops their
    # table): its sampled check found 材料不符, approved past it with its reason
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = send_to_prefecture(claim)
    quarter_services.report_draw_spot_checks(report_id=report.pk, actor=reviewer)
    quarter_services.spot_check_record(
        spot_check_id=report.spot_checks.get().pk,
        actor=reviewer,
        result="inconsistent",
        note="缺签到表，已电话核实培训确已举办",
    )
    quarter_services.claim_approve(
        claim_id=claim.pk,
        actor=reviewer,
        spot_check_reason="培训机构补交签到表原件，经核对属实",
    )
    before = "0013_claim_hire_date"
    try:
        # given the chains as the code before the key wrote them (plain sha256)
        _migrate([("claims", before)])
        assert audit.verify().broken is not None
        # when the migration runs, every link becomes the HMAC and the trail verifies
        _migrate([("claims", "0014_audit_hmac")])
        assert audit.verify().broken is None and verify_reports().broken is None
        # (the whole command reads today's tables: every app migrated forward first)
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        assert verify_audit()[0] == 0
        # and an old chain that does not verify is never signed with the key
        _migrate([("claims", before)])
        event = ClaimEvent.objects.filter(action="submit").get()
        raw(
            "UPDATE claims_claimevent SET reason = 'x' WHERE id = %s",
            [event.pk],
            triggers_off=True,
        )
        with pytest.raises(RuntimeError, match="拒绝重新签名"):
            _migrate([("claims", "0014_audit_hmac")])
    finally:
        raw("DELETE FROM finance_ledgerentry", triggers_off=True)
        raw("DELETE FROM claims_claimevent", triggers_off=True)
        raw("DELETE FROM quarters_reportevent", triggers_off=True)
        # back to the latest of every app: going back to 0013 also unapplied what came
        # after 0014 (the import's jobs, 0015), which later tests of the worker need
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_audit_rekey_rotates_the_key_and_refuses_a_broken_trail(
    clerk, reviewer, claim_input, settings, monkeypatch
):
    # given a trail under one key
    claim = approved(clerk, reviewer, claim_input)
    old_key = settings.AUDIT_KEY
    settings.AUDIT_KEY = "the-new-key-" + "x" * 32
    assert verify_audit()[0] == 1  # the new key does not verify the old links
    monkeypatch.setenv("AUDIT_OLD_KEY", "a-wrong-old-key")
    with pytest.raises(SystemExit):
        call_command("audit_rekey", stdout=StringIO(), stderr=StringIO())
    # when it is re-keyed from the old key
    if on_postgres():
        raw("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own transaction is still open
    monkeypatch.setenv("AUDIT_OLD_KEY", old_key)
    call_command("audit_rekey", stdout=StringIO())
    # then the trail verifies under the new key, with a fresh anchor
    code, output = verify_audit()
    assert code == 0, output
    assert "与锚定摘要一致" in output
    assert (
        ClaimEvent.objects.filter(claim=claim).count() == 7
    )  # create … attach_document, spot_check, approve, owed
