"""The record of every change of a registered person's facts, append-only.

On PostgreSQL a trigger refuses every UPDATE and DELETE of the table, raw SQL included
(as for the ID-number reveals, 0002). TRUNCATE is not blocked (the test database is
flushed with it). SQLite gets no trigger; the model and its queryset still refuse.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CREATE = [
    """
    CREATE OR REPLACE FUNCTION trainees_traineefactchange_append_only()
    RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'changes of a person''s facts are append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS trainees_traineefactchange_append_only"
    " ON trainees_traineefactchange",
    """
    CREATE TRIGGER trainees_traineefactchange_append_only
        BEFORE UPDATE OR DELETE ON trainees_traineefactchange
        FOR EACH ROW EXECUTE FUNCTION trainees_traineefactchange_append_only()
    """,
]

DROP = [
    "DROP TRIGGER IF EXISTS trainees_traineefactchange_append_only"
    " ON trainees_traineefactchange",
    "DROP FUNCTION IF EXISTS trainees_traineefactchange_append_only()",
]


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("trainees", "0002_id_number_reveal"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TraineeFactChange",
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
                (
                    "actor_role",
                    models.CharField(max_length=30, verbose_name="修改时角色"),
                ),
                (
                    "at",
                    models.DateTimeField(
                        auto_now_add=True, db_index=True, verbose_name="修改时间"
                    ),
                ),
                ("reason", models.TextField(verbose_name="修改理由")),
                ("changes", models.JSONField(verbose_name="变更内容")),
                (
                    "actor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="修改人",
                    ),
                ),
                (
                    "trainee",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="fact_changes",
                        to="trainees.trainee",
                        verbose_name="培训人员",
                    ),
                ),
            ],
            options={
                "verbose_name": "培训人员信息变更记录",
                "verbose_name_plural": "培训人员信息变更记录",
                "ordering": ["-at", "-id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("reason", ""), _negated=True),
                        name="traineefactchange_reason_required",
                        violation_error_message="请填写修改理由",
                    )
                ],
            },
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
