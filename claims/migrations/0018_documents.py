"""Evidence documents (issue 16): the document, its downloads, the attach event.

Both tables are append-only: on PostgreSQL a trigger refuses every UPDATE and DELETE,
raw SQL included (as for claim events, 0006); SQLite gets no trigger, the models and
their querysets still refuse. TRUNCATE is not blocked (the test database is flushed
with it).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

TABLES = ("claims_document", "claims_documentdownload")


def _create(table):
    return [
        f"""
        CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '{table} is append-only';
        END;
        $$ LANGUAGE plpgsql
        """,
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"""
        CREATE TRIGGER {table}_append_only
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {table}_append_only()
        """,
    ]


def _drop(table):
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"DROP FUNCTION IF EXISTS {table}_append_only()",
    ]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            for statement in _create(table):
                schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            for statement in _drop(table):
                schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0017_import_row_reference"),
        ("programs", "0005_issue13_readings"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="claimevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("create", "创建"),
                    ("edit", "修改"),
                    ("submit", "提交"),
                    ("withdraw", "撤回"),
                    ("delete", "删除草稿"),
                    ("approve", "核准"),
                    ("reject", "驳回"),
                    ("return", "退回"),
                    ("report", "随季度报表报送"),
                    ("spot_check", "抽查核对"),
                    ("attach_document", "上传材料"),
                    ("owed", "核定应付"),
                    ("paid", "拨付"),
                    ("failed", "拨付失败"),
                    ("recovery", "应追回"),
                    ("recovered", "追回到账"),
                ],
                max_length=20,
                verbose_name="操作",
            ),
        ),
        migrations.CreateModel(
            name="Document",
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
                    "kind",
                    models.CharField(
                        choices=[
                            ("roster", "花名册"),
                            ("attendance", "签到表"),
                            ("certificate", "证书"),
                            ("employment", "劳动合同或就业证明"),
                            ("id_card", "身份证复印件"),
                            ("other", "其他"),
                        ],
                        max_length=20,
                        verbose_name="材料类别",
                    ),
                ),
                (
                    "content_type",
                    models.CharField(max_length=40, verbose_name="文件类型"),
                ),
                (
                    "sha256",
                    models.CharField(
                        db_index=True, max_length=64, verbose_name="SHA-256"
                    ),
                ),
                ("size", models.PositiveIntegerField(verbose_name="大小（字节）")),
                (
                    "stored_as",
                    models.CharField(
                        max_length=200, unique=True, verbose_name="存储名"
                    ),
                ),
                (
                    "original_name",
                    models.CharField(
                        blank=True, max_length=200, verbose_name="原文件名"
                    ),
                ),
                (
                    "uploaded_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="上传时间"
                    ),
                ),
                (
                    "claim",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="documents",
                        to="claims.claim",
                        verbose_name="申报",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="programs.unit",
                        verbose_name="单位",
                    ),
                ),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="上传人",
                    ),
                ),
            ],
            options={
                "verbose_name": "证明材料",
                "verbose_name_plural": "证明材料",
                "ordering": ["uploaded_at", "id"],
            },
        ),
        migrations.CreateModel(
            name="DocumentDownload",
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
                    models.CharField(max_length=30, verbose_name="下载时角色"),
                ),
                (
                    "at",
                    models.DateTimeField(
                        db_index=True,
                        default=django.utils.timezone.now,
                        verbose_name="下载时间",
                    ),
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
                        verbose_name="下载人",
                    ),
                ),
                (
                    "document",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="downloads",
                        to="claims.document",
                        verbose_name="材料",
                    ),
                ),
            ],
            options={
                "verbose_name": "材料下载记录",
                "verbose_name_plural": "材料下载记录",
                "ordering": ["-at", "-id"],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
