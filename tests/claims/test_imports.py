"""Spreadsheet import: the template, the defences, the row checks, the save, the copy."""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest
from openpyxl import Workbook, load_workbook

from accounts.models import User
from claims import intake, services
from claims.intake.template import institution_label
from claims.models import Claim, ClaimEvent, ImportJob
from tests.factories import InstitutionFactory, TraineeFactory, make_id_number
from trainees.models import Trainee

pytestmark = pytest.mark.django_db

START = reverse("claims_import:start")
TEMPLATE = reverse("claims_import:template")
HEADERS = [c.header for c in intake.COLUMNS]
TRADES = ["4-03-02-01", "6-31-01-03", "4-07-05-01", "4-10-01-05"]


# --- Building workbooks ------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def good_row(person: Trainee, provider: Any, /, **overrides: Any) -> dict[str, Any]:
    """A row program 9's rules accept: 中式烹调师 · 四级/中级工, 1800 yuan, employed."""
    row = {
        "id_number": person.id_number,
        "name": person.name,
        "program": "9 实施就业重点群体免费职业技能培训计划",
        "trade": "4-03-02-01 中式烹调师",
        "level": "四级/中级工",
        "institution": provider.credit_code,
        "training_start": date(2020, 3, 1),
        "training_end": date(2020, 3, 31),
        "project_based": "否",
        "work_in_lieu_months": 0,
        "passed": "是",
        "certificate_number": "CERT-0001",
        "employment": "就业",
        "amount_requested": 1800,
    }
    row.update(overrides)
    return row


def newcomer_row(institution: Any, **overrides: Any) -> dict[str, Any]:
    """A row for a person not yet in the registry: it carries what registering needs."""
    number = make_id_number(date(1995, 2, 3))
    row = good_row(Trainee(id_number=number, name="新学员"), institution)
    row.update(household="农业", groups="建档立卡贫困劳动力、农村转移就业劳动者")
    row.update(overrides)
    return row


def xlsx(
    rows: list[dict[str, Any]],
    *,
    headers: list[str] | None = None,
    text_cells: dict[str, str] | None = None,
    example: bool = True,
) -> bytes:
    """A workbook laid out like the template: header, example row, then ``rows``."""
    headers = headers or HEADERS
    keys = [intake.column_key(h) for h in headers]
    wb = Workbook()
    ws = wb.active
    ws.title = intake.DATA_SHEET
    ws.append(headers)
    if example:
        ws.append(["示例：654301199005170013", "张三"])
    for row in rows:
        ws.append([row.get(k) if k else None for k in keys])
    for coordinate, text in (text_cells or {}).items():
        ws[coordinate].value = text
        ws[coordinate].data_type = "s"  # a text cell, as a clerk's typed text would be
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def rezip(
    data: bytes,
    *,
    replace: dict[str, bytes] | None = None,
    add: dict[str, bytes] | None = None,
) -> bytes:
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info)))
        for name, content in add.items():
            dst.writestr(name, content)
    return out.getvalue()


def upload(
    client: Any, data: bytes, name: str = "申报.xlsx", *, run: bool = True
) -> Any:
    """POST the file; the check queued on commit runs (eager Celery) unless ``run`` is
    False, when it stays queued as behind a busy worker."""
    with TestCase.captureOnCommitCallbacks(execute=run):
        return client.post(START, {"file": SimpleUploadedFile(name, data)})


