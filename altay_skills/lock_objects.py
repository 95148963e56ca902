"""Row locks: one order, one place (Saleor's ``lock_objects.py``, for every app).

No module but this one calls ``select_for_update`` (``tests/test_lock_order.py`` greps
the source). A transaction that holds more than one lock takes them in this order,
skipping what it does not need, and the rows of one kind in primary-key order:

1. **outbox message** — ``run_once`` locks the task's own row before whatever its work
   locks.
2. **user** — the actor's own row, a per-person mutex (``id_number_reveal``'s hourly
   limit).
3. **budgets** (``FundBudget``, 七(五)) — approving into a fund is served one at a time.
3a. **training class** (issue 16) — its roster, sessions and completion; then its
   people (4) and the claims completion creates (6), never the other way round.
4. **trainees** — the person's yearly limit and "one trade and level once" (五(二)):
   every claim of a person is created, moved or counted under the person's row.
5. **report** (``QuarterlyReport``) — its claim list, its status and its trail.
5a. **payment batch** (issue 18) — marking it sent, cancelling it, recording the bank's
   answer: the batch first, then the claims its lines pay (6).
5b. **rollup** — building a payment batch from it: the rollup, then the claims the
   batch will pay (6), planned again under their locks, so that a payment recorded by
   hand meanwhile is seen and one recorded later waits and finds the open line;
   requesting and building a rollup take it alone.
6. **claims** — ``of=("self",)``, so a join in the filter locks nothing else.
6a. **claim summaries** (``claims.models.ClaimSummary``, issue 20) — upserted by
   ``Claim.save`` right after the claim's own row, in one order
   (``claims.models.summary_lock_order``: month, unit, program, fund, level, then
   status); a change of several claims (a bulk approval) makes its changes in that
   order too, so two of them never hold rows the other waits for;
   ``rebuild_summaries`` takes the whole table (``lock_claim_summaries``) so that no
   transition adds to a row it is rewriting.
6b. **trainee confirmation** (issue 17) — after its claim: the trainee's answer, the
   grievance it opens and the unit's finding.
6c. **backlog entries** (``claims.models.BacklogEntry``, issue 20) — only ever
   inserted by the transitions (an insert waits for no one); locked only to fold a
   report's rows into one per day (``lock_backlog_entries``), which waits for nothing
   else; ``rebuild_summaries`` takes the whole table with the summaries'.
7. **spot check**, then the claim's **payments**, then its **recovery**; a claim's
   **objection** (公示异议, issue 17) after the claim.
8. **institution** — taken alone: admitting a provider to the catalogue (七(三)).
9. **payee account change** (issue 18) — taken alone: confirming a new bank account
   locks every change of its payee in id order, so that two confirmations for one
   payee are served one after the other (the older one then finds the newer in force).

Why one order: two transactions that lock the same rows in the same order queue behind
each other; in opposite orders they deadlock. A bulk approval once locked people in
claim-id order while the spreadsheet import locked them in person-id order; now the
bulk approval locks every person of the selection first (``lock_trainees``), then the
claims (``lock_claims``).

Models are looked up by label (``django.apps.apps.get_model``) when a helper is called:
the core is the lowest stage and imports no app's models. A caller that must narrow the
rows (the user's scope, a status) passes ``among=`` a queryset of the same model; the
helper adds the lock and the order. On SQLite, which has no row locks, every helper is
a plain read (SQLite serialises writers on the whole database).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Model, Q, QuerySet

BudgetKey = tuple[str, int, str]  # (unit, year of training end, fund)


def _rows(
    label: str, among: QuerySet[Any] | None = None, *, no_key: bool = False
) -> QuerySet[Any]:
    """``among`` (or every row of ``label``), locked ``FOR UPDATE OF`` its own table
    only and ordered by primary key; ``no_key``: ``FOR NO KEY UPDATE``, which does not
    hold up another transaction's insert of a row referring to it (its foreign key
    check takes ``FOR KEY SHARE``)."""
    model = apps.get_model(label)
    if among is None:
        among = model._default_manager.all()
    elif among.model is not model:
        raise TypeError(
            f"expected a queryset of {label}, got {among.model._meta.label}"
        )
    return among.select_for_update(of=("self",), no_key=no_key).order_by("pk")


def _pks(label: str, ids: Iterable[Any]) -> list[Any]:
    """Lock the rows of ``ids`` in id order; the ids that exist, in that order."""
    wanted = sorted({pk for pk in ids if pk is not None})
    if not wanted:
        return []
    return list(_rows(label).filter(pk__in=wanted).values_list("pk", flat=True))


def _one(label: str, pk: Any, among: QuerySet[Any] | None = None) -> Any:
    """One row, locked; ``None`` when it does not exist (or is not in ``among``)."""
    return _rows(label, among).filter(pk=pk).first()


# --- 1. the outbox message ----------------------------------------------------------------
def lock_outbox_message(message_id: int) -> Any:
    return _one("altay_skills.OutboxMessage", message_id)


# --- 2. a user's own row ------------------------------------------------------------------
def lock_user(user_id: int) -> None:
    _pks(settings.AUTH_USER_MODEL, [user_id])


# --- 3. budgets ---------------------------------------------------------------------------
def lock_budgets(keys: Iterable[BudgetKey]) -> dict[BudgetKey, Model]:
    """The budget rows of these (unit, year, fund), locked in id order, by key. A key
    without a row has no limit and nothing to lock."""
    wanted = {key for key in keys if key[2]}
    if not wanted:
        return {}
    match = Q()
    for unit, year, fund in wanted:
        match |= Q(unit_id=unit, year=year, fund=fund)
    return {
        (budget.unit_id, budget.year, budget.fund): budget
        for budget in _rows("quarters.FundBudget").filter(match)
    }


# --- 3a. a training class ---------------------------------------------------------------
def lock_training_class(class_id: int, *, among: QuerySet[Any] | None = None) -> Any:
    """One class, locked (within ``among``, the user's scope, if given); ``None`` when
    there is none."""
    return _one("classes.TrainingClass", class_id, among)


# --- 4. trainees --------------------------------------------------------------------------
def lock_trainees(ids: Iterable[int]) -> list[int]:
    """Lock the people in id order; the ids that exist."""
    return _pks("trainees.Trainee", ids)


# --- 5. the report ------------------------------------------------------------------------
def lock_report(
    report_id: int | None = None, *, among: QuerySet[Any] | None = None
) -> Any:
    """One report, locked: by id (within ``among`` if given), or the first of ``among``
    (e.g. a unit's live report of a quarter). ``None`` when there is none."""
    rows = _rows("quarters.QuarterlyReport", among)
    if report_id is not None:
        rows = rows.filter(pk=report_id)
    return rows.first()


# --- 5a. a payment batch --------------------------------------------------------------------
def lock_payment_batch(batch_id: int) -> Any:
    """One payment batch, locked; ``None`` when there is none."""
    return _one("finance.PaymentBatch", batch_id)


# --- 6. claims ----------------------------------------------------------------------------
def lock_claims(claims: Iterable[int] | QuerySet[Any]) -> list[Any]:
    """Lock claims — ids, or a queryset of them — in id order; the claims."""
    if isinstance(claims, QuerySet):
        return list(_rows("claims.Claim", claims))
    wanted = sorted(set(claims))
    return list(_rows("claims.Claim").filter(pk__in=wanted)) if wanted else []


def lock_claim_ids(claims: Iterable[int] | QuerySet[Any]) -> list[int]:
    """Lock claims — ids, or a queryset of them — in id order when only the lock is
    wanted (the audit chain, a report's claim list moved by ``update``): their ids."""
    if isinstance(claims, QuerySet):
        return list(_rows("claims.Claim", claims).values_list("pk", flat=True))
    return _pks("claims.Claim", claims)


def lock_claim(claim_id: int) -> Any:
    """One claim, locked; ``Claim.DoesNotExist`` when there is none."""
    return _rows("claims.Claim").get(pk=claim_id)


def lock_claim_row(claim_id: int) -> Any:
    """One claim, locked, a deleted draft too (``Claim.all_rows``): a trainee's answer
    must see that the claim ended, not fail to find it."""
    model = apps.get_model("claims.Claim")
    return _rows("claims.Claim", model.all_rows.all()).get(pk=claim_id)


def lock_confirmation(confirmation_id: int) -> Any:
    """One trainee confirmation, locked (its claim first); ``None`` if missing."""
    return _one("claims.TraineeConfirmation", confirmation_id)


# --- 7. a claim's spot check, payments, recovery --------------------------------------------
def lock_spot_check(spot_check_id: int) -> Any:
    return _one("quarters.SpotCheck", spot_check_id)


def lock_objection(objection_id: int) -> Any:
    """One objection to a public notice, locked (its claim is locked first)."""
    return _one("quarters.Objection", objection_id)


def lock_payments_of(claim_id: int) -> list[Any]:
    """Every payment of one claim, locked in id order (the claim is locked first)."""
    payment = apps.get_model("finance.Payment")
    return list(_rows("finance.Payment", payment.objects.filter(claim_id=claim_id)))


def lock_recovery(recovery_id: int) -> Any:
    return _one("finance.Recovery", recovery_id)


def lock_open_recoveries(claim_id: int) -> list[Any]:
    """A claim's recoveries neither settled nor netted, newest first (the order they
    are netted in), locked; the claim is locked by the caller."""
    rows = _rows("finance.Recovery").filter(
        claim_id=claim_id, settled_at__isnull=True, netted_at__isnull=True
    )
    return list(rows)[::-1]  # locked in key order, like every kind


# --- 5b. the rollup --------------------------------------------------------------------------
def lock_rollup(rollup_id: int) -> Any:
    """One rollup, locked; ``Rollup.DoesNotExist`` when there is none.

    ``FOR NO KEY UPDATE``: a payment recorded by hand refers to its rollup, and its
    foreign key check would otherwise wait for a batch being built from it while
    holding its claim, which the build then waits for (a deadlock, 5b)."""
    return _rows("finance.Rollup", no_key=True).get(pk=rollup_id)


def lock_rollup_of_quarter(
    quarter: str, *, defaults: dict[str, Any]
) -> tuple[Any, bool]:
    """The quarter's rollup, locked, created with ``defaults`` if there is none yet."""
    return _rows("finance.Rollup", no_key=True).get_or_create(
        quarter=quarter, defaults=defaults
    )


# --- 8. an institution ----------------------------------------------------------------------
def lock_institution(institution_id: int) -> Any:
    """One institution, locked (admitting it is served one at a time); ``None`` when
    there is none."""
    return _one("programs.Institution", institution_id)


# --- 6a. the claim summaries, whole (their rebuild) ----------------------------------------
def lock_claim_summaries() -> None:
    """Hold off every transition's summary upsert until the rebuild commits (PostgreSQL
    ``EXCLUSIVE``: reads go on, writes wait). On SQLite writers are serialised anyway."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    table = apps.get_model("claims.ClaimSummary")._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")


def lock_backlog() -> None:
    """The backlog's table, whole, for its rebuild (as ``lock_claim_summaries``)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    table = apps.get_model("claims.BacklogEntry")._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")


# --- 6c. a report's backlog entries (their compaction) ---------------------------------------
def lock_backlog_entries(report_id: int, *, using: str = "default") -> QuerySet[Any]:
    """A report's backlog rows, locked in primary-key order: the rows a compaction
    replaces (a row inserted meanwhile is not among them)."""
    model = apps.get_model("claims.BacklogEntry")
    return (
        model.objects.using(using)
        .select_for_update()
        .filter(report_id=report_id)
        .order_by("pk")
    )


# --- 9. a payee account change -------------------------------------------------------------
def lock_payee_account_change(change_id: int) -> Any:
    """One proposed account change, locked with every other change of its payee (in
    id order); ``None`` when there is none."""
    model = apps.get_model("finance.PayeeAccountChange")
    owner = model.objects.filter(pk=change_id).values("trainee_id", "institution_id")
    found = owner.first()
    if found is None:
        return None
    payee = (
        {"trainee_id": found["trainee_id"]}
        if found["trainee_id"] is not None
        else {"institution_id": found["institution_id"]}
    )
    _pks(
        "finance.PayeeAccountChange",
        model.objects.filter(**payee).values_list("pk", flat=True),
    )
    return _one("finance.PayeeAccountChange", change_id)
