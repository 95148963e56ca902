"""Issue 12: every claim that already has money on it gets its ledger, and the ledger
is made append-only on PostgreSQL. Lines whose chain events exist already (a database
migrated back past this and forward again) are rebuilt from those events.

For each claim that is approved or has payments or recoveries, and no ledger yet, in
this order: the advance paid (its entitlement and its payment), the entitlement the
decision left (the approved amount; nothing for a withdrawn or rejected claim), the
other payments and failures, the recoveries already opened and settled — each line
chained into the claim's trail like any other. What was paid beyond what is owed and
never opened as a recovery (the leaks issue 12 found: an advance on a withdrawn claim,
an approval below the advance) is opened now, "迁移时补记". Settled recoveries with no
reference get one saying so, before the rule that a settlement needs one applies.
"""

from decimal import Decimal

from django.db import migrations, models
from django.utils import timezone

from claims.audit import canonical, chain_hash
from finance import rules

MISSING_REFERENCE = "（迁移前登记，无凭证号）"
ZERO = Decimal("0.00")

CREATE = [
    """
    CREATE OR REPLACE FUNCTION finance_ledgerentry_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'ledger entries are append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS finance_ledgerentry_append_only ON finance_ledgerentry",
    """
    CREATE TRIGGER finance_ledgerentry_append_only
        BEFORE UPDATE OR DELETE ON finance_ledgerentry
        FOR EACH ROW EXECUTE FUNCTION finance_ledgerentry_append_only()
    """,
]
DROP = [
    "DROP TRIGGER IF EXISTS finance_ledgerentry_append_only ON finance_ledgerentry",
    "DROP FUNCTION IF EXISTS finance_ledgerentry_append_only()",
]


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement, params=None)


class _Chain:
    """Appends events to claims' hash chains the way claims.audit does."""

    def __init__(self, apps):
        self.event = apps.get_model("claims", "ClaimEvent")
        self.entry = apps.get_model("finance", "LedgerEntry")

    def append(
        self,
        claim,
        actor_id,
        kind,
        amount,
        *,
        part="",
        payment=None,
        recovery=None,
        note="",
    ):
        last = self.event.objects.filter(claim_id=claim.pk).order_by("-id").first()
        prev = last.hash if last else ""
        at = timezone.now()
        changes = {
            "amount": f"{amount:.2f}",
            "part": part,
            "payment": payment.pk if payment else None,
            "recovery": recovery.pk if recovery else None,
        }
        body = canonical(
            claim_id=claim.pk,
            actor_id=actor_id,
            at=at,
            action=kind,
            from_status=claim.status,
            to_status=claim.status,
            reason=note,
            changes=changes,
        )
        event = self.event.objects.create(
            claim_id=claim.pk,
            actor_id=actor_id,
            at=at,
            action=kind,
            from_status=claim.status,
            to_status=claim.status,
            reason=note,
            changes=changes,
            prev_hash=prev,
            hash=chain_hash(prev, body),
        )
        self.entry.objects.create(
            claim_id=claim.pk,
            event=event,
            kind=kind,
            part=part,
            amount=amount,
            payment=payment,
            recovery=recovery,
        )


LEDGER_KINDS = ("owed", "paid", "failed", "recovery", "recovered")


def relink(apps):
    """Lines whose events survive (the ledger table was dropped by migrating back and
    is created again): each line is rebuilt from its event, which recorded it whole."""
    ClaimEvent = apps.get_model("claims", "ClaimEvent")
    LedgerEntry = apps.get_model("finance", "LedgerEntry")
    orphans = ClaimEvent.objects.filter(
        action__in=LEDGER_KINDS, ledger_entry__isnull=True
    ).order_by("pk")
    for event in orphans.iterator():
        changes = event.changes or {}
        LedgerEntry.objects.create(
            claim_id=event.claim_id,
            event=event,
            kind=event.action,
            part=changes.get("part", ""),
            amount=Decimal(changes["amount"]),
            payment_id=changes.get("payment"),
            recovery_id=changes.get("recovery"),
        )


def backfill(apps, schema_editor):
    relink(apps)
    Claim = apps.get_model("claims", "Claim")
    Payment = apps.get_model("finance", "Payment")
    Recovery = apps.get_model("finance", "Recovery")
    Recovery.objects.filter(settled_at__isnull=False, settlement_reference="").update(
        settlement_reference=MISSING_REFERENCE
    )
    chain = _Chain(apps)
    claims = (
        Claim.objects.filter(
            models.Q(status="approved")
            | models.Q(payments__isnull=False)
            | models.Q(recoveries__isnull=False)
        )
        .filter(ledger__isnull=True)
        .distinct()
        .order_by("pk")
    )
    for claim in claims.iterator():
        decider = claim.reviewed_by_id or claim.created_by_id
        payments = list(
            Payment.objects.filter(claim=claim).order_by("recorded_at", "id")
        )
        owed = ZERO
        paid = ZERO
        advance = next(
            (p for p in payments if p.kind == "advance" and p.status == "paid"), None
        )
        if advance is not None:
            chain.append(
                claim,
                advance.recorded_by_id,
                "owed",
                advance.amount,
                note="先行拨付（五(二)）",
            )
            owed = advance.amount
            chain.append(
                claim,
                advance.recorded_by_id,
                "paid",
                advance.amount,
                part="advance",
                payment=advance,
                note=advance.reference,
            )
            paid += advance.amount
        target = rules.owed_now(
            status=claim.status,
            amount=claim.amount,
            approved_amount=claim.approved_amount,
            owed=owed,
        )
        if target != owed:
            chain.append(claim, decider, "owed", target - owed, note="迁移时补记")
            owed = target
        for payment in payments:
            if payment is advance:
                continue
            if payment.status == "paid":
                chain.append(
                    claim,
                    payment.recorded_by_id,
                    "paid",
                    payment.amount,
                    part=payment.kind,
                    payment=payment,
                    note=payment.reference,
                )
                paid += payment.amount
            else:
                chain.append(
                    claim,
                    payment.recorded_by_id,
                    "failed",
                    payment.amount,
                    part=payment.kind,
                    payment=payment,
                    note=payment.failure_reason,
                )
        opened = ZERO
        for recovery in Recovery.objects.filter(claim=claim).order_by("pk"):
            chain.append(
                claim,
                decider,
                "recovery",
                recovery.amount,
                recovery=recovery,
                note=recovery.reason,
            )
            opened += recovery.amount
            if recovery.settled_at is not None:
                chain.append(
                    claim,
                    recovery.settled_by_id or decider,
                    "recovered",
                    recovery.amount,
                    recovery=recovery,
                    note=recovery.settlement_reference,
                )
        missing = paid - opened - owed
        if missing > 0:
            recovery = Recovery.objects.create(
                claim=claim, amount=missing, reason="迁移时补记：已拨付金额高于应付金额"
            )
            chain.append(
                claim,
                decider,
                "recovery",
                missing,
                recovery=recovery,
                note=recovery.reason,
            )


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0002_ledger"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="recovery",
            constraint=models.CheckConstraint(
                condition=models.Q(settled_at__isnull=True)
                | ~models.Q(settlement_reference=""),
                name="recovery_settled_has_reference",
                violation_error_message="登记追回须填写凭证号",
            ),
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
