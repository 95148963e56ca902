"""The finance workbook (拨付明细表): plain Python in, an XLSX out.

A leaf: no Django import, no database. The rollup service hands it the figures it
computed in SQL and an iterator of lines; this module only lays them out.

- write_only mode, so 100,000 lines stream through in constant memory;
- every text cell is written as text (``data_type = "s"``) with Excel's quote prefix when
  it starts with = + - @ TAB or CR, so formula injection is impossible (stack.md);
- ID and credit-code columns as text ``@`` (Excel keeps only 15 digits of a number);
- yuan as ``#,##0.00``; 宋体 11; widths count a Chinese character as 2; frozen header;
- printed on A4 landscape, readable: every sheet opens with a title row (the book, the
  quarter, the fund, 金额单位：元) repeated with the header row on every printed page,
  pages numbered "第 N 页 共 M 页"; a fund sheet prints at 90% (9.9 pt) in two halves,
  each one page wide, down as many pages as needed, long names wrapping onto taller rows
  (fitted to one page's width, its fifteen columns printed at about 5 pt).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

FEN = Decimal("0.01")
YUAN_FORMAT = "#,##0.00"
TEXT_FORMAT = "@"
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")

FONT = Font(name="宋体", size=11)
BOLD = Font(name="宋体", size=11, bold=True)
TITLE = Font(name="宋体", size=14, bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
WRAP = Alignment(vertical="top", wrap_text=True)
TOP = Alignment(vertical="top")

SUBTITLE = Font(name="宋体", size=12, bold=True)
#: The height (pt) of one line of 宋体 11; a row whose text wraps gets one per line.
LINE_HEIGHT = 14.5


# --- Figures in ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SummaryRow:
    """One unit × fund of the rollup (figures already summed in SQL)."""

    unit_code: str
    unit_name: str
    fund_label: str
    trained: int
    passed: int
    employed: int
    approved: Decimal
    advance: Decimal
    balance: Decimal
    recovery: Decimal = Decimal(0)


@dataclass(frozen=True)
class DisbursementLine:
    """One approved claim to pay."""

    claim_id: int
    unit_name: str
    payee_kind: str  # 培训机构/企业 · 培训人员 · 学生家庭
    payee_name: str
    id_number_masked: str  # for individuals; "" when the payee is an institution
    institution_name: str
    credit_code: str
    program: str
    trade: str
    level: str
    training_end: str
    amount: Decimal
    advance: Decimal
    balance: Decimal
    #: advanced beyond the approved amount, to be recovered (finance.ledger)
    recovery: Decimal = Decimal(0)


@dataclass(frozen=True)
class SpotCheckLine:
    unit_name: str
    claim_id: int
    trainee_name: str
    id_number_masked: str
    program: str
    amount: Decimal
    status: str
    seed: str


@dataclass(frozen=True)
class FundSheet:
    fund: str
    label: str
    lines: Iterable[DisbursementLine]


@dataclass(frozen=True)
class FinanceWorkbook:
    title: str
    quarter: str
    generated_at: str
    checksum: str
    summary: Sequence[SummaryRow]
    funds: Sequence[FundSheet]
    spot_checks: Iterable[SpotCheckLine] = field(default_factory=list)


# --- Amounts in Chinese capitals (人民币大写) ---------------------------------------------------
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_GROUPS = ("", "万", "亿", "万亿")


def _four_digits(n: int) -> str:
    out, zero = "", False
    for value, unit in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[digit] + unit
    return out


def _integer_capitals(n: int) -> str:
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    out, gap = "", False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            gap = bool(out)
            continue
        if out and (gap or group < 1000):
            out += "零"
        out += _four_digits(group) + _GROUPS[index]
        gap = False
    return out


def rmb_capitals(amount: Decimal) -> str:
    """1234.56 → 壹仟贰佰叁拾肆元伍角陆分; 1000 → 壹仟元整 (《支付结算办法》 usage)."""
    amount = amount.quantize(FEN, rounding=ROUND_HALF_UP)
    if amount < 0:
        return "负" + rmb_capitals(-amount)
    fen_total = int(amount * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    if fen_total == 0:
        return "零元整"
    out = _integer_capitals(yuan) + "元" if yuan else ""
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif yuan and fen:
        out += "零"
    if fen:
        out += _DIGITS[fen] + "分"
    else:
        out += "整"
    return out


# --- Cells ---------------------------------------------------------------------------------
_NOT_IN_SHEET_TITLES = re.compile(r"[\\/?*\[\]:]")


def sheet_title(text: str) -> str:
    """A worksheet name Excel accepts from any text (a unit's name may hold "/" or ":"):
    none of \\ / ? * [ ] :, no apostrophe at either end, at most 31 characters."""
    return _NOT_IN_SHEET_TITLES.sub("_", text)[:31].strip("'") or "表"


def display_width(text: str) -> int:
    """Columns a string takes in Excel: a Chinese (wide) character counts as 2."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def text_cell(
    ws: WriteOnlyWorksheet, value: object, *, font: Font = FONT
) -> WriteOnlyCell:
    """A cell that Excel shows as the text it is, never evaluates."""
    text = "" if value is None else str(value)
    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"
    cell.number_format = TEXT_FORMAT
    if text.startswith(FORMULA_LEADS):
        cell.quotePrefix = True
    cell.font = font
    return cell


