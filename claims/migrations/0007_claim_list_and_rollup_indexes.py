# The claim list, the quarter filter and the rollup read an index (issue 7;
# docs/performance.md shows the plans before and after).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0006_claimevent_append_only"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                fields=["unit", "-created_at", "-id"], name="claim_unit_newest"
            ),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(fields=["-created_at", "-id"], name="claim_newest"),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                fields=["status", "-created_at", "-id"], name="claim_status_newest"
            ),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                fields=["unit", "training_end"], name="claim_unit_training_end"
            ),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(fields=["report", "status"], name="claim_report_status"),
        ),
    ]