def checked(client: Any, data: bytes) -> tuple[str, Any]:
    """Upload, follow to the result page; the token and the page."""
    response = upload(client, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    return token, client.get(response["Location"])


def results_of(client: Any, token: str) -> dict[int, intake.RowResult]:
    batch = intake.import_batch(token=token, actor=client.user)
    return {r.row: r for r in batch.results}


def save(client: Any, token: str, mode: str) -> Any:
    return client.post(reverse("claims_import:save", args=[token]), {"mode": mode})


def stored_payloads(media: Path) -> list[Path]:
    folder = media / "imports"
    return list(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def clerk_client(client: Any, clerk: Any) -> Any:
    client.force_login(clerk)
    client.user = clerk
    return client


def codes(result: intake.RowResult) -> list[str]:
    return [p["code"] for p in result.problems]


# --- 1. The template ------------------------------------------------------------------------------
def test_template_downloads_with_headers_drop_downs_and_an_example_row(clerk_client):
    response = clerk_client.get(TEMPLATE)

    assert response.status_code == 200
    assert response["Content-Type"].startswith(intake.XLSX_MAIN.split(".main")[0])
    assert "attachment" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb[intake.DATA_SHEET]
    assert [c.value for c in ws[1]] == HEADERS
    assert {"身份证号码", "姓名", "项目序号", "职业(工种)", "等级", "申请金额"} <= set(
        HEADERS
    )
    assert ws["A2"].value.startswith("示例")
    assert ws["A1"].font.name == "宋体" and ws["A1"].font.size == 11
    assert ws.column_dimensions["A"].number_format == "@"
    assert ws["A2"].number_format == "@"
    assert ws.freeze_panes == "C2"
    assert ws.column_dimensions["H"].width >= len("培训机构统一社会信用代码") * 2
    lists = wb[intake.LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    list_formulas = {
        dv.formula1 for dv in ws.data_validations.dataValidation if dv.type == "list"
    }
    for letter in "ABCDEF":  # programs, trades, levels, employment, yes/no, household
        assert any(f.startswith(f"lists!${letter}$2:") for f in list_formulas), letter
    validated = {
        str(dv.sqref).split(":")[0].rstrip("0123456789")
        for dv in ws.data_validations.dataValidation
        if dv.type == "list"
    }
    for header in ("项目序号", "职业(工种)", "等级", "就业情况", "项目制", "培训合格"):
        assert chr(ord("A") + HEADERS.index(header)) in validated, header
    trades = [c.value for c in lists["B"][1:]]
    assert "4-03-02-01 中式烹调师" in trades
    assert "四级/中级工" in [c.value for c in lists["C"][1:]]
    assert [c.value for c in lists["D"][1:] if c.value] == [
        "就业",
        "自主创业",
        "灵活就业",
        "未就业",
    ]
    assert any(str(v.value).startswith("9 ") for v in lists["A"][1:])
    assert not any(str(v.value).startswith("4 ") for v in lists["A"][1:])  # 原渠道


def test_the_template_filled_in_passes_the_defences_and_the_checks(
    clerk_client, trainee, institution
):
    # given the downloaded template with one row filled in below the example
    wb = load_workbook(io.BytesIO(clerk_client.get(TEMPLATE).content))
    ws = wb[intake.DATA_SHEET]
    row = good_row(trainee, institution)
    for index, column in enumerate(intake.COLUMNS, start=1):
        if column.key in row:
            ws.cell(row=3, column=index, value=row[column.key])
    out = io.BytesIO()
    wb.save(out)
    # when it is uploaded
    token, page = checked(clerk_client, out.getvalue())
    # then the example is skipped and the row passes
    assert page.status_code == 200
    assert list(results_of(clerk_client, token)) == [3]
    assert results_of(clerk_client, token)[3].ok


def test_the_example_row_copied_for_a_real_person_passes(
    clerk_client, trainee, institution
):
    """The new-user review: rows copied from the example (program 9, 项目制 是) were all
    refused — such a claim comes from a class (``class_required``). The example is
    one the rules accept."""
    wb = load_workbook(io.BytesIO(clerk_client.get(TEMPLATE).content))
    ws = wb[intake.DATA_SHEET]
    for index in range(1, ws.max_column + 1):
        ws.cell(row=3, column=index, value=ws.cell(row=2, column=index).value)
    keys = [column.key for column in intake.COLUMNS]
    ws.cell(row=3, column=keys.index("id_number") + 1, value=trainee.id_number)
    ws.cell(row=3, column=keys.index("name") + 1, value=trainee.name)
    ws.cell(
        row=3,
        column=keys.index("institution") + 1,
        value=institution_label(institution),
    )
    out = io.BytesIO()
    wb.save(out)

    token, _ = checked(clerk_client, out.getvalue())

    assert results_of(clerk_client, token)[3].problems == []


def test_the_untouched_template_has_no_data_rows(clerk_client, media):
    assert "没有数据行" in refused(
        clerk_client, clerk_client.get(TEMPLATE).content, media
    )


# --- 2. Checking and saving a good file -----------------------------------------------------------
def test_a_good_file_checks_every_row_and_shows_the_results(
    clerk_client, trainee, institution
):
    other = TraineeFactory(groups=["laid_off"])
    data = xlsx(
        [
            good_row(trainee, institution),
            good_row(
                other, institution, trade="6-31-01-03", amount_requested="1500.50"
            ),
            newcomer_row(institution),
        ]
    )

    token, page = checked(clerk_client, data)

    results = results_of(clerk_client, token)
    assert [r.ok for r in results.values()] == [True, True, True]
    assert results[4].amount == "1500.50"
    assert results[5].registers
    html = page.content.decode()
    assert "通过" in html and "保存为草稿" in html and "直接提交" in html
    assert trainee.id_number_masked in html
    assert trainee.id_number not in html
    assert Claim.objects.count() == 0  # checking stores nothing


def test_saving_as_drafts_stores_every_passing_row_and_registers_newcomers(
    clerk_client, clerk, trainee, institution, media
):
    newcomer = newcomer_row(institution)
    token, _ = checked(
        clerk_client,
        xlsx(
            [good_row(trainee, institution), newcomer, good_row(trainee, institution)]
        ),
    )

    response = save(clerk_client, token, "draft")

    assert response.status_code == 302
    assert response["Location"].startswith("/claims/")
    claims = list(Claim.objects.order_by("id"))
    assert [(c.status, c.unit_id, c.created_by_id) for c in claims] == [
        ("draft", "654301", clerk.pk)
    ] * 2  # the in-file duplicate (row 5) is not saved
    person = Trainee.objects.get(id_number=newcomer["id_number"])
    assert (person.name, person.household, sorted(person.groups)) == (
        "新学员",
        "rural",
        ["poor_labour", "rural_transfer"],
    )
    assert person.registered_by_unit_id == "654301"
    assert list(ClaimEvent.objects.values_list("action", flat=True)) == ["create"] * 2
    assert not stored_payloads(media)  # the kept file is gone once saved


def test_submitting_stores_submitted_claims_with_their_events(
    clerk_client, trainee, institution
):
    token, _ = checked(
        clerk_client,
        xlsx(
            [
                good_row(trainee, institution),
                good_row(trainee, institution, trade="6-31-01-03"),
            ]
        ),
    )

    response = save(clerk_client, token, "submit")

    assert response.status_code == 302
    claims = list(Claim.objects.order_by("id"))
    assert [(c.status, c.limit_year, c.limit_slot) for c in claims] == [
        ("submitted", 2020, 1),
        ("submitted", 2020, 2),
    ]
    assert all(c.amount == Decimal("1800.00") for c in claims)
    events = list(ClaimEvent.objects.order_by("id").values_list("action", "to_status"))
    assert events == [
        ("create", "draft"),
        ("submit", "submitted"),
        ("create", "draft"),
        ("submit", "submitted"),
    ]
    listed = clerk_client.get(response["Location"])
    assert "已从导入文件提交2条申报" in listed.content.decode()


def test_the_same_batch_cannot_be_saved_twice(clerk_client, trainee, institution):
    token, _ = checked(clerk_client, xlsx([good_row(trainee, institution)]))
    assert save(clerk_client, token, "draft").status_code == 302

    assert save(clerk_client, token, "draft").status_code == 404
    assert Claim.objects.count() == 1


# --- 3. Rules across the file and the database ----------------------------------------------------
def test_two_rows_for_one_person_and_trade_level_refuse_the_second(
    clerk_client, trainee, institution
):
    token, page = checked(
        clerk_client,
        xlsx(
            [
                good_row(trainee, institution),
                good_row(trainee, institution, training_end=date(2020, 4, 30)),
            ]
        ),
    )

    results = results_of(clerk_client, token)
    assert results[3].ok
    assert codes(results[4]) == ["duplicate_trade_level"]
    assert "本文件第3行" in results[4].reasons
    assert "五(二)" in page.content.decode()


def test_a_fourth_claim_in_a_year_across_file_and_database_is_refused(
    clerk_client, clerk, trainee, institution, claim_input
):
    # given two live claims of 2020 in the database
    for trade in TRADES[:2]:
        draft = services.claim_create(data=claim_input(trade_id=trade), actor=clerk)
        services.claim_submit(claim_id=draft.pk, actor=clerk)
    # when the file brings two more for 2020 (and one for 2021)
    token, _ = checked(
        clerk_client,
        xlsx(
            [
                good_row(trainee, institution, trade=TRADES[2]),
                good_row(trainee, institution, trade=TRADES[3]),
                good_row(
                    trainee,
                    institution,
                    trade=TRADES[3],
                    training_start=date(2021, 3, 1),
                    training_end=date(2021, 3, 31),
                ),
            ]
        ),
    )
    # then the third of the year passes, the fourth is refused, 2021 is its own year
    results = results_of(clerk_client, token)
    assert results[3].ok
    assert codes(results[4]) == ["annual_limit"]
    assert "3次" in results[4].reasons
    assert results[5].ok


def test_drafts_in_the_database_count_for_nothing(
    clerk_client, clerk, trainee, institution, claim_input
):
    services.claim_create(data=claim_input(), actor=clerk)

    token, _ = checked(clerk_client, xlsx([good_row(trainee, institution)]))

    assert results_of(clerk_client, token)[3].ok


def test_the_rules_of_the_form_apply_to_each_row(clerk_client, trainee, institution):
    token, _ = checked(
        clerk_client,
        xlsx(
            [
                good_row(trainee, institution, amount_requested=5000),
                good_row(trainee, institution, trade=TRADES[1], employment="未就业"),
                good_row(trainee, institution, trade=TRADES[2], program=4),
            ]
        ),
    )

    results = results_of(clerk_client, token)
    assert codes(results[3]) == ["over_cap"]
    assert codes(results[4]) == ["employment_required"]
    assert "program_not_claimable" in codes(results[5])


def test_a_row_for_the_training_a_class_gave_the_person_is_refused(
    clerk_client, clerk, trainee, institution
):
    """The import judges as the form does: a person on an accepted class's roster
    (program 9, this institution, March 2020) is not claimed by a row for that
    training (``class_required``); on a cancelled class's, they are."""
    from classes.models import RosterLine, TrainingClass

    cls = TrainingClass.objects.create(
        institution=institution,
        program_id=9,
        unit_id="654301",
        planned_start=date(2020, 3, 1),
        planned_end=date(2020, 3, 31),
        hours=100,
        location="阿勒泰市职业技能培训中心",
        status="accepted",
        created_by=clerk,
    )
    RosterLine.objects.create(training_class=cls, trainee=trainee)
    token, _ = checked(clerk_client, xlsx([good_row(trainee, institution)]))
    assert codes(results_of(clerk_client, token)[3]) == ["class_required"]

    TrainingClass.objects.filter(pk=cls.pk).update(status="cancelled")
    token, _ = checked(clerk_client, xlsx([good_row(trainee, institution)]))
    assert codes(results_of(clerk_client, token)[3]) == []


def test_a_person_in_the_registry_must_be_named_as_registered(
    clerk_client, trainee, institution
):
    token, _ = checked(
        clerk_client, xlsx([good_row(trainee, institution, name="别的名字")])
    )

    result = results_of(clerk_client, token)[3]
    assert codes(result) == ["name_mismatch"]
    assert trainee.name in result.reasons


def test_a_newcomer_needs_a_household_to_be_registered(clerk_client, institution):
    token, _ = checked(clerk_client, xlsx([newcomer_row(institution, household=None)]))

    assert "户籍类型" in results_of(clerk_client, token)[3].reasons


# --- Per-cell messages ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"id_number": "654301199005170010"}, "校验位错误"),
        ({"id_number": "６５４３０１199005170059"}, "半角数字"),
        ({"id_number": 654301199005170059}, "文本"),
        ({"id_number": "65430119900517"}, "18位"),
        ({"trade": "9-99-99-99 不存在"}, "未知的职业(工种)"),
        ({"level": "特级"}, "未知的等级"),
        ({"program": "99"}, "不是有效的项目序号"),
        ({"institution": "91654301MA0000000X"}, "未找到统一社会信用代码"),
        ({"training_start": "2020年3月1日"}, "不是日期"),
        ({"training_end": "2020-02-30"}, "不是存在的日期"),
        ({"amount_requested": "1800.005"}, "超过两位小数"),
        ({"amount_requested": 1800.005}, "超过两位小数"),
        ({"amount_requested": -1}, "不能为负数"),
        ({"amount_requested": "-1"}, "不能为负数"),
        ({"amount_requested": 0}, "应大于0"),
        ({"amount_requested": "0.00"}, "应大于0"),
        ({"amount_requested": "一千八"}, "不是金额"),
        ({"passed": "也许"}, "应为“是”或“否”"),
        ({"employment": "在家"}, "无效"),
        ({"work_in_lieu_months": "三"}, "整数"),
        ({"name": None}, "【姓名】未填写"),
    ],
)
def test_malformed_cells_give_a_message_naming_the_column(
    clerk_client, trainee, institution, overrides, expected
):
    token, _ = checked(
        clerk_client,
        xlsx(
            [
                good_row(trainee, institution, trade=TRADES[1]),
                good_row(trainee, institution, **overrides),
            ]
        ),
    )

    results = results_of(clerk_client, token)
    assert results[3].ok  # the good row is not disturbed
    assert not results[4].ok
    assert expected in results[4].reasons
    assert "invalid_cell" in codes(results[4])


def test_dates_as_text_and_amounts_as_text_are_read(clerk_client, trainee, institution):
    row = good_row(
        trainee,
        institution,
        training_start="2020-03-01",
        training_end="2020/3/31",
        amount_requested="1,800.00",
        program=9,
        trade="4-03-02-01",
        level="中级工",
    )
    token, _ = checked(clerk_client, xlsx([row]))

    assert results_of(clerk_client, token)[3].ok


def test_an_amount_typed_in_full_width_digits_is_read_as_the_form_reads_it(
    clerk_client, trainee, institution
):
    # observed: "１，８００．００" (a Chinese input method's digits) refused as 不是金额,
    # while the claim form and the API read the same text as 1800.00
    row = good_row(
        trainee,
        institution,
        amount_requested="１，８００．００",
        program=9,
        trade="4-03-02-01",
        level="中级工",
    )
    token, _ = checked(clerk_client, xlsx([row]))

    result = results_of(clerk_client, token)[3]
    assert result.ok, result.reasons


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"training_start": "0001-01-01"}, "培训日期应在2000-01-01至2099-12-31之间"),
        ({"training_end": "9999-12-31"}, "培训日期应在2000-01-01至2099-12-31之间"),
        ({"amount_requested": 1e308}, "金额过大"),
        ({"amount_requested": "1" + "0" * 40}, "金额过大"),
    ],
    ids=["start in year 1", "end in 9999", "1e308", "41 digits"],
)
def test_a_date_or_an_amount_the_form_refuses_is_refused_on_its_row(
    clerk_client, trainee, institution, cells, expected
):
    # the form and the API refuse these; the import saved a claim starting in the
    # year 1, and an amount past 28 digits broke the whole check (InvalidOperation)
    good = good_row(trainee, institution)
    bad = good_row(TraineeFactory(), institution, **cells)
    token, _ = checked(clerk_client, xlsx([good, bad]))

    results = results_of(clerk_client, token)
    assert results[3].ok
    assert not results[4].ok
    assert expected in results[4].reasons, results[4]