def money_cell(
    ws: WriteOnlyWorksheet, value: Decimal, *, font: Font = FONT
) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value.quantize(FEN, rounding=ROUND_HALF_UP))
    cell.number_format = YUAN_FORMAT
    cell.font = font
    return cell


def int_cell(ws: WriteOnlyWorksheet, value: int, *, font: Font = FONT) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=int(value))
    cell.number_format = "0"
    cell.font = font
    return cell


TEXT, INTEGER, MONEY = "text", "integer", "money"


class _StyledCell(Cell):
    """A cell whose style is fixed before it is first written: its style id is looked
    up once (``Cell.style_id`` hashes the style into the workbook's table on each read)."""

    __slots__ = ("style_id",)

    def __init__(self, ws: WriteOnlyWorksheet, column: int, kind: str, quoted: bool):
        # the style as text_cell / int_cell / money_cell set it, on a plain cell first
        plain = WriteOnlyCell(ws)
        plain.font = FONT
        plain.number_format = {TEXT: TEXT_FORMAT, INTEGER: "0", MONEY: YUAN_FORMAT}[
            kind
        ]
        if quoted:
            plain.quotePrefix = True
        # a long name wraps inside its printed column; the line reads along its top
        plain.alignment = WRAP if kind == TEXT else TOP
        super().__init__(ws, row=1, column=column, style_array=plain._style)
        self.style_id = Cell.style_id.fget(self)  # type: ignore[attr-defined,misc]


