"""Reference data from 阿行办发〔2019〕50号, so that a bare ``migrate`` gives a working system.

This is the only place where the notice's figures (caps, uplift, months, shares, the
yearly limit) are written down; code reads them as dated policy entries. Caps the
notice leaves to other documents (programs 1, 2, 6, 7, 10) are deliberately absent:
an administrator enters them, dated, from the document that sets them.
"""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import migrations

NOTICE = "阿行办发〔2019〕50号"
EFFECTIVE = date(2019, 1, 1)

UNITS = [
    # code, name, is_prefecture, has_national_code
    ("654300", "地区本级", True, True),
    ("654301", "阿勒泰市", False, True),
    ("654321", "布尔津县", False, True),
    ("654322", "富蕴县", False, True),
    ("654323", "福海县", False, True),
    ("654324", "哈巴河县", False, True),
    ("654325", "青河县", False, True),
    ("654326", "吉木乃县", False, True),
    ("654399", "喀纳斯景区管理委员会", False, False),
]

LEVELS = [
    ("primary", "五级/初级工", 5),
    ("intermediate", "四级/中级工", 4),
    ("senior", "三级/高级工", 3),
    ("technician", "二级/技师", 2),
    ("senior_technician", "一级/高级技师", 1),
    ("special_ability", "专项职业能力", None),
    ("training_certificate", "培训合格证", None),
]

