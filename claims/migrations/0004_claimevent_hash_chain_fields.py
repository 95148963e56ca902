import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0003_stable_status_order"),
    ]

    operations = [
        migrations.AlterField(
            model_name="claimevent",
            name="at",
            field=models.DateTimeField(
                db_index=True,
                default=django.utils.timezone.now,
                editable=False,
                verbose_name="时间",
            ),
        ),
        migrations.AddField(
            model_name="claimevent",
            name="prev_hash",
            field=models.CharField(
                blank=True, editable=False, max_length=64, verbose_name="前一记录哈希"
            ),
        ),
        migrations.AddField(
            model_name="claimevent",
            name="hash",
            field=models.CharField(
                default="", editable=False, max_length=64, verbose_name="记录哈希"
            ),
            preserve_default=False,
        ),
    ]