# --- 4. Refusing a whole file before parsing: 400 and nothing stored ------------------------------
def refused(client: Any, data: bytes, media: Path, *, name: str = "申报.xlsx") -> str:
    """Refused before parsing (400 on the upload), or by the check (its page says why)."""
    before = Trainee.objects.count()
    response = upload(client, data, name)
    if response.status_code == 302:
        response = client.get(response["Location"])
        assert response.status_code == 200
    else:
        assert response.status_code == 400
    assert Claim.objects.count() == 0
    assert Trainee.objects.count() == before
    assert not stored_payloads(media)
    html = response.content.decode()
    match = re.search(r'data-testid="import-error">(.*?)</div>', html, re.S)
    assert match, html[:3000]
    return re.sub(r"<[^>]+>", "", match[1])


def sheet_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("xl/worksheets/sheet1.xml").decode()


def test_a_zip_bomb_is_refused(clerk_client, trainee, institution, media):
    good = xlsx([good_row(trainee, institution)])
    # 40 MB of sheet XML that deflates to a few dozen KB
    huge = sheet_xml(good).replace(
        "</sheetData>", "<!-- " + "x" * 40_000_000 + " --></sheetData>"
    )
    bomb = rezip(good, replace={"xl/worksheets/sheet1.xml": huge.encode()})
    assert len(bomb) < intake.MAX_UPLOAD_BYTES

    assert "压缩" in refused(clerk_client, bomb, media)


