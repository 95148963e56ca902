"""The finance workbook writer: layout, text safety, figures, Chinese capitals."""

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from finance.exports import (
    DisbursementLine,
    FinanceWorkbook,
    FundSheet,
    SpotCheckLine,
    SummaryRow,
    display_width,
    rmb_capitals,
    write_finance_workbook,
)


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "零元整"),
        ("0.05", "伍分"),
        ("0.50", "伍角整"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),
        ("10.50", "壹拾元伍角整"),
        ("100.05", "壹佰元零伍分"),
        ("1001", "壹仟零壹元整"),
        ("1800", "壹仟捌佰元整"),
        ("2700.00", "贰仟柒佰元整"),
        ("1234.56", "壹仟贰佰叁拾肆元伍角陆分"),
        ("10010", "壹万零壹拾元整"),
        ("100000", "壹拾万元整"),
        ("1000001", "壹佰万零壹元整"),
        ("10203040.5", "壹仟零贰拾万叁仟零肆拾元伍角整"),
        ("100000001", "壹亿零壹元整"),
        ("-3.20", "负叁元贰角整"),
    ],
)
def test_amounts_in_chinese_capitals(amount, words):
    assert rmb_capitals(Decimal(amount)) == words


def test_a_chinese_character_counts_double_width():
    assert display_width("阿勒泰ab") == 8


def line(n, **overrides):
    values = dict(
        claim_id=n,
        unit_name="阿勒泰市",
        payee_kind="培训人员",
        payee_name=f"学员{n}",
        id_number_masked="654301********1234",
        institution_name="阿勒泰职业技术学院",
        credit_code="91654301MA0000001X",
        program="9 就业重点群体免费培训",
        trade="中式烹调师",
        level="四级/中级工",
        training_end="2020-03-31",
        amount=Decimal("1800.00"),
        advance=Decimal("720.00"),
        balance=Decimal("1080.00"),
    )
    values.update(overrides)
    return DisbursementLine(**values)


def build(lines, spot=()):
    book = FinanceWorkbook(
        title="阿勒泰地区职业技能提升补贴拨付表",
        quarter="2020Q1",
        generated_at="2020-04-10 10:00",
        checksum="abc123",
        summary=[
            SummaryRow(
                "654301",
                "阿勒泰市",
                "职业技能提升行动专项资金",
                3,
                3,
                2,
                Decimal("5400.00"),
                Decimal("2160.00"),
                Decimal("3240.00"),
            )
        ],
        funds=[FundSheet("special", "职业技能提升行动专项资金", lines)],
        spot_checks=spot,
    )
    out = io.BytesIO()
    write_finance_workbook(book, out)
    out.seek(0)
    return load_workbook(out)


def build_summary_named(unit_name):
    book = FinanceWorkbook(
        title="拨付表",
        quarter="2020Q1",
        generated_at="2020-04-10 10:00",
        checksum="abc123",
        summary=[
            SummaryRow(
                "654301",
                unit_name,
                "职业技能提升行动专项资金",
                1,
                1,
                1,
                Decimal("1.00"),
                Decimal("0.00"),
                Decimal("1.00"),
            )
        ],
        funds=[],
    )
    out = io.BytesIO()
    write_finance_workbook(book, out)
    out.seek(0)
    return load_workbook(out)["汇总"]


def test_sheets_headers_and_frozen_panes():
    wb = build([line(1)])
    assert wb.sheetnames == ["汇总", "职业技能提升行动专项资金", "抽查"]
    fund = wb["职业技能提升行动专项资金"]
    assert fund["A2"].value == "申报编号" and fund.freeze_panes == "A3"
    assert fund.page_setup.orientation == "landscape"
    assert fund.print_title_rows == "$1:$2"  # the title row and the header
    assert wb["汇总"].freeze_panes == "A4"
    assert wb["汇总"].print_title_rows == "$1:$3"


def test_each_sheet_opens_with_a_title_row_naming_quarter_fund_and_unit():
    wb = build([line(1)])
    fund = wb["职业技能提升行动专项资金"]
    title = fund["B1"].value
    assert "2020Q1" in title and "职业技能提升行动专项资金" in title
    assert "金额单位：元" in title
    assert fund["H1"].value == f"{title}（续）"  # the second printed half has it too
    assert "2020Q1" in wb["抽查"]["A1"].value
    assert wb["抽查"]["A2"].value == "单位"
    assert "金额单位：元" in wb["汇总"]["A2"].value


def test_detail_sheets_print_readable_in_two_halves_on_a4_landscape():
    """Fitted to one page's width the fifteen columns printed at about 5 pt: they print
    at 90% in two halves (who is paid, for what), the claim number on both."""
    fund = build([line(1)])["职业技能提升行动专项资金"]
    setup = fund.page_setup
    assert int(setup.paperSize) == 9 and setup.orientation == "landscape"  # A4
    assert int(setup.scale) == 90 and not fund.sheet_properties.pageSetUpPr.fitToPage
    assert setup.pageOrder == "overThenDown"
    assert fund.print_title_cols == "$A:$A"
    assert [b.id for b in fund.col_breaks.brk] == [7]
    assert "&P" in fund.oddFooter.center.text and "&N" in fund.oddFooter.center.text
    # each half's columns fit A4 landscape at 90% (digits of 宋体 11, 7.2 pt each
    # where a wider stand-in font replaces 宋体)
    widths = [fund.column_dimensions[c].width for c in "ABCDEFGHIJKLMNO"]
    printable = (841.9 - 2 * 0.2 * 72) / 0.9
    assert sum(widths[:7]) * 7.2 <= printable
    assert (widths[0] + sum(widths[7:])) * 7.2 <= printable


