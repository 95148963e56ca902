"""Issue 11: QuarterlyReport, ReportItem and SpotCheck now belong to ``quarters``.

The tables keep their names, so only Django's idea of the models changes: the claim's
``report`` points at ``quarters.QuarterlyReport`` and the three models leave this app's
state. Their content types follow them, so permissions and admin log entries given on
them stay attached.
"""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ("quarterlyreport", "reportitem", "spotcheck")


def content_types_follow(apps, schema_editor, *, source="claims", target="quarters"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        old = ContentType.objects.using(db).filter(app_label=source, model=model)
        if ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            old.delete()
        else:
            old.update(app_label=target)


def content_types_return(apps, schema_editor):
    content_types_follow(apps, schema_editor, source="quarters", target="claims")


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0009_claim_certificate_key"),
        ("quarters", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="claim",
                    name="report",
                    field=models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="claims",
                        to="quarters.quarterlyreport",
                        verbose_name="所在季度报表",
                    ),
                ),
                migrations.DeleteModel(name="SpotCheck"),
                migrations.DeleteModel(name="ReportItem"),
                migrations.DeleteModel(name="QuarterlyReport"),
            ]
        ),
        migrations.RunPython(content_types_follow, content_types_return),
    ]