def test_a_file_inflating_past_the_total_limit_is_refused(
    clerk_client, trainee, institution, media
):
    good = xlsx([good_row(trainee, institution)])
    parts = {f"xl/media/pad{n}.xml": b"<a/>" + b" " * 1_000_000 for n in range(60)}

    assert "解压后" in refused(clerk_client, rezip(good, add=parts), media)


def test_a_zip_with_too_many_entries_is_refused(
    clerk_client, trainee, institution, media
):
    good = xlsx([good_row(trainee, institution)])
    parts = {f"xl/media/p{n}.txt": b"x" for n in range(intake.MAX_ENTRIES)}

    assert "部件" in refused(clerk_client, rezip(good, add=parts), media)


def test_xml_with_a_doctype_and_entities_is_refused(
    clerk_client, trainee, institution, media
):
    good = xlsx([good_row(trainee, institution)])
    xml = sheet_xml(good)
    evil = xml.replace(
        "<worksheet",
        '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
        '<!ENTITY lol "lol">]><worksheet',
        1,
    ).replace("CERT-0001", "&xxe;")

    message = refused(
        clerk_client,
        rezip(good, replace={"xl/worksheets/sheet1.xml": evil.encode()}),
        media,
    )
    assert "DOCTYPE" in message


def test_xml_with_a_doctype_in_utf16_is_refused(
    clerk_client, trainee, institution, media
):
    good = xlsx([good_row(trainee, institution)])
    xml = sheet_xml(good).replace("UTF-8", "UTF-16").replace("utf-8", "UTF-16")
    evil = xml.replace(
        "<worksheet", '<!DOCTYPE worksheet [<!ENTITY a "b">]><worksheet', 1
    )

    message = refused(
        clerk_client,
        rezip(good, replace={"xl/worksheets/sheet1.xml": evil.encode("utf-16")}),
        media,
    )
    assert "DOCTYPE" in message


def test_a_workbook_with_macros_is_refused(clerk_client, trainee, institution, media):
    good = xlsx([good_row(trainee, institution)])

    message = refused(
        clerk_client, rezip(good, add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"}), media
    )
    assert "宏" in message


def test_a_macro_enabled_content_type_is_refused(
    clerk_client, trainee, institution, media
):
    good = xlsx([good_row(trainee, institution)])
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        types = z.read("[Content_Types].xml").decode()
    xlsm = types.replace(
        intake.XLSX_MAIN, "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    )

    message = refused(
        clerk_client, rezip(good, replace={"[Content_Types].xml": xlsm.encode()}), media
    )
    assert "宏" in message


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 200,
        "身份证号码,姓名\n654301199005170059,张三\n".encode(),
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500,  # an old .xls
        b"",
    ],
    ids=["png", "csv", "xls", "empty"],
)
def test_a_renamed_non_xlsx_file_is_refused(clerk_client, media, content):
    message = refused(clerk_client, content, media)
    assert "xlsx" in message or "空" in message or "选择" in message


def test_a_zip_that_is_not_a_workbook_is_refused(clerk_client, media):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("word/document.xml", "<w/>")

    assert "工作簿" in refused(clerk_client, out.getvalue(), media)


def test_more_than_5000_rows_are_refused(clerk_client, trainee, institution, media):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(intake.DATA_SHEET)
    ws.append(HEADERS)
    row = good_row(trainee, institution)
    values = [row.get(c.key) for c in intake.COLUMNS]
    for _ in range(intake.MAX_ROWS + 1):
        ws.append(values)
    out = io.BytesIO()
    wb.save(out)

    assert "5000" in refused(clerk_client, out.getvalue(), media)


