"""Issue 11: the money's models now belong to ``finance``, the budgets to ``quarters`` and
the outbox to the core (``altay_skills``); only the notices stay here.

The tables keep their names, so only Django's idea of the models changes. Their
content types follow them, so permissions and admin log entries stay attached.
"""

from django.db import migrations

MOVED = {
    "rollup": "finance",
    "rollupline": "finance",
    "payment": "finance",
    "recovery": "finance",
    "fundbudget": "quarters",
    "historicalfundbudget": "quarters",
    "budgetoverride": "quarters",
    "outboxmessage": "altay_skills",
}


def _move(apps, schema_editor, *, back=False):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model, app in MOVED.items():
        source, target = (app, "reporting") if back else ("reporting", app)
        old = ContentType.objects.using(db).filter(app_label=source, model=model)
        if ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            old.delete()
        else:
            old.update(app_label=target)


def content_types_follow(apps, schema_editor):
    _move(apps, schema_editor)


def content_types_return(apps, schema_editor):
    _move(apps, schema_editor, back=True)


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0003_outbox"),
        ("finance", "0001_initial"),
        ("quarters", "0001_initial"),
        ("altay_skills", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Recovery"),
                migrations.DeleteModel(name="Payment"),
                migrations.DeleteModel(name="RollupLine"),
                migrations.DeleteModel(name="Rollup"),
                migrations.DeleteModel(name="BudgetOverride"),
                migrations.DeleteModel(name="HistoricalFundBudget"),
                migrations.DeleteModel(name="FundBudget"),
                migrations.DeleteModel(name="OutboxMessage"),
            ]
        ),
        migrations.RunPython(content_types_follow, content_types_return),
    ]
