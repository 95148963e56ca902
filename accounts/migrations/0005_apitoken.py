"""API tokens stored as digests, with an expiry (issue 14, 8).

DRF's ``authtoken`` app is no longer installed: its table, if this database has one,
held every key in clear. Its rows are deleted here (each script asks for a new token,
which it would have to anyway); the empty table stays, as the migrations that made it
are recorded as applied.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def forget_clear_keys(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" in connection.introspection.table_names():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM authtoken_token")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_role_change"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
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
                    "digest",
                    models.CharField(
                        max_length=64, unique=True, verbose_name="令牌摘要"
                    ),
                ),
                (
                    "fingerprint",
                    models.CharField(max_length=64, verbose_name="账户指纹"),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="签发时间"),
                ),
                (
                    "expires_at",
                    models.DateTimeField(db_index=True, verbose_name="到期时间"),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="用户",
                    ),
                ),
            ],
            options={
                "verbose_name": "API 令牌",
                "verbose_name_plural": "API 令牌",
            },
        ),
        migrations.RunPython(forget_clear_keys, migrations.RunPython.noop),
    ]
