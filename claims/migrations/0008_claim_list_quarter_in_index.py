# The newest-first list indexes carry training_end, so a quarter-filtered list reads
# its page off the index (docs/performance.md, query plans).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0007_claim_list_and_rollup_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="claim",
            name="claim_unit_newest",
        ),
        migrations.RemoveIndex(
            model_name="claim",
            name="claim_newest",
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                fields=["unit", "-created_at", "-id", "training_end"],
                name="claim_unit_newest_end",
            ),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                fields=["-created_at", "-id", "training_end"], name="claim_newest_end"
            ),
        ),
    ]
