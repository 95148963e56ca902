"""The dashboards' backlog kept as claims move (issue 20): ``BacklogEntry``, filled
from the claims waiting in a report now (as ``claims.models.backlog_fresh``)."""

from datetime import date
from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

NO_DAY = date(1970, 1, 1)  # claims.models.NO_DAY


def fill(apps, schema_editor):
    Claim = apps.get_model("claims", "Claim")
    BacklogEntry = apps.get_model("claims", "BacklogEntry")
    zone = timezone.get_default_timezone()
    totals = {}
    for report, unit, moment, amount in (
        Claim.objects.filter(status="submitted", report__isnull=False)
        .values_list("report_id", "unit_id", "submitted_at", "amount")
        .iterator(chunk_size=10000)
    ):
        day = NO_DAY if moment is None else timezone.localtime(moment, zone).date()
        row = totals.setdefault((report, unit, day), [0, Decimal(0)])
        row[0] += 1
        row[1] += amount or 0
    BacklogEntry.objects.bulk_create(
        [
            BacklogEntry(report_id=r, unit_id=u, day=d, claims=n, amount=a)
            for (r, u, d), (n, a) in sorted(totals.items())
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0022_dashboard_work_lists"),
        ("programs", "0007_notice_working_days"),
        ("quarters", "0005_public_notice"),
    ]

    operations = [
        migrations.CreateModel(
            name="BacklogEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("day", models.DateField(verbose_name="提交日期")),
                ("claims", models.IntegerField(verbose_name="申报数")),
                (
                    "amount",
                    models.DecimalField(
                        decimal_places=2, max_digits=16, verbose_name="核定金额"
                    ),
                ),
                (
                    "report",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="quarters.quarterlyreport",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="programs.unit",
                    ),
                ),
            ],
            options={
                "verbose_name": "待审核积压",
                "verbose_name_plural": "待审核积压",
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