S1, S2, S3 = "三(一)", "三(二)", "三(三)"
PROGRAMS = [
    # number, section, name, fund, claimable, subsidy basis, lead units, responsible units
    (
        1,
        S1,
        "开展企业新录用员工岗前培训",
        "employment",
        True,
        "补贴参照《自治区企业新招用人员职业培训补贴办法》（新人社发〔2015〕44号）执行，所需资金从就业专项资金中列支。",
        "地区工业和信息化局、应急管理局",
        "各县(市)人民政府、喀纳斯景区管委会，地区发展和改革委员会、人力资源和社会保障局、住房和城乡建设局、交通运输局、国有资产监督管理委员会、工会",
    ),
    (
        2,
        S1,
        "参保企业在岗职工技能提升培训",
        "unemployment_insurance",
        True,
        "对取得初、中级职业资格证书的，补贴条件标准及资金申请拨付流程按照新人社函〔2018〕441号、阿地人社发〔2019〕46号执行，所需资金从地区失业保险基金中列支。",
        "各县(市)人民政府，地区工业和信息化局、教育局",
        "地区人力资源和社会保障局、发展和改革委员会、住房和城乡建设局、交通运输局、国有资产监督管理委员会、工会",
    ),
    (
        3,
        S1,
        "开展企业职工高技能人才培训",
        "special",
        True,
        "取得高级工以上职业资格证书的，按照高级工、技师、高级技师分别不高于4000元/人、5000元/人、6000元/人的补贴标准给予职业培训补贴，所需经费从职业技能提升行动专项资金中列支。",
        "地区工业和信息化局",
        "地区发展和改革委员会、教育局、住房和城乡建设局、人力资源和社会保障局、交通运输局、国有资产监督管理委员会、工会",
    ),
    (
        4,
        S1,
        "开展企业职工安全技能提升培训",
        "original_channel",
        False,
        "所需资金由行业主管部门按原渠道保障。",
        "地区应急管理局",
        "地区发展和改革委员会、工业和信息化局、住房和城乡建设局、交通运输局、国有资产监督管理委员会、市场监督管理局",
    ),
    (
        5,
        S1,
        "支持帮助困难企业开展技能提升培训",
        "special",
        True,
        "经各县(市)人民政府认定的困难企业，补贴标准按照不超过1800元/职业(工种)执行，所需经费从职业技能提升行动专项资金中列支。",
        "各县(市)人民政府",
        "地区人力资源和社会保障局、发展和改革委员会、工业和信息化局、财政局、国有资产监督管理委员会",
    ),
    (
        6,
        S1,
        "开展企业新型学徒制培训",
        "special",
        True,
        "具体补贴标准及资金申请拨付按照新人社发〔2019〕22号执行，所需经费从职业技能提升行动专项资金中列支。",
        "地区人力资源和社会保障局",
        "地区发展和改革委员会、工业和信息化局、财政局、教育局、国有资产监督管理委员会",
    ),
    (
        7,
        S2,
        "实施新生代农民工职业技能提升计划",
        "special",
        True,
        "对于实现转移就业人员，给予技能培训补贴。补贴标准及资金申请拨付按照阿地人社发〔2018〕125号执行，所需经费从职业技能提升行动专项资金中列支。",
        "地区人力资源和社会保障局、教育局",
        "各县(市)人民政府",
    ),
    (
        8,
        S2,
        "实施新型职业农民技能提升计划",
        "original_channel",
        False,
        "补贴标准及资金申请拨付按原政策执行，所需补贴资金从原渠道保障。",
        "地区农业农村局、林业和草原局",
        "地区人力资源和社会保障局、文化体育广播电视和旅游局、商务局、扶贫开发办公室、妇女联合会",
    ),
    (
        9,
        S2,
        "实施就业重点群体免费职业技能培训计划",
        "special",
        True,
        "实现就业人员按照最高不超过1800元/职业(工种)培训补贴标准给予培训补贴；项目制且培训时间2个月以上的，最高再上浮50%；以工代训最长不超过6个月，每人每月不超过300元。所需经费从职业技能提升行动专项资金中列支。",
        "地区人力资源和社会保障局、工业和信息化局、教育局、财政局、扶贫开发办公室、退役军人事务局、残疾人联合会",
        "各县(市)人民政府",
    ),
    (
        10,
        S3,
        "实施贫困家庭劳动力技能提升计划",
        "employment",
        True,
        "补贴标准及资金申请拨付按照阿地人社发〔2018〕125号执行，经费从就业专项资金中列支，不足部分从职业技能提升行动专项经费中补充。",
        "地区扶贫开发办公室",
        "各县(市)人民政府，地区财政局、农业农村局",
    ),
    (
        11,
        S3,
        "实施技能脱贫千校行动",
        "poverty",
        True,
        "对子女接受技工教育的贫困家庭，给予每生每年3000元补助（新人社发〔2019〕13号），所需资金从扶贫专项资金中列支。",
        "地区人力资源和社会保障局、扶贫开发办公室、财政局",
        "各县(市)人民政府，地区教育局",
    ),
    (
        12,
        S3,
        "持续推进东西部扶贫协作",
        None,
        False,
        "",
        "地区教育局",
        "地区人力资源和社会保障局、农业农村局、扶贫开发办公室",
    ),
    (
        13,
        "四(一)",
        "支持鼓励企业设立职工培训中心、实训中心和教学工厂等培训载体",
        None,
        False,
        "",
        "地区工业和信息化局、工会",
        "地区发展和改革委员会、教育局、财政局、国有资产监督管理委员会、工会",
    ),
    (
        14,
        "四(一)",
        "支持企业设立高技能人才培训基地和技能大师工作室",
        None,
        False,
        "",
        "地区人力资源和社会保障局，各县(市)人民政府",
        "地区财政局、应急管理局、工会",
    ),
    (
        15,
        "四(一)",
        "全面推行企业技能人才自主评价",
        None,
        False,
        "",
        "地区人力资源和社会保障局",
        "地区发展和改革委员会、工业和信息化局",
    ),
    (
        16,
        "四(二)",
        "坚持以服务就业为导向的大规模职业技能培训办学导向",
        None,
        False,
        "",
        "地区教育局",
        "地区人力资源和社会保障局、农业农村局、退役军人事务局",
    ),
    (
        17,
        "四(二)",
        "允许职业院校将一定比例的培训收入纳入学校公用经费",
        None,
        False,
        "",
        "地区教育局",
        "地区人力资源和社会保障局、财政局",
    ),
    (
        18,
        "四(三)",
        "发挥行业协会和民办职业培训机构作用",
        None,
        False,
        "",
        "地区人力资源和社会保障局、民政局、市场监督管理局",
        "地区发展和改革委员会、教育局、财政局",
    ),
    (
        19,
        "四(四)",
        "加强职业技能、通用职业素质及求职能力等综合性培训",
        None,
        False,
        "",
        "地区人力资源和社会保障局",
        "地区工业和信息化局、教育局、住房和城乡建设局、交通运输局、水利局、应急管理局",
    ),
    (
        20,
        "四(四)",
        "坚持需求导向，培训与就业相结合",
        None,
        False,
        "",
        "地区民政局、文化体育广播电视和旅游局、商务局",
        "地区发展和改革委员会、教育局、工业和信息化局、人力资源和社会保障局、住房和城乡建设局、应急管理局、妇女联合会",
    ),
    (
        21,
        "四(五)",
        "支持建设产教融合实训基地和公共实训基地",
        None,
        False,
        "",
        "地区人力资源和社会保障局，各县(市)人民政府",
        "地区发展和改革委员会、教育局、工业和信息化局、住房和城乡建设局、交通运输局、水利局、应急管理局、国有资产监督管理委员会",
    ),
    (
        22,
        "四(五)",
        "加强师资建设",
        None,
        False,
        "",
        "地区人力资源和社会保障局",
        "地区教育局、工业和信息化局",
    ),
    (23, "四(五)", "完善培训统计工作", None, False, "", "", "地区人力资源和社会保障局"),
    (
        24,
        "四(五)",
        "广泛开展职业技能竞赛活动",
        None,
        False,
        "",
        "地区人力资源和社会保障局",
        "地区发展和改革委员会、教育局、工业和信息化局、住房和城乡建设局、交通运输局、应急管理局，地区工会、妇女联合会、残疾人联合会、工商业联合会",
    ),
]