def test_a_long_name_wraps_onto_a_taller_row():
    long_name = "阿勒泰地区职业技术学院继续教育与职业技能培训中心"
    fund = build([line(1), line(2, institution_name=long_name)])[
        "职业技能提升行动专项资金"
    ]
    assert fund.cell(row=4, column=6).alignment.wrap_text
    assert fund.row_dimensions[3].height is None  # one line: the default height
    assert fund.row_dimensions[4].height >= 2 * 14.5


def test_money_is_numeric_in_yuan_format_and_ids_are_text():
    fund = build([line(1)])["职业技能提升行动专项资金"]
    amount = fund.cell(row=3, column=12)
    assert amount.value == 1800 and amount.number_format == "#,##0.00"
    masked = fund.cell(row=3, column=5)
    assert masked.data_type == "s" and masked.number_format == "@"
    assert fund.cell(row=3, column=4).font.name == "宋体"


@pytest.mark.parametrize(
    "payload", ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\t=1", "\r=1"]
)
def test_user_text_is_never_a_formula(payload):
    fund = build([line(1, payee_name=payload, trade=payload)])[
        "职业技能提升行动专项资金"
    ]
    cell = fund.cell(row=3, column=4)
    assert cell.data_type == "s"
    # a control character is stored as the _xHHHH_ escape Excel and LibreOffice read
    # back (XlsxWriter's inline strings); openpyxl leaves the escape as it is
    assert unescape(cell.value) == payload
    assert cell.quotePrefix is True


RICH_MARKUP = (
    '<r><t>a</t></r></is></c><c r="Z3"><f>1+1</f></c>'
    '<c r="Z4" t="inlineStr"><is><r><t>b</t></r>'
)


@pytest.mark.parametrize("payload", ["<r><t>x</t></r>", RICH_MARKUP])
def test_text_like_the_writers_own_markup_stays_text(payload):
    """XlsxWriter copies a string that starts with <r> and ends with </r> into the
    sheet unescaped (its rich-string markup): such a text must still be just text."""
    fund = build([line(1, payee_name=payload), line(2, payee_name=payload)])[
        "职业技能提升行动专项资金"
    ]
    assert fund.max_column == 15  # no cell injected beside the line
    assert not [c for row in fund.iter_rows() for c in row if c.data_type == "f"]
    cells = [fund.cell(row=r, column=4) for r in (3, 4)]
    assert [c.value for c in cells] == [payload, payload]
    assert all(c.data_type == "s" and c.font.name == "宋体" for c in cells)


def test_summary_text_like_the_writers_own_markup_stays_text():
    summary = build_summary_named(RICH_MARKUP)
    assert summary.max_column == 10
    assert summary["B4"].value == RICH_MARKUP


def test_fund_sheet_total_equals_its_lines():
    lines = [
        line(
            n,
            amount=Decimal("1234.55"),
            advance=Decimal("493.82"),
            balance=Decimal("740.73"),
        )
        for n in range(1, 8)
    ]
    fund = build(lines)["职业技能提升行动专项资金"]
    total = fund.cell(row=10, column=12)
    assert fund.cell(row=10, column=1).value == "合计 7 笔"
    assert Decimal(str(total.value)) == Decimal("8641.85")


def test_summary_has_totals_and_the_amount_in_capitals():
    summary = build([line(1)])["汇总"]
    values = [[c.value for c in row] for row in summary.iter_rows()]
    assert values[4][:3] == [None, "合计", None]
    assert values[4][6] == 5400
    assert values[6][1] == "人民币伍仟肆佰元整"


def test_spot_checks_sheet():
    spot = [
        SpotCheckLine(
            "阿勒泰市",
            7,
            "学员7",
            "654301********1234",
            "9 就业",
            Decimal("1800"),
            "已核准",
            "2020Q1-654301-42",
        )
    ]
    sheet = build([line(1)], spot)["抽查"]
    assert [c.value for c in sheet[3]][:3] == ["阿勒泰市", 7, "学员7"]


def test_each_line_has_its_own_values_and_styles():
    """The writer reuses one set of styled cells for every line: a quoted value must
    not leave its quote prefix on the next line, nor a value linger."""
    lines = [
        line(1, payee_name="=1+1", trade="", amount=Decimal("0.5")),
        line(2, payee_name="学员2", trade="电工"),
        line(3, payee_name="-3", credit_code="+7"),
    ]
    fund = build(lines)["职业技能提升行动专项资金"]
    rows = list(fund.iter_rows(min_row=3, max_row=5))
    assert [r[0].value for r in rows] == [1, 2, 3]
    assert [r[3].value for r in rows] == ["=1+1", "学员2", "-3"]
    assert [r[3].quotePrefix for r in rows] == [True, False, True]
    assert [r[6].quotePrefix for r in rows] == [False, False, True]
    assert [r[8].value for r in rows] == [None, "电工", "中式烹调师"]
    assert all(r[3].data_type == "s" and r[3].number_format == "@" for r in rows)
    assert all(c.font.name == "宋体" and c.font.sz == 11 for r in rows for c in r)
    assert [r[11].value for r in rows] == [0.5, 1800, 1800]
    assert rows[0][11].number_format == "#,##0.00"
    assert rows[0][0].number_format == "0"
