"""A result template names the statuses that mean failed, as it names those that mean
paid (the attacker review: any status but the paid one was recorded as a failure, so a
line the bank was still processing — 处理中 — was batched again and could be paid
twice). The two result templates the product ships get their failure values; a
template an administrator added gets none, so its failures are refused until they are
entered (the safe side: nothing recorded, never a line failed wrongly)."""

from django.db import migrations, models

SHIPPED = {
    "农信一卡通回盘（CSV·GBK）": ["失败"],
    "定长文本回盘（GBK）": ["F"],
}


def name_failure_values(apps, schema_editor):
    BankTemplate = apps.get_model("finance", "BankTemplate")
    for name, values in SHIPPED.items():
        BankTemplate.objects.filter(name=name, purpose="result").update(
            failed_values=values
        )


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0011_batch_sent_changed"),
    ]

    operations = [
        migrations.AddField(
            model_name="banktemplate",
            name="failed_values",
            field=models.JSONField(
                blank=True, default=list, verbose_name="表示失败的状态值"
            ),
        ),
        migrations.RunPython(name_failure_values, migrations.RunPython.noop),
    ]
