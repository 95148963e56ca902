"""The day a class started, as the services' calendar counts it: no session is dated
before it. Classes already started take the local date of their ``started_at``."""

from typing import Any

from django.db import migrations, models
from django.utils import timezone


def backfill(apps: Any, schema_editor: Any) -> None:
    TrainingClass = apps.get_model("classes", "TrainingClass")
    started = TrainingClass.objects.filter(
        started_at__isnull=False, started_on__isnull=True
    )
    for cls in started.only("pk", "started_at").iterator(chunk_size=500):
        TrainingClass.objects.filter(pk=cls.pk).update(
            started_on=timezone.localdate(cls.started_at)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("classes", "0003_classevent_action_advance"),
    ]

    operations = [
        migrations.AddField(
            model_name="trainingclass",
            name="started_on",
            field=models.DateField(
                blank=True, editable=False, null=True, verbose_name="开班日期"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
