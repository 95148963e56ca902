"""The record of every full ID number shown, append-only.

On PostgreSQL a trigger refuses every UPDATE and DELETE of the table, raw SQL included
(as for claim events, claims 0006). TRUNCATE is not blocked (the test database is
flushed with it). SQLite gets no trigger; the model and its queryset still refuse.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CREATE = [
    """
    CREATE OR REPLACE FUNCTION trainees_idnumberreveal_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'id number reveals are append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS trainees_idnumberreveal_append_only"
    " ON trainees_idnumberreveal",
    """
    CREATE TRIGGER trainees_idnumberreveal_append_only
        BEFORE UPDATE OR DELETE ON trainees_idnumberreveal
        FOR EACH ROW EXECUTE FUNCTION trainees_idnumberreveal_append_only()
    """,
]

DROP = [
    "DROP TRIGGER IF EXISTS trainees_idnumberreveal_append_only"
    " ON trainees_idnumberreveal",
    "DROP FUNCTION IF EXISTS trainees_idnumberreveal_append_only()",
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
        ("trainees", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="IdNumberReveal",
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
                    models.CharField(max_length=30, verbose_name="查看时角色"),
                ),
                (
                    "at",
                    models.DateTimeField(
                        auto_now_add=True, db_index=True, verbose_name="查看时间"
                    ),
                ),
                ("reason", models.TextField(verbose_name="查看理由")),
                (
                    "channel",
                    models.CharField(
                        choices=[("page", "页面"), ("api", "接口")],
                        max_length=10,
                        verbose_name="渠道",
                    ),
                ),
                (
                    "source",
                    models.CharField(max_length=200, verbose_name="来源页面或接口"),
                ),
                (
                    "address",
                    models.GenericIPAddressField(
                        blank=True, null=True, verbose_name="来源地址"
                    ),
                ),
                (
                    "actor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="查看人",
                    ),
                ),
                (
                    "trainee",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="id_number_reveals",
                        to="trainees.trainee",
                        verbose_name="培训人员",
                    ),
                ),
            ],
            options={
                "verbose_name": "身份证号码查看记录",
                "verbose_name_plural": "身份证号码查看记录",
                "ordering": ["-at", "-id"],
                "indexes": [
                    models.Index(fields=["actor", "at"], name="idreveal_actor_at")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("reason", ""), _negated=True),
                        name="idreveal_reason_required",
                    )
                ],
            },
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
