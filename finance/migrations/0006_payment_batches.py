"""Payment batches and bank templates (issue 18), with the two example templates: the
rural credit union's subsidy-card (一卡通) CSV in GBK and a fixed-width text file, each
with its result-file template."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _field(name, title, width=0, align="left", pad=" "):
    return {"name": name, "title": title, "width": width, "align": align, "pad": pad}


def templates(apps, schema_editor):
    BankTemplate = apps.get_model("finance", "BankTemplate")
    csv_result = BankTemplate.objects.update_or_create(
        name="农信一卡通回盘（CSV·GBK）",
        defaults={
            "purpose": "result",
            "bank": "xjnx",
            "format": "csv",
            "encoding": "gbk",
            "delimiter": ",",
            "column_titles": True,
            "header": "",
            "trailer": "合计,{count},{total}",
            "date_format": "%Y-%m-%d",
            "amount_unit": "yuan",
            "paid_values": ["成功"],
            "fields": [
                _field("reference", "业务编号"),
                _field("account", "账号"),
                _field("holder", "户名"),
                _field("amount", "金额"),
                _field("status", "处理结果"),
                _field("bank_date", "入账日期"),
                _field("bank_reference", "银行流水号"),
                _field("reason", "失败原因"),
            ],
        },
    )[0]
    BankTemplate.objects.update_or_create(
        name="农信一卡通代发（CSV·GBK）",
        defaults={
            "purpose": "batch",
            "bank": "xjnx",
            "format": "csv",
            "encoding": "gbk",
            "delimiter": ",",
            "column_titles": True,
            "header": "代发批次,{batch},{date},{count},{total}",
            "trailer": "",
            "date_format": "%Y-%m-%d",
            "amount_unit": "yuan",
            "result_template": csv_result,
            "fields": [
                _field("seq", "序号"),
                _field("reference", "业务编号"),
                _field("account", "账号"),
                _field("holder", "户名"),
                _field("amount", "金额"),
                _field("purpose", "用途"),
            ],
        },
    )
    fixed_result = BankTemplate.objects.update_or_create(
        name="定长文本回盘（GBK）",
        defaults={
            "purpose": "result",
            "bank": "other",
            "format": "fixed",
            "encoding": "gbk",
            "delimiter": "",
            "column_titles": False,
            "header": "",
            "trailer": "T{count:0>6}{total:0>15}",
            "date_format": "%Y%m%d",
            "amount_unit": "fen",
            "paid_values": ["S"],
            "fields": [
                _field("reference", "业务编号", 20),
                _field("account", "账号", 32),
                _field("amount", "金额（分）", 15, "right", "0"),
                _field("status", "结果（S成功/F失败）", 1),
                _field("bank_date", "入账日期", 8),
                _field("bank_reference", "银行流水号", 20),
                _field("reason", "失败原因", 40),
            ],
        },
    )[0]
    BankTemplate.objects.update_or_create(
        name="定长文本代发（GBK）",
        defaults={
            "purpose": "batch",
            "bank": "other",
            "format": "fixed",
            "encoding": "gbk",
            "delimiter": "",
            "column_titles": False,
            "header": "H{date}{count:0>6}{total:0>15}",
            "trailer": "",
            "date_format": "%Y%m%d",
            "amount_unit": "fen",
            "result_template": fixed_result,
            "fields": [
                _field("seq", "序号", 6, "right", "0"),
                _field("reference", "业务编号", 20),
                _field("account", "账号", 32),
                _field("holder", "户名", 40),
                _field("amount", "金额（分）", 15, "right", "0"),
            ],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0018_documents"),
        ("finance", "0005_payee_accounts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BankTemplate",
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
                    "name",
                    models.CharField(max_length=100, unique=True, verbose_name="名称"),
                ),
                (
                    "purpose",
                    models.CharField(
                        choices=[("batch", "代发文件"), ("result", "回盘文件")],
                        default="batch",
                        max_length=10,
                        verbose_name="用途",
                    ),
                ),
                ("bank", models.CharField(max_length=20, verbose_name="代发银行")),
                (
                    "format",
                    models.CharField(
                        choices=[
                            ("csv", "CSV"),
                            ("xlsx", "XLSX"),
                            ("fixed", "定长文本"),
                        ],
                        max_length=10,
                        verbose_name="格式",
                    ),
                ),
                (
                    "encoding",
                    models.CharField(
                        choices=[("utf-8", "UTF-8"), ("gbk", "GBK")],
                        max_length=10,
                        verbose_name="编码",
                    ),
                ),
                (
                    "delimiter",
                    models.CharField(
                        blank=True, default=",", max_length=3, verbose_name="分隔符"
                    ),
                ),
                ("fields", models.JSONField(default=list, verbose_name="字段")),
                (
                    "header",
                    models.CharField(blank=True, max_length=200, verbose_name="首行"),
                ),
                (
                    "trailer",
                    models.CharField(blank=True, max_length=200, verbose_name="尾行"),
                ),
                (
                    "column_titles",
                    models.BooleanField(default=False, verbose_name="输出列标题"),
                ),
                (
                    "date_format",
                    models.CharField(
                        default="%Y%m%d", max_length=20, verbose_name="日期格式"
                    ),
                ),
                (
                    "amount_unit",
                    models.CharField(
                        choices=[("yuan", "元（两位小数）"), ("fen", "分（整数）")],
                        default="yuan",
                        max_length=10,
                        verbose_name="金额单位",
                    ),
                ),
                (
                    "paid_values",
                    models.JSONField(
                        blank=True, default=list, verbose_name="表示成功的状态值"
                    ),
                ),
                (
                    "result_template",
                    models.ForeignKey(
                        blank=True,
                        limit_choices_to={"purpose": "result"},
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="finance.banktemplate",
                        verbose_name="回盘模板",
                    ),
                ),
            ],
            options={
                "verbose_name": "银行文件模板",
                "verbose_name_plural": "银行文件模板",
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="PaymentBatch",
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
                        choices=[("advance", "先行拨付"), ("balance", "余额拨付")],
                        max_length=20,
                        verbose_name="类别",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("built", "已生成"),
                            ("sent", "已报送银行"),
                            ("settled", "已回盘"),
                            ("cancelled", "已作废"),
                        ],
                        default="built",
                        max_length=20,
                        verbose_name="状态",
                    ),
                ),
                ("count", models.PositiveIntegerField(verbose_name="笔数")),
                (
                    "total",
                    models.DecimalField(
                        decimal_places=2, max_digits=14, verbose_name="总金额"
                    ),
                ),
                ("sha256", models.CharField(max_length=64, verbose_name="文件摘要")),
                ("content", models.BinaryField(verbose_name="文件内容")),
                ("filename", models.CharField(max_length=120, verbose_name="文件名")),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="生成时间"),
                ),
                (
                    "sent_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="报送时间"
                    ),
                ),
                (
                    "cancelled_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="作废时间"
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="生成人",
                    ),
                ),
                (
                    "rollup",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="batches",
                        to="finance.rollup",
                        verbose_name="汇总",
                    ),
                ),
                (
                    "sent_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="报送人",
                    ),
                ),
                (
                    "template",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="batches",
                        to="finance.banktemplate",
                        verbose_name="银行模板",
                    ),
                ),
            ],
            options={
                "verbose_name": "代发批次",
                "verbose_name_plural": "代发批次",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="PaymentBatchLine",
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
                ("seq", models.PositiveIntegerField(verbose_name="序号")),
                (
                    "kind",
                    models.CharField(
                        choices=[("advance", "先行拨付"), ("balance", "余额拨付")],
                        max_length=20,
                        verbose_name="类别",
                    ),
                ),
                (
                    "amount",
                    models.DecimalField(
                        decimal_places=2, max_digits=14, verbose_name="金额"
                    ),
                ),
                (
                    "reference",
                    models.CharField(
                        max_length=40, unique=True, verbose_name="业务编号"
                    ),
                ),
                ("bank", models.CharField(max_length=20, verbose_name="开户银行")),
                ("account", models.CharField(max_length=32, verbose_name="银行账号")),
                ("holder", models.CharField(max_length=100, verbose_name="户名")),
                (
                    "account_recent",
                    models.BooleanField(default=False, verbose_name="账户近期变更"),
                ),
                ("open", models.BooleanField(default=True, verbose_name="未结")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "待回盘"),
                            ("paid", "已拨付"),
                            ("failed", "拨付失败"),
                            ("cancelled", "已作废"),
                        ],
                        default="pending",
                        max_length=20,
                        verbose_name="结果",
                    ),
                ),
                (
                    "batch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lines",
                        to="finance.paymentbatch",
                        verbose_name="批次",
                    ),
                ),
                (
                    "claim",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="batch_lines",
                        to="claims.claim",
                        verbose_name="申报",
                    ),
                ),
                (
                    "payment",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="batch_line",
                        to="finance.payment",
                        verbose_name="拨付记录",
                    ),
                ),
                (
                    "reissue_of",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="finance.payment",
                        verbose_name="重新拨付自",
                    ),
                ),
            ],
            options={
                "verbose_name": "代发明细",
                "verbose_name_plural": "代发明细",
                "ordering": ["batch_id", "seq"],
            },
        ),
        migrations.CreateModel(
            name="PaymentResult",
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
                    "sha256",
                    models.CharField(
                        max_length=64, unique=True, verbose_name="文件摘要"
                    ),
                ),
                ("content", models.BinaryField(verbose_name="文件内容")),
                ("paid", models.PositiveIntegerField(verbose_name="成功笔数")),
                ("failed", models.PositiveIntegerField(verbose_name="失败笔数")),
                (
                    "total_paid",
                    models.DecimalField(
                        decimal_places=2, max_digits=14, verbose_name="成功金额"
                    ),
                ),
                (
                    "uploaded_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="上传时间"),
                ),
                (
                    "batch",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="results",
                        to="finance.paymentbatch",
                        verbose_name="批次",
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
                "verbose_name": "银行回盘",
                "verbose_name_plural": "银行回盘",
                "ordering": ["-uploaded_at", "-id"],
            },
        ),
        migrations.AddConstraint(
            model_name="paymentbatch",
            constraint=models.CheckConstraint(
                condition=models.Q(("total__gte", 0)), name="batch_total"
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentbatchline",
            constraint=models.UniqueConstraint(
                condition=models.Q(("open", True)),
                fields=("claim", "kind"),
                name="batch_line_once_open",
                violation_error_message="该笔款项已在另一个未结批次中",
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentbatchline",
            constraint=models.UniqueConstraint(
                fields=("batch", "seq"), name="batch_line_seq"
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentbatchline",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="batch_line_positive"
            ),
        ),
        migrations.RunPython(templates, migrations.RunPython.noop),
    ]