class _LineCells:
    """The cells of one line, styled once per column and refilled for every line.

    A write_only sheet serializes a row the moment it is appended, so the same cell
    objects can carry each line: no ``Font`` hashed into the workbook's style table for
    every cell (a third of the writer's time at 100,000 lines), no cell built per value.
    The cells written are the ones :func:`text_cell`, :func:`int_cell` and
    :func:`money_cell` make. The sheet is also handed this row ready placed (openpyxl's
    ``_values_to_row`` would try each cell as a value first, fail, and build a spare
    cell after it); any other row goes the ordinary way, and were that private hook
    renamed, this row would too, with the same result.
    """

    def __init__(
        self, ws: WriteOnlyWorksheet, kinds: Sequence[str], widths: Sequence[int]
    ) -> None:
        self._plain = [
            _StyledCell(ws, i, kind, quoted=False) for i, kind in enumerate(kinds, 1)
        ]
        self._quoted = [
            _StyledCell(ws, i, kind, quoted=True) for i, kind in enumerate(kinds, 1)
        ]
        self._text = [i for i, kind in enumerate(kinds) if kind == TEXT]
        self._room = {i: max(widths[i] - 1, 1) for i in self._text}
        self._lines = 1
        self._integer = [i for i, kind in enumerate(kinds) if kind == INTEGER]
        self._money = [i for i, kind in enumerate(kinds) if kind == MONEY]
        self._row: list[Cell] = list(self._plain)
        self._ws = ws
        ws._values_to_row = self._placed  # type: ignore[method-assign]

    def _placed(self, values: Sequence[object], row_idx: int) -> Iterable[object]:
        if values is not self._row:
            return WriteOnlyWorksheet._values_to_row(self._ws, values, row_idx)
        for cell in self._row:
            cell.row = row_idx
        dimensions = self._ws.row_dimensions
        dimensions.pop(row_idx - 1, None)  # written: no need to keep it
        if self._lines > 1:  # a wrapped name: a row tall enough to print it whole
            dimensions[row_idx].height = LINE_HEIGHT * self._lines + 1
        return self._row

    def __call__(self, values: Sequence[object]) -> list[Cell]:
        """The row to append for ``values``; valid until the next call."""
        row, plain, quoted, room = self._row, self._plain, self._quoted, self._room
        lines = 1
        for i in self._text:
            value = values[i]
            text = "" if value is None else str(value)
            if len(text) * 2 > room[i]:  # may not fit on one line
                lines = max(lines, -(-display_width(text) // room[i]))
            cell = quoted[i] if text.startswith(FORMULA_LEADS) else plain[i]
            cell.value = text
            cell.data_type = "s"
            row[i] = cell
        for i in self._integer:
            plain[i].value = int(values[i])  # type: ignore[call-overload]
        for i in self._money:
            amount: Decimal = values[i]  # type: ignore[assignment]
            plain[i].value = amount.quantize(FEN, rounding=ROUND_HALF_UP)
        self._lines = lines
        return row


def _wrapped(cell: WriteOnlyCell) -> WriteOnlyCell:
    cell.alignment = WRAP
    return cell


def _header(ws: WriteOnlyWorksheet, names: Sequence[str]) -> list[WriteOnlyCell]:
    cells = []
    for name in names:
        cell = text_cell(ws, name, font=BOLD)
        cell.fill = HEADER_FILL
        cell.alignment = CENTER
        cell.border = BOX
        cells.append(cell)
    return cells


def _prepare(ws: WriteOnlyWorksheet, widths: Sequence[int], *, header_row: int) -> None:
    """Column widths, frozen header and print set-up: before any row is written.

    The rows down to the header (title and header) repeat on every printed page, the
    sheet is fitted to the page's width and runs down as many pages as it needs, and
    the footer numbers them.
    """
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = f"A{header_row + 1}"
    ws.print_title_rows = f"1:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.2
    ws.page_margins.top = ws.page_margins.bottom = 0.45
    ws.page_margins.header = ws.page_margins.footer = 0.2
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    ws.oddFooter.center.size = 9


def _widths(headers: Sequence[str], samples: Sequence[int]) -> list[int]:
    return [max(display_width(h), s) + 2 for h, s in zip(headers, samples, strict=True)]


def lines_needed(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column ``width`` units wide (one for padding)."""
    room = max(int(width) - 1, 1)
    return max(-(-display_width(text) // room), 1)


def _title_row(ws: WriteOnlyWorksheet, text: str, *, font: Font = SUBTITLE) -> None:
    ws.row_dimensions[1].height = 22
    ws.append([text_cell(ws, text, font=font)])


def _header_row(
    ws: WriteOnlyWorksheet, row: int, names: Sequence[str], widths: Sequence[int]
) -> None:
    lines = max(lines_needed(n, w) for n, w in zip(names, widths, strict=True))
    ws.row_dimensions[row].height = LINE_HEIGHT * lines + 2
    ws.append(_header(ws, names))


def _detail_title(book: FinanceWorkbook, what: str) -> str:
    return f"{book.title}　季度：{book.quarter}　{what}　金额单位：元"


# --- Sheets --------------------------------------------------------------------------------
SUMMARY_HEADERS = (
    "单位代码",
    "单位",
    "资金渠道",
    "培训人数",
    "合格人数",
    "就业人数",
    "核准金额（元）",
    "先行拨付（元）",
    "待拨余额（元）",
    "应追回（元）",
)
LINE_HEADERS = (
    "申报编号",
    "单位",
    "收款方类型",
    "收款方",
    "身份证号（脱敏）",
    "培训机构/企业",
    "统一社会信用代码",
    "项目",
    "职业(工种)",
    "等级",
    "培训结束日期",
    "核准金额（元）",
    "先行拨付（元）",
    "待拨余额（元）",
    "应追回（元）",
)
LINE_KINDS = (INTEGER,) + (TEXT,) * 10 + (MONEY,) * 4
SPOT_HEADERS = (
    "单位",
    "申报编号",
    "姓名",
    "身份证号（脱敏）",
    "项目",
    "核定金额（元）",
    "审核结果",
    "抽样种子",
)
SPOT_KINDS = (TEXT, INTEGER, TEXT, TEXT, TEXT, MONEY, TEXT, TEXT)


def _summary_sheet(wb: Workbook, book: FinanceWorkbook) -> None:
    ws = wb.create_sheet("汇总")
    widths = SUMMARY_WIDTHS
    _prepare(ws, widths, header_row=3)
    _title_row(ws, book.title, font=TITLE)
    ws.append(
        [
            text_cell(
                ws,
                f"季度：{book.quarter}　生成时间：{book.generated_at}"
                f"　校验码：{book.checksum}　金额单位：元",
            )
        ]
    )
    _header_row(ws, 3, SUMMARY_HEADERS, widths)
    totals = [0, 0, 0, Decimal(0), Decimal(0), Decimal(0), Decimal(0)]
    for row in book.summary:
        figures = (
            row.trained,
            row.passed,
            row.employed,
            row.approved,
            row.advance,
            row.balance,
            row.recovery,
        )
        totals = [t + f for t, f in zip(totals, figures, strict=True)]
        ws.append(
            [
                text_cell(ws, row.unit_code),
                text_cell(ws, row.unit_name),
                text_cell(ws, row.fund_label),
                int_cell(ws, row.trained),
                int_cell(ws, row.passed),
                int_cell(ws, row.employed),
                money_cell(ws, row.approved),
                money_cell(ws, row.advance),
                money_cell(ws, row.balance),
                money_cell(ws, row.recovery),
            ]
        )
    total_cells = [
        text_cell(ws, "", font=BOLD),
        text_cell(ws, "合计", font=BOLD),
        text_cell(ws, "", font=BOLD),
    ]
    total_cells += [int_cell(ws, t, font=BOLD) for t in totals[:3]]
    total_cells += [money_cell(ws, t, font=BOLD) for t in totals[3:]]
    for cell in total_cells:
        cell.fill = TOTAL_FILL
    ws.append(total_cells)
    ws.append([])
    capitals = 3 + len(book.summary) + 3  # title, line, header, rows, total, blank
    label_lines = lines_needed("核准金额合计（大写）", widths[0])
    for row_number in (capitals, capitals + 1):
        ws.row_dimensions[row_number].height = LINE_HEIGHT * label_lines + 2
    ws.append(
        [
            _wrapped(text_cell(ws, "核准金额合计（大写）", font=BOLD)),
            text_cell(ws, f"人民币{rmb_capitals(totals[3])}", font=BOLD),
        ]
    )
    ws.append(
        [
            _wrapped(text_cell(ws, "待拨余额合计（大写）", font=BOLD)),
            text_cell(ws, f"人民币{rmb_capitals(totals[5])}", font=BOLD),
        ]
    )


#: The detail sheets print at 90% (宋体 11 → 9.9 pt) in two halves, each one page
#: wide: who is paid (A–G) and for what (H–O), the claim number repeated on both; page
#: order "over, then down", so each half of the same lines follows the other. Fitted to
#: one page's width, the fifteen columns printed at about 5 pt. Widths in digits of
#: 宋体 11 (a Chinese character takes two), each half 122, to fit A4 landscape at 90%
#: also where a wider stand-in font replaces 宋体 (LibreOffice without SimSun). Names
#: wrap onto more lines; numbers and codes keep their line.
PRINT_SCALE = 90
LINE_WIDTHS = (8, 12, 14, 20, 20, 28, 20, 24, 14, 12, 12, 13, 13, 13, 13)
LINE_HALF = 7  # the column after which the second half starts
SPOT_WIDTHS = (12, 8, 10, 20, 30, 14, 10, 20)
#: 126 in all: fitted to the page's width, 宋体 11 prints at 9 pt or more
SUMMARY_WIDTHS = (8, 16, 26, 8, 8, 8, 13, 13, 13, 13)


def _fund_sheet(wb: Workbook, book: FinanceWorkbook, sheet: FundSheet) -> None:
    ws = wb.create_sheet(sheet.label[:31])
    _prepare(ws, LINE_WIDTHS, header_row=2)
    ws.page_setup.scale = PRINT_SCALE
    ws.page_setup.pageOrder = "overThenDown"
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.print_title_cols = "A:A"
    ws.col_breaks.append(Break(id=LINE_HALF))
    # the title in B1 (it spreads over the empty cells to its right) and again in
    # the second half's first cell, so that both printed halves carry it
    title = _detail_title(book, f"资金渠道：{sheet.label}")
    ws.row_dimensions[1].height = 22
    ws.append(
        [None, text_cell(ws, title, font=SUBTITLE)]
        + [None] * (LINE_HALF - 2)
        + [text_cell(ws, f"{title}（续）", font=SUBTITLE)]
    )
    _header_row(ws, 2, LINE_HEADERS, LINE_WIDTHS)
    cells = _LineCells(ws, LINE_KINDS, LINE_WIDTHS)
    amount = advance = balance = recovery = Decimal(0)
    count = 0
    append = ws.append
    for line in sheet.lines:
        count += 1
        amount += line.amount
        advance += line.advance
        balance += line.balance
        recovery += line.recovery
        append(
            cells(
                (
                    line.claim_id,
                    line.unit_name,
                    line.payee_kind,
                    line.payee_name,
                    line.id_number_masked,
                    line.institution_name,
                    line.credit_code,
                    line.program,
                    line.trade,
                    line.level,
                    line.training_end,
                    line.amount,
                    line.advance,
                    line.balance,
                    line.recovery,
                )
            )
        )
    ws.row_dimensions[2 + count + 1].height = LINE_HEIGHT * 2 + 2
    total = [_wrapped(text_cell(ws, f"合计 {count} 笔", font=BOLD))]
    total += [text_cell(ws, "", font=BOLD) for _ in range(10)]
    total += [
        money_cell(ws, v, font=BOLD) for v in (amount, advance, balance, recovery)
    ]
    for cell in total:
        cell.fill = TOTAL_FILL
    ws.append(total)


def _spot_sheet(wb: Workbook, book: FinanceWorkbook) -> None:
    ws = wb.create_sheet("抽查")
    _prepare(ws, SPOT_WIDTHS, header_row=2)
    _title_row(ws, _detail_title(book, "抽查"))
    _header_row(ws, 2, SPOT_HEADERS, SPOT_WIDTHS)
    cells = _LineCells(ws, SPOT_KINDS, SPOT_WIDTHS)
    for line in book.spot_checks:
        ws.append(
            cells(
                (
                    line.unit_name,
                    line.claim_id,
                    line.trainee_name,
                    line.id_number_masked,
                    line.program,
                    line.amount,
                    line.status,
                    line.seed,
                )
            )
        )


def write_finance_workbook(book: FinanceWorkbook, target: str | IO[bytes]) -> None:
    """Stream the workbook to a path or a binary file object."""
    wb = Workbook(write_only=True)
    # The book's default font is 宋体 11 too: Excel and LibreOffice measure a column's
    # width in digits of the default font, so the widths above hold in both.
    wb._fonts = IndexedList([FONT])  # type: ignore[attr-defined]
    wb._named_styles["Normal"].font = FONT  # type: ignore[attr-defined]
    _summary_sheet(wb, book)
    for sheet in book.funds:
        _fund_sheet(wb, book, sheet)
    _spot_sheet(wb, book)
    wb.save(target)