def test_a_formula_cell_is_refused_naming_the_cell(
    clerk_client, trainee, institution, media
):
    data = xlsx([good_row(trainee, institution, amount_requested="=900*2")])
    letter = chr(ord("A") + HEADERS.index("申请金额"))

    message = refused(clerk_client, data, media)
    assert f"{letter}3" in message and "公式" in message


def test_a_file_over_the_size_limit_is_refused_unread(clerk_client, media):
    data = b"PK" + b"\x00" * intake.MAX_UPLOAD_BYTES

    assert "5MB" in refused(clerk_client, data, media)


def test_a_declared_body_over_the_limit_is_refused_before_reading(clerk_client, media):
    data = b"PK" + b"\x00" * (intake.MAX_UPLOAD_BYTES + 200_000)

    assert "5MB" in refused(clerk_client, data, media)


def test_the_size_limit_also_holds_in_the_service(clerk):
    with pytest.raises(intake.ImportRefused, match="5MB"):
        intake.import_check(
            data=b"\x00" * (intake.MAX_UPLOAD_BYTES + 1),
            filename="a.xlsx",
            actor=clerk,
        )


def test_a_file_without_the_required_columns_is_refused(clerk_client, media):
    data = xlsx([{"id_number": "654301199005170059"}], headers=["身份证号码", "姓名"])

    assert "缺少必填列" in refused(clerk_client, data, media)


# --- 5. All or nothing at save time ---------------------------------------------------------------
@pytest.mark.parametrize("mode", ["draft", "submit"])
def test_a_refusal_at_save_time_stores_nothing_from_the_file(
    clerk_client, other_clerk, trainee, institution, mode
):
    # given a file whose three rows all pass the check, one registering a newcomer
    newcomer = newcomer_row(institution)
    token, _ = checked(
        clerk_client,
        xlsx(
            [
                newcomer,
                good_row(trainee, institution, trade=TRADES[1]),
                good_row(trainee, institution),
            ]
        ),
    )
    assert all(r.ok for r in results_of(clerk_client, token).values())
    # and, between check and save, another unit (where the person lives, 五(二))
    # submits the same trade+level for row 5
    Trainee.objects.filter(pk=trainee.pk).update(residence_unit_id="654322")
    inst_b = InstitutionFactory(unit_id="654322")
    rival = services.claim_create(
        data=services.ClaimInput(
            trainee_id=trainee.pk,
            program_id=9,
            institution_id=inst_b.pk,
            unit_id="654322",
            training_start=date(2020, 3, 1),
            training_end=date(2020, 3, 31),
            amount_requested=Decimal("1800.00"),
            trade_id="4-03-02-01",
            level_id="intermediate",
            passed=True,
            certificate_number="B-1",
            employment="employed",
        ),
        actor=other_clerk,
    )
    services.claim_submit(claim_id=rival.pk, actor=other_clerk)
    events_before = ClaimEvent.objects.count()

    # when the clerk saves
    response = save(clerk_client, token, mode)

    # then nothing from the file is stored, and the page names row 5 and why
    assert response.status_code == 409
    html = response.content.decode()
    assert "第5行" in html and "同一职业同一等级" in html
    assert list(Claim.objects.values_list("pk", flat=True)) == [rival.pk]
    assert ClaimEvent.objects.count() == events_before
    assert not Trainee.objects.filter(id_number=newcomer["id_number"]).exists()
    # and the results shown are judged afresh: row 5 now fails, the others still pass
    results = results_of(clerk_client, token)
    assert [results[3].ok, results[4].ok, results[5].ok] == [True, True, False]


def test_after_a_refused_save_the_remaining_rows_can_be_saved(
    clerk_client, other_clerk, trainee, institution
):
    token, _ = checked(
        clerk_client,
        xlsx(
            [
                good_row(trainee, institution, trade=TRADES[1]),
                good_row(trainee, institution),
            ]
        ),
    )
    inst_b = InstitutionFactory(unit_id="654322")
    rival = services.claim_create(
        data=services.ClaimInput(
            trainee_id=trainee.pk,
            program_id=9,
            institution_id=inst_b.pk,
            unit_id="654322",
            training_start=date(2020, 3, 1),
            training_end=date(2020, 3, 31),
            amount_requested=Decimal("1800.00"),
            trade_id="4-03-02-01",
            level_id="intermediate",
            passed=True,
            certificate_number="B-1",
            employment="employed",
        ),
        actor=other_clerk,
    )
    services.claim_submit(claim_id=rival.pk, actor=other_clerk)
    assert save(clerk_client, token, "submit").status_code == 409

    assert save(clerk_client, token, "submit").status_code == 302
    assert Claim.objects.filter(status="submitted").count() == 2


# --- 6. The result copy ---------------------------------------------------------------------------
def test_the_result_copy_appends_the_result_and_writes_user_text_as_text(
    clerk_client, trainee, institution
):
    name_cell = "B4"
    cert_cell = f"{chr(ord('A') + HEADERS.index('证书编号'))}3"
    data = xlsx(
        [
            good_row(trainee, institution),
            good_row(trainee, institution, trade=TRADES[1]),
        ],
        text_cells={
            name_cell: '=HYPERLINK("http://evil","点我")',
            cert_cell: "@SUM(1+1)",
        },
    )
    token, _ = checked(clerk_client, data)

    response = clerk_client.get(reverse("claims_import:result_xlsx", args=[token]))

    assert response.status_code == 200
    copy = response.content
    assert "<f>" not in sheet_xml(copy) and "<f " not in sheet_xml(copy)
    ws = load_workbook(io.BytesIO(copy)).active
    header = [c.value for c in ws[1]]
    assert header == [*HEADERS, "结果", "原因", "参考码"]
    assert ws[name_cell].data_type == "s"
    assert ws[name_cell].value == '\'=HYPERLINK("http://evil","点我")'
    assert ws[cert_cell].value == "'@SUM(1+1)"
    result_col = len(header) - 2
    assert ws.cell(row=2, column=result_col).value == "示例行"
    assert ws.cell(row=3, column=result_col).value == "不通过"
    assert ws.cell(row=4, column=result_col).value == "不通过"
    assert "不能以" in ws.cell(row=4, column=result_col + 1).value
    # the ID number stays text, masked as on the page (the copy travels; issue 6)
    assert ws["A3"].value == trainee.id_number_masked
    assert ws["A3"].data_type == "s"


