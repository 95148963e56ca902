"""The finance workbook (拨付明细表): plain Python in, an XLSX out.

A leaf: no Django import, no database. The rollup service hands it the figures it
computed in SQL and an iterator of lines; this module only lays them out.

Written with XlsxWriter through its public API only (issue 19):

- ``constant_memory`` mode: each row goes to disk once the next one starts, so 100,000
  lines stream through in constant memory; rows are written once, in order;
- every text cell is written as a string (``write_string``, never ``write``), with
  Excel's quote prefix when it starts with = + - @ TAB or CR, so formula injection is
  impossible (stack.md); a text that XlsxWriter would take for its own rich-string
  markup (``<r>…</r>``) is written as a rich string of its pieces, escaped;
- ID and credit-code columns as text ``@`` (Excel keeps only 15 digits of a number);
- yuan as ``#,##0.00``; 宋体 11, also as the book's default font; widths count a
  Chinese character as 2; frozen header;
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

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

FEN = Decimal("0.01")
YUAN_FORMAT = "#,##0.00"
TEXT_FORMAT = "@"
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")

#: A style: XlsxWriter format properties, as a hashable tuple (one ``Format`` each).
Style = tuple[tuple[str, object], ...]
FONT_NAME = "宋体"
#: 宋体 by its name, not as the theme's font (a theme font is drawn in the theme's
#: Latin font, Calibri, wherever the text is not Chinese)
FONT: Style = (("font_name", FONT_NAME), ("font_size", 11), ("font_scheme", "none"))
BOLD: Style = (*FONT, ("bold", True))
TITLE: Style = (("font_name", FONT_NAME), ("font_size", 14), ("font_scheme", "none"))
TITLE += (("bold", True),)
SUBTITLE: Style = (("font_name", FONT_NAME), ("font_size", 12), ("font_scheme", "none"))
SUBTITLE += (("bold", True),)
HEADER_FILL: Style = (("pattern", 1), ("bg_color", "#DDEBF7"))
TOTAL_FILL: Style = (("pattern", 1), ("bg_color", "#F2F2F2"))
BOX: Style = (("border", 1), ("border_color", "#999999"))
CENTER: Style = (("align", "center"), ("valign", "vcenter"), ("text_wrap", True))
WRAP: Style = (("valign", "top"), ("text_wrap", True))
TOP: Style = (("valign", "top"),)
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


TEXT, INTEGER, MONEY, NUMBER = "text", "integer", "money", "number"
#: the number format of each kind of cell (a NUMBER cell names its own)
KIND_FORMATS = {TEXT: TEXT_FORMAT, INTEGER: "0", MONEY: YUAN_FORMAT}


@dataclass
class Cell:
    """One cell to write: its value, kind and style (font, fill, alignment, border)."""

    value: object
    kind: str = TEXT
    font: Style = FONT
    number_format: str = TEXT_FORMAT
    fill: Style = ()
    alignment: Style = ()
    border: Style = ()


def text_cell(value: object, *, font: Style = FONT) -> Cell:
    """A cell that Excel shows as the text it is, never evaluates."""
    return Cell("" if value is None else str(value), TEXT, font, TEXT_FORMAT)


def money_cell(value: Decimal, *, font: Style = FONT) -> Cell:
    return Cell(value.quantize(FEN, rounding=ROUND_HALF_UP), MONEY, font, YUAN_FORMAT)


def int_cell(value: int, *, font: Style = FONT) -> Cell:
    return Cell(int(value), INTEGER, font, "0")


def number_cell(value: Decimal, number_format: str, *, font: Style = FONT) -> Cell:
    return Cell(value, NUMBER, font, number_format)


def _is_rich_markup(text: str) -> bool:
    """XlsxWriter writes a string that starts with ``<r>`` and ends with ``</r>`` into
    the sheet as it is (its own rich-string markup), unescaped."""
    return text.startswith("<r>") and text.endswith("</r>")


class Book:
    """An XlsxWriter workbook in constant_memory mode, its formats made once each."""

    def __init__(self, target: str | IO[bytes]) -> None:
        self.workbook = Workbook(
            target,
            {
                "constant_memory": True,
                # text is written with write_string only; these keep write() from
                # reading a text as a formula, a link or a number, were it ever used
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                # Excel and LibreOffice measure a column's width in digits of the
                # book's default font: 宋体 11, so the widths below hold in both
                "default_format_properties": dict(FONT),
            },
        )
        self._formats: dict[tuple[Style, str, bool], Format] = {}

    def format(
        self, style: Style, number_format: str, *, quoted: bool = False
    ) -> Format:
        key = (style, number_format, quoted)
        made = self._formats.get(key)
        if made is None:
            properties: dict[str, object] = dict(style)
            properties["num_format"] = number_format
            if quoted:
                properties["quote_prefix"] = True
            made = self._formats[key] = self.workbook.add_format(properties)
        return made

    def cell_format(self, cell: Cell, *, quoted: bool = False) -> Format:
        style = cell.font + cell.fill + cell.alignment + cell.border
        return self.format(style, cell.number_format, quoted=quoted)

    def sheet(self, title: str) -> Sheet:
        return Sheet(self, self.workbook.add_worksheet(title))

    def close(self) -> None:
        self.workbook.close()


class Sheet:
    """A worksheet written row after row: ``append`` writes the next row."""

    def __init__(self, book: Book, worksheet: Worksheet) -> None:
        self.book = book
        self.worksheet = worksheet
        #: the next row to write, 0-based
        self.row = 0

    def height(self, row_number: int, height: float) -> None:
        """The height (pt) of row ``row_number`` (1-based), set before it is written."""
        self.worksheet.set_row(row_number - 1, height)

    def append(self, cells: Sequence[Cell | None]) -> None:
        ws, row, book = self.worksheet, self.row, self.book
        for col, cell in enumerate(cells):
            if cell is None:
                continue
            value = cell.value
            if cell.kind == TEXT:
                text = str(value)
                fmt = book.cell_format(cell, quoted=text.startswith(FORMULA_LEADS))
                write_text(ws, row, col, text, fmt)
            else:  # INTEGER, MONEY, NUMBER: the value as the cell made it
                ws.write_number(row, col, value, book.cell_format(cell))
        self.row += 1


def write_text(ws: Worksheet, row: int, col: int, text: str, fmt: Format) -> None:
    """A string cell (an empty text: a blank cell with the style)."""
    if not text:
        ws.write_blank(row, col, None, fmt)
    elif _is_rich_markup(text):
        # the same text as three escaped pieces (the fewest a rich string takes) in
        # the cell's font, so that it is shown, not parsed
        ws.write_rich_string(
            row, col, fmt, text[:1], fmt, text[1:2], fmt, text[2:], fmt
        )
    else:
        ws.write_string(row, col, text, fmt)


class LineWriter:
    """Writes the lines of a detail sheet: one format per column (plain and quoted),
    made once, and each value written straight through XlsxWriter's typed writers.

    The cells written are the ones :func:`text_cell`, :func:`int_cell` and
    :func:`money_cell` make, a long name wrapping inside its printed column, the line
    reading along its top; a row whose names wrap is made tall enough to print whole.
    """

    def __init__(
        self, sheet: Sheet, kinds: Sequence[str], widths: Sequence[int]
    ) -> None:
        book = sheet.book
        self._sheet = sheet
        self._plain = [
            book.format(FONT + (WRAP if kind == TEXT else TOP), KIND_FORMATS[kind])
            for kind in kinds
        ]
        self._quoted = [
            book.format(FONT + WRAP, TEXT_FORMAT, quoted=True) for _ in kinds
        ]
        self._text = [i for i, kind in enumerate(kinds) if kind == TEXT]
        self._room = {i: max(widths[i] - 1, 1) for i in self._text}
        self._integer = [i for i, kind in enumerate(kinds) if kind == INTEGER]
        self._money = [i for i, kind in enumerate(kinds) if kind == MONEY]

    def __call__(self, values: Sequence[object]) -> None:
        sheet = self._sheet
        ws, row = sheet.worksheet, sheet.row
        plain, quoted, room = self._plain, self._quoted, self._room
        texts = []
        lines = 1
        for i in self._text:
            value = values[i]
            text = "" if value is None else str(value)
            if len(text) * 2 > room[i]:  # may not fit on one line
                lines = max(lines, -(-display_width(text) // room[i]))
            texts.append((i, text))
        if lines > 1:  # a wrapped name: a row tall enough to print it whole
            ws.set_row(row, LINE_HEIGHT * lines + 1)
        write_string = ws.write_string
        for i, text in texts:
            if not text or _is_rich_markup(text):
                write_text(ws, row, i, text, plain[i])
            elif text.startswith(FORMULA_LEADS):
                write_string(row, i, text, quoted[i])
            else:
                write_string(row, i, text, plain[i])
        write_number = ws.write_number
        for i in self._integer:
            write_number(row, i, int(values[i]), plain[i])  # type: ignore[call-overload]
        for i in self._money:
            amount: Decimal = values[i]  # type: ignore[assignment]
            write_number(row, i, amount.quantize(FEN, rounding=ROUND_HALF_UP), plain[i])
        sheet.row = row + 1


def _wrapped(cell: Cell) -> Cell:
    cell.alignment = WRAP
    return cell


def _filled(cells: list[Cell], fill: Style) -> list[Cell]:
    for cell in cells:
        cell.fill = fill
    return cells


def _header(names: Sequence[str]) -> list[Cell]:
    cells = []
    for name in names:
        cell = text_cell(name, font=BOLD)
        cell.fill = HEADER_FILL
        cell.alignment = CENTER
        cell.border = BOX
        cells.append(cell)
    return cells


#: A column width of n digits is stored as n: 7 pixels a digit at Excel's default
#: metrics, the ones XlsxWriter converts with (``set_column`` would add the padding).
DIGIT_PIXELS = 7


def _prepare(sheet: Sheet, widths: Sequence[int], *, header_row: int) -> None:
    """Column widths, frozen header and print set-up: before any row is written.

    The rows down to the header (title and header) repeat on every printed page, the
    sheet is fitted to the page's width and runs down as many pages as it needs, and
    the footer numbers them.
    """
    ws = sheet.worksheet
    for index, width in enumerate(widths):
        ws.set_column_pixels(index, index, width * DIGIT_PIXELS)
    ws.freeze_panes(header_row, 0)
    ws.repeat_rows(0, header_row - 1)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.2, right=0.2, top=0.45, bottom=0.45)
    ws.set_header("", {"margin": 0.2})
    ws.set_footer("&C&9第 &P 页 共 &N 页", {"margin": 0.2})
    ws.center_horizontally()


def _widths(headers: Sequence[str], samples: Sequence[int]) -> list[int]:
    return [max(display_width(h), s) + 2 for h, s in zip(headers, samples, strict=True)]


def lines_needed(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column ``width`` units wide (one for padding)."""
    room = max(int(width) - 1, 1)
    return max(-(-display_width(text) // room), 1)


def _title_row(sheet: Sheet, text: str, *, font: Style = SUBTITLE) -> None:
    sheet.height(1, 22)
    sheet.append([text_cell(text, font=font)])


def _header_row(
    sheet: Sheet, row: int, names: Sequence[str], widths: Sequence[int]
) -> None:
    lines = max(lines_needed(n, w) for n, w in zip(names, widths, strict=True))
    sheet.height(row, LINE_HEIGHT * lines + 2)
    sheet.append(_header(names))


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


def _summary_sheet(wb: Book, book: FinanceWorkbook) -> None:
    ws = wb.sheet("汇总")
    widths = SUMMARY_WIDTHS
    _prepare(ws, widths, header_row=3)
    _title_row(ws, book.title, font=TITLE)
    ws.append(
        [
            text_cell(
                f"季度：{book.quarter}　生成时间：{book.generated_at}"
                f"　校验码：{book.checksum}　金额单位：元",
            )
        ]
    )
    _header_row(ws, 3, SUMMARY_HEADERS, widths)
    counts = [0, 0, 0]  # trained, passed, employed
    sums = [Decimal(0)] * 4  # approved, advance, balance, recovery
    for row in book.summary:
        counts = [
            t + f
            for t, f in zip(
                counts, (row.trained, row.passed, row.employed), strict=True
            )
        ]
        sums = [
            t + f
            for t, f in zip(
                sums,
                (row.approved, row.advance, row.balance, row.recovery),
                strict=True,
            )
        ]
        ws.append(
            [
                text_cell(row.unit_code),
                text_cell(row.unit_name),
                text_cell(row.fund_label),
                int_cell(row.trained),
                int_cell(row.passed),
                int_cell(row.employed),
                money_cell(row.approved),
                money_cell(row.advance),
                money_cell(row.balance),
                money_cell(row.recovery),
            ]
        )
    total_cells = [
        text_cell("", font=BOLD),
        text_cell("合计", font=BOLD),
        text_cell("", font=BOLD),
    ]
    total_cells += [int_cell(t, font=BOLD) for t in counts]
    total_cells += [money_cell(t, font=BOLD) for t in sums]
    ws.append(_filled(total_cells, TOTAL_FILL))
    ws.append([])
    capitals = 3 + len(book.summary) + 3  # title, line, header, rows, total, blank
    label_lines = lines_needed("核准金额合计（大写）", widths[0])
    for row_number in (capitals, capitals + 1):
        ws.height(row_number, LINE_HEIGHT * label_lines + 2)
    ws.append(
        [
            _wrapped(text_cell("核准金额合计（大写）", font=BOLD)),
            text_cell(f"人民币{rmb_capitals(sums[0])}", font=BOLD),
        ]
    )
    ws.append(
        [
            _wrapped(text_cell("待拨余额合计（大写）", font=BOLD)),
            text_cell(f"人民币{rmb_capitals(sums[2])}", font=BOLD),
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


def _fund_sheet(wb: Book, book: FinanceWorkbook, sheet: FundSheet) -> None:
    ws = wb.sheet(sheet.label[:31])
    _prepare(ws, LINE_WIDTHS, header_row=2)
    worksheet = ws.worksheet
    worksheet.set_print_scale(PRINT_SCALE)  # and no longer fitted to the page's width
    worksheet.print_across()  # page order: over, then down
    worksheet.repeat_columns(0)
    worksheet.set_v_pagebreaks([LINE_HALF])
    # the title in B1 (it spreads over the empty cells to its right) and again in
    # the second half's first cell, so that both printed halves carry it
    title = _detail_title(book, f"资金渠道：{sheet.label}")
    ws.height(1, 22)
    ws.append(
        [None, text_cell(title, font=SUBTITLE)]
        + [None] * (LINE_HALF - 2)
        + [text_cell(f"{title}（续）", font=SUBTITLE)]
    )
    _header_row(ws, 2, LINE_HEADERS, LINE_WIDTHS)
    write_line = LineWriter(ws, LINE_KINDS, LINE_WIDTHS)
    amount = advance = balance = recovery = Decimal(0)
    count = 0
    for line in sheet.lines:
        count += 1
        amount += line.amount
        advance += line.advance
        balance += line.balance
        recovery += line.recovery
        write_line(
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
    ws.height(2 + count + 1, LINE_HEIGHT * 2 + 2)
    total = [_wrapped(text_cell(f"合计 {count} 笔", font=BOLD))]
    total += [text_cell("", font=BOLD) for _ in range(10)]
    total += [money_cell(v, font=BOLD) for v in (amount, advance, balance, recovery)]
    ws.append(_filled(total, TOTAL_FILL))


def _spot_sheet(wb: Book, book: FinanceWorkbook) -> None:
    ws = wb.sheet("抽查")
    _prepare(ws, SPOT_WIDTHS, header_row=2)
    _title_row(ws, _detail_title(book, "抽查"))
    _header_row(ws, 2, SPOT_HEADERS, SPOT_WIDTHS)
    write_line = LineWriter(ws, SPOT_KINDS, SPOT_WIDTHS)
    for line in book.spot_checks:
        write_line(
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


def write_finance_workbook(book: FinanceWorkbook, target: str | IO[bytes]) -> None:
    """Stream the workbook to a path or a binary file object."""
    wb = Book(target)
    _summary_sheet(wb, book)
    for sheet in book.funds:
        _fund_sheet(wb, book, sheet)
    _spot_sheet(wb, book)
    wb.close()
