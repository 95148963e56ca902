"""Each claim's ``paid`` and its summary row's, from the payments already recorded
(issue 20: the dashboards read what was paid from the summaries, not the payments)."""

from django.db import migrations
from django.db.models import Sum, Value
from django.db.models.functions import Coalesce, TruncMonth


def fill(apps, schema_editor):
    db = schema_editor.connection.alias
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE claims_claim SET paid = p.total FROM (SELECT claim_id, "
            "SUM(amount) AS total FROM reporting_payment WHERE status = 'paid' "
            "GROUP BY claim_id) AS p WHERE claims_claim.id = p.claim_id"
        )
    Claim = apps.get_model("claims", "Claim")
    Summary = apps.get_model("claims", "ClaimSummary")
    rows = (
        Claim._base_manager.using(db)  # deleted drafts too
        .filter(paid__gt=0)
        .annotate(
            k_month=TruncMonth("training_end"),
            k_fund=Coalesce("fund", Value("")),
            k_level=Coalesce("level_id", Value("")),
        )
        .values("k_month", "unit_id", "program_id", "k_fund", "status", "k_level")
        .annotate(total=Sum("paid"))
        .order_by()
    )
    for r in rows.iterator():
        # a deleted draft's row (money paid on it stays paid) holds nothing else
        Summary.objects.using(db).update_or_create(
            month=r["k_month"],
            unit_id=r["unit_id"],
            program_id=r["program_id"],
            fund=r["k_fund"],
            status=r["status"],
            level=r["k_level"],
            defaults={"paid": r["total"]},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0021_claim_paid"),
        ("finance", "0006_payment_batches"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