def test_the_result_copy_marks_passing_rows(clerk_client, trainee, institution):
    token, _ = checked(clerk_client, xlsx([good_row(trainee, institution)]))

    copy = clerk_client.get(reverse("claims_import:result_xlsx", args=[token])).content

    ws = load_workbook(io.BytesIO(copy)).active
    assert ws.cell(row=3, column=len(HEADERS) + 1).value == "通过"
    assert ws.cell(
        row=3, column=HEADERS.index("培训开始日期") + 1
    ).value.date() == date(2020, 3, 1)


def test_the_result_copy_masks_id_numbers_in_every_column(
    clerk_client, trainee, institution
):
    """Issue 14 (2): 备注 and 其他 holding full ID numbers come back masked too."""
    # given a file with two extra columns that hold other people's full ID numbers
    spouse, child = make_id_number(date(1970, 1, 2)), make_id_number(date(2001, 3, 4))
    headers = [*HEADERS, "备注", "其他"]
    note, other = (f"{chr(ord('A') + len(HEADERS) + i)}3" for i in (0, 1))
    data = xlsx(
        [good_row(trainee, institution)],
        headers=headers,
        text_cells={note: f"配偶{spouse}，子女：{child}", other: child.lower()},
    )
    token, _ = checked(clerk_client, data)

    # when the clerk downloads the result copy
    copy = clerk_client.get(reverse("claims_import:result_xlsx", args=[token])).content

    # then no full number is anywhere in it, and every one is shown masked
    ws = load_workbook(io.BytesIO(copy)).active
    texts = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    for number in (trainee.id_number, spouse, child):
        assert not any(number in t or number.lower() in t for t in texts), number
        assert number.encode() not in _inflated(copy)
    assert ws[note].value == (
        f"配偶{spouse[:6]}********{spouse[-4:]}，子女：{child[:6]}********{child[-4:]}"
    )
    assert ws[other].value == f"{child[:6]}********{child[-4:]}"


def test_an_id_number_typed_as_a_number_in_any_column_is_masked(
    clerk_client, trainee, institution
):
    # a number ending in a digit (one ending in X cannot be typed as a number); the
    # serial is fixed, so the test does not depend on which tests ran before it
    number = next(
        n
        for n in (make_id_number(date(1980, 6, 7), serial=s) for s in range(300, 320))
        if n[-1] != "X"
    )
    headers = [*HEADERS, "备注"]
    note = f"{chr(ord('A') + len(HEADERS))}3"
    wb = load_workbook(
        io.BytesIO(xlsx([good_row(trainee, institution)], headers=headers))
    )
    wb.active[note].value = int(number)  # typed into a number cell
    out = io.BytesIO()
    wb.save(out)
    token, _ = checked(clerk_client, out.getvalue())

    copy = clerk_client.get(reverse("claims_import:result_xlsx", args=[token])).content

    # Excel (and openpyxl) keep a number's first 15 or 16 digits: still the birth date
    kept = str(int(float(number)))
    assert load_workbook(io.BytesIO(copy)).active[note].value == (
        f"{kept[:6]}********{kept[-4:]}"
    )
    assert number[6:14].encode() not in _inflated(copy)


def _inflated(xlsx_bytes: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes)) as z:
        return b"".join(z.read(name) for name in z.namelist())


# --- 7. Who may import ----------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["reviewer", "finance", "auditor", "administrator"])
def test_non_clerks_are_forbidden(client, request, role):
    client.force_login(request.getfixturevalue(role))

    assert client.get(START).status_code == 403
    assert client.get(TEMPLATE).status_code == 403
    assert upload(client, b"PK").status_code == 403


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(START)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_another_clerks_batch_is_not_found(
    clerk_client, client, other_clerk, clerk_same_unit, trainee, institution
):
    token, _ = checked(clerk_client, xlsx([good_row(trainee, institution)]))
    for stranger in (other_clerk, clerk_same_unit):
        client.force_login(stranger)

        assert (
            client.get(reverse("claims_import:result", args=[token])).status_code == 404
        )
        assert (
            client.get(reverse("claims_import:result_xlsx", args=[token])).status_code
            == 404
        )
        assert save(client, token, "submit").status_code == 404
    assert Claim.objects.count() == 0


def test_a_batch_expires_after_an_hour(clerk_client, trainee, institution, monkeypatch):
    token, _ = checked(clerk_client, xlsx([good_row(trainee, institution)]))
    later = time.time() + intake.PAYLOAD_TTL.total_seconds() + 1
    monkeypatch.setattr(time, "time", lambda: later)

    assert (
        clerk_client.get(reverse("claims_import:result", args=[token])).status_code
        == 404
    )
    assert save(clerk_client, token, "draft").status_code == 404


def test_an_expired_batch_copy_is_never_served(
    clerk_client, trainee, institution, monkeypatch
):
    token, _ = checked(clerk_client, xlsx([good_row(trainee, institution)]))
    later = time.time() + intake.PAYLOAD_TTL.total_seconds() + 1
    monkeypatch.setattr(time, "time", lambda: later)

    copy = clerk_client.get(reverse("claims_import:result_xlsx", args=[token]))

    assert copy.status_code == 404


def test_expired_staging_files_are_deleted_by_the_periodic_task(
    clerk_client, trainee, institution, media
):
    """Issue 14 (2): the staging copy (full ID numbers, for the save) is deleted when
    it expires by beat, not only when the next upload happens to purge."""
    from altay_skills.celery import app
    from claims.tasks import PURGE_IMPORTS_TASK

    # given one batch checked two hours ago and one checked just now
    fresh, _ = checked(
        clerk_client, xlsx([good_row(trainee, institution, trade=TRADES[1])])
    )
    old, _ = checked(clerk_client, xlsx([good_row(trainee, institution)]))
    stale = time.time() - 2 * intake.PAYLOAD_TTL.total_seconds()
    for path in stored_payloads(media):
        if old in path.name:
            os.utime(path, (stale, stale))

    # when beat's periodic task runs (no upload in between)
    schedule = [e for e in settings.CELERY_BEAT_SCHEDULE.values()]
    assert PURGE_IMPORTS_TASK in {e["task"] for e in schedule}
    app.loader.import_default_modules()
    app.tasks[PURGE_IMPORTS_TASK].delay()

    # then the expired files are gone and the fresh batch is still there
    names = [p.name for p in stored_payloads(media)]
    assert not any(old in n for n in names), names
    assert any(fresh in n for n in names)
    assert (
        clerk_client.get(reverse("claims_import:result", args=[fresh])).status_code
        == 200
    )