# (program, level, kind, amount, ratio, quantity, clause) — the notice's own figures.
POLICY = [
    (3, "senior", "cap", Decimal("4000.00"), None, None, "三(一)3"),
    (3, "technician", "cap", Decimal("5000.00"), None, None, "三(一)3"),
    (3, "senior_technician", "cap", Decimal("6000.00"), None, None, "三(一)3"),
    (5, None, "cap", Decimal("1800.00"), None, None, "三(一)5"),
    (9, None, "cap", Decimal("1800.00"), None, None, "三(二)9"),
    (9, None, "project_uplift", None, Decimal("0.5000"), None, "三(二)9"),
    (9, None, "work_in_lieu_monthly", Decimal("300.00"), None, None, "三(二)9"),
    (9, None, "work_in_lieu_max_months", None, None, 6, "三(二)9"),
    (11, None, "cap", Decimal("3000.00"), None, None, "三(三)11"),
    (None, None, "advance_ratio", None, Decimal("0.4000"), None, "五(二)"),
    (None, None, "annual_limit", None, None, 3, "五(二)"),
]

# Trades the notice names in item 20 (旅游服务、特色餐饮、旅游讲解员、民宿、家政、养老、
# 托幼、保安、电商、汽修、电工、妇女手工 …).
ITEM_20_PREFIXES = (
    "4-07-04-",
    "4-13-01-03",
    "4-14-06-02",
    "4-03-",
    "4-10-01-",
    "4-07-05-01",
    "4-01-06-",
    "4-12-01-01",
    "6-31-01-03",
    "6-05-01-06",
    "6-09-03-11",
    "6-09-03-12",
    "6-09-03-17",
)

TRADES_CSV = Path(__file__).resolve().parent.parent / "data" / "trades.csv"


def load(apps, schema_editor):
    Unit = apps.get_model("programs", "Unit")
    Level = apps.get_model("programs", "Level")
    Program = apps.get_model("programs", "Program")
    Trade = apps.get_model("programs", "Trade")
    PolicyEntry = apps.get_model("programs", "PolicyEntry")

    for order, (code, name, prefecture, national) in enumerate(UNITS):
        Unit.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "is_prefecture": prefecture,
                "has_national_code": national,
                "sort_order": order,
            },
        )
    for order, (code, name, rank) in enumerate(LEVELS):
        Level.objects.update_or_create(
            code=code, defaults={"name": name, "rank": rank, "sort_order": order}
        )
    for number, section, name, fund, claimable, basis, lead, responsible in PROGRAMS:
        Program.objects.update_or_create(
            number=number,
            defaults={
                "section": section,
                "name": name,
                "fund": fund,
                "claimable": claimable,
                "subsidy_basis": basis,
                "lead_units": lead,
                "responsible_units": responsible,
            },
        )
    with TRADES_CSV.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            lowest = highest = None
            if row["levels"]:
                lowest, highest = (int(x) for x in row["levels"].split("-"))
            edition = row["edition"].split(" ")[0]
            Trade.objects.update_or_create(
                code=row["code"],
                defaults={
                    "name": row["name_zh"],
                    "name_en": row["name_en"],
                    "edition": edition,
                    "lowest_rank": lowest,
                    "highest_rank": highest,
                    "notice_item_20": row["code"].startswith(ITEM_20_PREFIXES),
                    "active": True,
                },
            )
    for program, level, kind, amount, ratio, quantity, clause in POLICY:
        PolicyEntry.objects.get_or_create(
            program_id=program,
            level_id=level,
            kind=kind,
            effective_from=EFFECTIVE,
            defaults={
                "amount": amount,
                "ratio": ratio,
                "quantity": quantity,
                "clause": clause,
                "source_document": NOTICE,
            },
        )


def unload(apps, schema_editor):
    for model in ("PolicyEntry", "Trade", "Program", "Level", "Unit"):
        apps.get_model("programs", model).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("programs", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
