"""Role changes, proposed by one administrator and confirmed by a second (issue 12).

On PostgreSQL a trigger keeps the table append-only in style: no DELETE, and an UPDATE
only closes a proposed change (its status and who confirmed or cancelled it, when);
who, when, from, to and why never change, raw SQL included. TRUNCATE is not blocked
(the test database is flushed with it). SQLite gets no trigger; the model and its
queryset still refuse.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CREATE = [
    """
    CREATE OR REPLACE FUNCTION accounts_rolechange_close_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'role changes are never deleted';
        END IF;
        IF OLD.status <> 'proposed'
           OR NEW.user_id IS DISTINCT FROM OLD.user_id
           OR NEW.from_role IS DISTINCT FROM OLD.from_role
           OR NEW.to_role IS DISTINCT FROM OLD.to_role
           OR NEW.from_unit_id IS DISTINCT FROM OLD.from_unit_id
           OR NEW.to_unit_id IS DISTINCT FROM OLD.to_unit_id
           OR NEW.reason IS DISTINCT FROM OLD.reason
           OR NEW.proposed_by_id IS DISTINCT FROM OLD.proposed_by_id
           OR NEW.proposed_at IS DISTINCT FROM OLD.proposed_at THEN
            RAISE EXCEPTION 'a role change is only ever closed, once';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS accounts_rolechange_close_only ON accounts_rolechange",
    """
    CREATE TRIGGER accounts_rolechange_close_only
        BEFORE UPDATE OR DELETE ON accounts_rolechange
        FOR EACH ROW EXECUTE FUNCTION accounts_rolechange_close_only()
    """,
]

DROP = [
    "DROP TRIGGER IF EXISTS accounts_rolechange_close_only ON accounts_rolechange",
    "DROP FUNCTION IF EXISTS accounts_rolechange_close_only()",
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
        ("accounts", "0003_chinese_constraint_messages"),
        ("programs", "0003_chinese_constraint_messages"),
    ]

    operations = [
        migrations.CreateModel(
            name="RoleChange",
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
                    "from_role",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("county_clerk", "县(市)经办人"),
                            ("prefecture_reviewer", "地区审核人"),
                            ("finance_officer", "财政"),
                            ("auditor", "督查"),
                            ("administrator", "系统管理员"),
                        ],
                        max_length=30,
                        verbose_name="原角色",
                    ),
                ),
                (
                    "to_role",
                    models.CharField(
                        choices=[
                            ("county_clerk", "县(市)经办人"),
                            ("prefecture_reviewer", "地区审核人"),
                            ("finance_officer", "财政"),
                            ("auditor", "督查"),
                            ("administrator", "系统管理员"),
                        ],
                        max_length=30,
                        verbose_name="新角色",
                    ),
                ),
                ("reason", models.TextField(verbose_name="理由")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("proposed", "待确认"),
                            ("confirmed", "已生效"),
                            ("cancelled", "已取消"),
                        ],
                        default="proposed",
                        max_length=10,
                        verbose_name="状态",
                    ),
                ),
                (
                    "proposed_at",
                    models.DateTimeField(
                        auto_now_add=True, db_index=True, verbose_name="提议时间"
                    ),
                ),
                (
                    "confirmed_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="确认时间"
                    ),
                ),
                (
                    "cancelled_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="取消时间"
                    ),
                ),
                (
                    "cancelled_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="取消人",
                    ),
                ),
                (
                    "confirmed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="确认人",
                    ),
                ),
                (
                    "from_unit",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="programs.unit",
                        verbose_name="原单位",
                    ),
                ),
                (
                    "proposed_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="提议人",
                    ),
                ),
                (
                    "to_unit",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="programs.unit",
                        verbose_name="新单位",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="role_changes",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="用户",
                    ),
                ),
            ],
            options={
                "verbose_name": "角色变更",
                "verbose_name_plural": "角色变更",
                "ordering": ["-proposed_at", "-id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("proposed_by", models.F("user")), _negated=True
                        ),
                        name="rolechange_not_proposed_by_user",
                        violation_error_message="不能提议变更本人的角色或单位",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("confirmed_by__isnull", True),
                            models.Q(
                                ("confirmed_by", models.F("proposed_by")), _negated=True
                            ),
                            _connector="OR",
                        ),
                        name="rolechange_confirmer_not_proposer",
                        violation_error_message="提议人不能确认本人提议的角色变更",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("confirmed_by__isnull", True),
                            models.Q(("confirmed_by", models.F("user")), _negated=True),
                            _connector="OR",
                        ),
                        name="rolechange_confirmer_not_user",
                        violation_error_message="不能确认本人的角色变更",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("reason", ""), _negated=True),
                        name="rolechange_reason_required",
                        violation_error_message="请填写变更理由",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("to_role", "county_clerk"), _negated=True),
                            ("to_unit__isnull", False),
                            _connector="OR",
                        ),
                        name="rolechange_clerk_has_unit",
                        violation_error_message="县(市)经办人必须选择所属单位",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("cancelled_at__isnull", True),
                                ("cancelled_by__isnull", True),
                                ("confirmed_at__isnull", True),
                                ("confirmed_by__isnull", True),
                                ("status", "proposed"),
                            ),
                            models.Q(
                                ("cancelled_at__isnull", True),
                                ("cancelled_by__isnull", True),
                                ("confirmed_at__isnull", False),
                                ("confirmed_by__isnull", False),
                                ("status", "confirmed"),
                            ),
                            models.Q(
                                ("cancelled_at__isnull", False),
                                ("cancelled_by__isnull", False),
                                ("confirmed_at__isnull", True),
                                ("confirmed_by__isnull", True),
                                ("status", "cancelled"),
                            ),
                            _connector="OR",
                        ),
                        name="rolechange_status_matches_decision",
                        violation_error_message="角色变更的状态与确认或取消记录不符",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("status", "proposed")),
                        fields=("user",),
                        name="rolechange_one_open_per_user",
                        violation_error_message="该用户已有待确认的角色变更",
                    ),
                ],
            },
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