def test_a_malformed_token_is_not_found(clerk_client):
    assert clerk_client.get("/claims/import/not-a-token/").status_code == 404
    assert (
        clerk_client.get("/claims/import/%2E%2E%2Fsecret/result.xlsx").status_code
        == 404
    )


# --- Batches, not rows -------------------------------------------------------------------
def test_the_check_makes_the_same_queries_for_3_rows_as_for_30(clerk, institution):
    def queries_for(count: int) -> int:
        people = [TraineeFactory(groups=["poor_labour"]) for _ in range(count)]
        sheet = intake.read_sheet(xlsx([good_row(p, institution) for p in people]))
        with CaptureQueriesContext(connection) as captured:
            results = intake.check_sheet(sheet, User.objects.get(pk=clerk.pk))
        assert all(r.ok for r in results)
        return len(captured)

    assert queries_for(3) == queries_for(30)


def test_saving_registers_newcomers_in_queries_that_do_not_grow_with_them(
    clerk, institution
):
    """Newcomers are registered in one insert, not nine queries a person (33 s for
    1,000 of them on a million claims); each still gets its birth date, sex and unit."""
    actor = User.objects.get(pk=clerk.pk)

    def save_newcomers(count: int) -> tuple[int, int, list[str]]:
        rows = [newcomer_row(institution) for _ in range(count)]
        batch = intake.import_check(data=xlsx(rows), filename="a.xlsx", actor=actor)
        with CaptureQueriesContext(connection) as captured:
            outcome = intake.import_save(token=batch.token, actor=actor, submit=True)
        assert len(outcome.claims) == count
        return len(captured), outcome.registered, [r["id_number"] for r in rows]

    few, registered_few, _ = save_newcomers(2)
    many, registered_many, numbers = save_newcomers(12)

    assert few == many
    assert (registered_few, registered_many) == (2, 12)
    for person in Trainee.objects.filter(id_number__in=numbers):
        assert (person.birth_date, person.sex) == (date(1995, 2, 3), "M")
        assert person.registered_by_unit_id == "654301"
        assert person.household == "rural"


def test_a_newcomer_registered_by_someone_else_since_the_check_is_not_doubled(
    clerk, institution
):
    from trainees.services import trainee_register

    actor = User.objects.get(pk=clerk.pk)
    rows = [newcomer_row(institution), newcomer_row(institution)]
    batch = intake.import_check(data=xlsx(rows), filename="a.xlsx", actor=actor)
    # another clerk registers the first person between the check and the save
    theirs, _ = trainee_register(
        id_number=rows[0]["id_number"],
        name="新学员",
        household="rural",
        groups=["poor_labour"],
        actor=actor,
    )

    outcome = intake.import_save(token=batch.token, actor=actor, submit=True)

    assert outcome.registered == 1
    assert len(outcome.claims) == 2
    numbers = [r["id_number"] for r in rows]
    assert Trainee.objects.filter(id_number__in=numbers).count() == 2
    assert Claim.objects.filter(trainee=theirs).count() == 1


def test_an_entry_with_an_unsupported_compression_method_is_refused(
    clerk_client, trainee, institution, media
):
    data = bytearray(xlsx([good_row(trainee, institution)]))
    # patch every entry to method 9 (Deflate64), which zipfile cannot read
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (found := data.find(signature, start)) != -1:
            data[found + offset : found + offset + 2] = (9).to_bytes(2, "little")
            start = found + 4

    assert "压缩方式" in refused(clerk_client, bytes(data), media)


# --- Issue 14 (4): what a file may make the server walk, and the check off the web ---------------
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def with_sheet_xml(rows_xml: str, *, prefix: str = "") -> bytes:
    """The template's workbook with its data sheet replaced by ``rows_xml`` (no
    ``<dimension>``), a header row first; ``prefix`` writes every element namespaced."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{SHEET_NS}"' if prefix else f'xmlns="{SHEET_NS}"'
    header = "".join(
        f'<{p}c r="{chr(65 + i)}1" t="inlineStr"><{p}is><{p}t>{h}</{p}t></{p}is></{p}c>'
        for i, h in enumerate(HEADERS)
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f"<{p}worksheet {xmlns}><{p}sheetData>"
        f'<{p}row r="1">{header}</{p}row>{rows_xml}</{p}sheetData></{p}worksheet>'
    )
    base = xlsx([], example=False)
    return rezip(base, replace={"xl/worksheets/sheet1.xml": xml.encode()})


def junk_rows(rows: int, cells: int, *, prefix: str = "") -> str:
    """``rows`` rows of ``cells`` numbers each, right of the template's columns."""
    p = f"{prefix}:" if prefix else ""
    return "".join(
        f'<{p}row r="{r}">'
        + "".join(
            f'<{p}c r="A{chr(65 + i)}{r}"><{p}v>{r + i}</{p}v></{p}c>'
            for i in range(cells)
        )
        + f"</{p}row>"
        for r in range(2, rows + 2)
    )


def test_a_sheet_of_more_cells_than_the_cap_is_refused_unwalked(clerk_client, media):
    """The file of the issue: 99,990 rows × 13 junk cells, no <dimension> (4.3 MB,
    39.5 MB inflated): fewer rows than the row cap, 1.3 million cells."""
    data = with_sheet_xml(junk_rows(99_990, 13))
    assert len(data) < intake.MAX_UPLOAD_BYTES

    message = refused(clerk_client, data, media)

    assert "单元格" in message and str(intake.MAX_CELLS) in message


def test_namespaced_cells_are_counted_too(clerk_client, media, monkeypatch):
    # given cells written with a namespace prefix (<x:c>, valid XML)
    monkeypatch.setattr("claims.intake.sheet.MAX_CELLS", 300)
    data = with_sheet_xml(junk_rows(50, 13, prefix="x"), prefix="x")

    # then they count against the cap as plain ones do
    assert "单元格超过300个" in refused(clerk_client, data, media)


def test_the_walk_counts_cells_again_whatever_the_census_saw(
    clerk_client, media, monkeypatch
):
    # given a count before parsing that saw nothing (a mark split between two chunks)
    monkeypatch.setattr("claims.intake.sheet._census", lambda data: {})
    monkeypatch.setattr("claims.intake.sheet.MAX_CELLS", 300)
    data = with_sheet_xml(junk_rows(50, 13))

    # then walking the sheet refuses it at the same cap
    assert "单元格超过300个" in refused(clerk_client, data, media)


def test_a_sheet_whose_dimension_names_fewer_rows_is_read_by_its_rows(
    clerk_client, trainee, institution
):
    # given three rows in a sheet whose <dimension> says A1:R2 (header and example)
    data = xlsx(
        [good_row(trainee, institution, trade=t) for t in TRADES[:3]], example=False
    )
    xml = sheet_xml(data)
    claimed = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:R2"/>', xml)
    assert claimed != xml
    data = rezip(data, replace={"xl/worksheets/sheet1.xml": claimed.encode()})

    # when it is checked, then every row is read, none silently dropped
    token, _ = checked(clerk_client, data)
    assert sorted(results_of(clerk_client, token)) == [2, 3, 4]


def test_the_upload_answers_before_the_check_and_the_page_shows_its_progress(
    clerk_client, trainee, institution, media
):
    # given an upload whose check has not run yet (the worker busy elsewhere)
    response = upload(clerk_client, xlsx([good_row(trainee, institution)]), run=False)

    # then the answer came at once: the job queued, nothing read or kept but the file
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.status, job.user_id, job.filename) == (
        "queued",
        clerk_client.user.pk,
        "申报.xlsx",
    )
    assert [p.suffix for p in stored_payloads(media)] == [".upload"]
    page = clerk_client.get(response["Location"])
    html = page.content.decode()
    progress_url = reverse("claims_import:progress", args=[job.token])
    assert page.status_code == 200 and "正在检查导入文件" in html
    assert f'hx-get="{progress_url}"' in html and 'data-status="queued"' in html

    # when the task runs
    intake.import_job_run(job_id=job.pk)

    # then the polled part stops polling and reloads the page, which shows the result
    polled = clerk_client.get(progress_url, HTTP_HX_REQUEST="true")
    assert polled["HX-Refresh"] == "true"
    assert "hx-get" not in polled.content.decode()
    job.refresh_from_db()
    assert (job.status, job.progress) == ("ready", 100)
    assert [p.suffix for p in stored_payloads(media)] == [".json"]  # upload deleted
    result = clerk_client.get(response["Location"]).content.decode()
    assert "导入检查结果" in result and "保存为草稿" in result


def test_a_second_upload_while_the_first_is_checked_is_refused_409(
    clerk_client, client, other_clerk, trainee, institution, media
):
    data = xlsx([good_row(trainee, institution)])
    assert upload(clerk_client, data, "第一批.xlsx", run=False).status_code == 302

    second = upload(clerk_client, data, "第二批.xlsx")

    assert second.status_code == 409
    html = second.content.decode()
    assert "第一批.xlsx" in html and "正在检查" in html
    assert ImportJob.objects.filter(user=clerk_client.user).count() == 1
    # another clerk is not held up
    client.force_login(other_clerk)
    assert upload(client, data).status_code == 302
    # and once the first check is done the clerk may upload again
    first = ImportJob.objects.get(user=clerk_client.user)
    intake.import_job_run(job_id=first.pk)
    assert upload(clerk_client, data, "第二批.xlsx").status_code == 302


def test_a_check_whose_task_was_lost_does_not_hold_the_clerk_for_ever(
    clerk_client, trainee, institution
):
    from claims.tasks import purge_expired_imports

    data = xlsx([good_row(trainee, institution)])
    upload(clerk_client, data, run=False)
    lost = ImportJob.objects.get()
    ImportJob.objects.filter(pk=lost.pk).update(
        created_at=lost.created_at - intake.jobs.STALE_AFTER - timedelta(seconds=1)
    )

    purge_expired_imports.delay()

    lost.refresh_from_db()
    assert lost.status == "failed" and "超时" in lost.message
    assert upload(clerk_client, data).status_code == 302


def test_the_reader_reports_its_progress_by_the_rows_of_the_sheet(trainee, institution):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(intake.DATA_SHEET)
    ws.append(HEADERS)
    values = [good_row(trainee, institution).get(c.key) for c in intake.COLUMNS]
    for _ in range(2_499):
        ws.append(values)
    out = io.BytesIO()
    wb.save(out)
    seen: list[tuple[int, int]] = []

    intake.read_sheet(
        out.getvalue(), progress=lambda walked, rows: seen.append((walked, rows))
    )

    assert seen == [(1_000, 2_500), (2_000, 2_500)]


# --- Issue 13: program 1's hire date is a column of its own ----------------------------------
def test_program_1_rows_carry_the_hire_date(clerk_client, trainee):
    from datetime import date as day

    from programs.models import PolicyEntry

    PolicyEntry.objects.create(  # illustrative: program 1's cap is another document's
        program_id=1,
        kind="cap",
        amount=1500,
        effective_from=day(2019, 1, 1),
        effective_to=day(2021, 12, 31),
        clause="三(一)1",
        source_document="（示例）新人社发〔2015〕44号",
        is_demo=True,
    )
    enterprise = InstitutionFactory(kind="enterprise", unit_id="654301")
    base = {
        "program": "1 开展企业新录用员工岗前培训",
        "institution": enterprise.credit_code,
        "employer": enterprise.credit_code,
        "amount_requested": 1500,
    }
    rows = [
        good_row(trainee, enterprise, **base, hire_date=day(2019, 12, 1)),
        good_row(trainee, enterprise, **base, trade=TRADES[1], hire_date=None),
        good_row(trainee, enterprise, **base, trade=TRADES[2], hire_date="2018-01-01"),
    ]

    token, _ = checked(clerk_client, xlsx(rows))

    results = results_of(clerk_client, token)
    assert results[3].ok, results[3].reasons
    assert "入职（录用）日期" in results[4].reasons
    assert "12个月内新招用" in results[5].reasons
