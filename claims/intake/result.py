"""The result copy: the clerk's own rows with 结果 / 原因 / 参考码 appended, ID numbers
masked.

The copy travels (mail, USB sticks), so every cell is masked, not only the ID column: an
ID number anywhere in any cell's text (备注, 其他, a title row, a reason), or a cell
holding one as an 18-digit integer, comes back as its first 6 and last 4 characters
(issue 14, item 2). The clerk may correct the copy itself and upload it again: its
last column, 参考码, gives each masked number back (``references``, issue 15, item 2).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from claims.intake.sheet import SheetData
from claims.intake.staging import ImportBatch
from claims.intake.template import (
    COLUMN_BY_KEY,
    FONT_NAME,
    FORMULA_TRIGGERS,
    PAPER_A4,
    REFERENCE,
    column_key,
    display_width,
)
from trainees.id_numbers import mask_id_number, mask_id_shaped_in

RESULT_SHEET = "导入结果"
RESULT_HEADERS = ("结果", "原因")


def _copied_columns(sheet: SheetData) -> list[int]:
    """The columns of the upload the copy repeats: all but the result columns of an
    earlier copy (结果, 原因, 参考码), which the copy writes afresh at its end."""
    return [
        index
        for index, header in enumerate(sheet.headers)
        if header.strip() not in RESULT_HEADERS and column_key(header) != REFERENCE.key
    ]


def result_workbook(batch: ImportBatch, *, only_failing: bool = False) -> bytes:
    """The clerk's rows with 结果 / 原因 and 参考码 appended (``only_failing``: only the
    refused rows, one after another, to be corrected and uploaded again). Every text is
    written as text, with a quote before a leading = + - @ tab or CR, so no cell can
    become a formula; every ID number is masked, and the 参考码 gives it back on the
    next upload (``references``)."""
    sheet = batch.sheet
    by_row = {r.row: r for r in batch.results}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(RESULT_SHEET)
    copied = _copied_columns(sheet)
    width = len(copied)
    font = Font(name=FONT_NAME, size=11)
    bold = Font(name=FONT_NAME, size=11, bold=True)
    red = Font(name=FONT_NAME, size=11, bold=True, color="C00000")
    green = Font(name=FONT_NAME, size=11, bold=True, color="006100")
    grey = Font(name=FONT_NAME, size=9, color="7F7F7F")
    formats = {
        index: COLUMN_BY_KEY[key].number_format for key, index in sheet.columns.items()
    }
    headers = [sheet.headers[i] for i in copied]
    for index, header in enumerate(
        [*headers, *RESULT_HEADERS, REFERENCE.header], start=1
    ):
        key = column_key(header) if index <= width else None
        letter = get_column_letter(index)
        if index == width + 2:
            ws.column_dimensions[letter].width = 80
        elif index == width + 3:
            ws.column_dimensions[letter].width = 30
        else:
            ws.column_dimensions[letter].width = min(
                50, max(10, display_width(header) + 4, 22 if key == "id_number" else 0)
            )
    ws.freeze_panes = f"A{sheet.header_row + 1}"
    ws.print_options.gridLines = True
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    current = 0
    for row in sheet.rows:
        result = by_row.get(row.number) if row.kind == "data" else None
        if only_failing and (
            row.kind == "example" or (row.kind == "data" and (not result or result.ok))
        ):
            continue
        if only_failing and row.kind == "data":
            current += 1
        else:
            while current + 1 < row.number:
                ws.append([])
                current += 1
            current = row.number
        cells = []
        for index in copied:
            value = row.values[index] if index < len(row.values) else None
            if row.kind == "header":
                cells.append(_safe_cell(ws, value, bold))
            else:
                cells.append(_safe_cell(ws, value, font, formats.get(index)))
        if row.kind == "header":
            cells.extend(_safe_cell(ws, h, bold) for h in RESULT_HEADERS)
            cells.append(_safe_cell(ws, REFERENCE.header, bold))
        elif row.kind == "example":
            cells.append(_safe_cell(ws, "示例行", font))
            cells.append(_safe_cell(ws, "示例行不导入", font))
        elif row.kind == "data" and result is not None:
            cells.append(
                _safe_cell(
                    ws,
                    "通过" if result.ok else "不通过",
                    green if result.ok else red,
                )
            )
            cells.append(_safe_cell(ws, result.reasons, font))
            cells.append(_safe_cell(ws, batch.references.get(row.number), grey))
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def masked_value(value: Any) -> Any:
    """``value`` with every ID number in it masked; an 18-digit number (an ID number
    typed into a number cell) becomes the masked text."""
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and 10**17 <= value < 10**18
        and value == int(value)
    ):
        # Excel keeps 15 digits of a number: what is left still tells the birth date
        return mask_id_number(str(int(value)))
    if isinstance(value, str):
        return mask_id_shaped_in(value)
    return value


def _safe_cell(
    ws: Any, value: Any, font: Font, number_format: str | None = None
) -> WriteOnlyCell:
    value = masked_value(value)
    if isinstance(value, str):
        text = ILLEGAL_CHARACTERS_RE.sub("", value)
        if text.startswith(FORMULA_TRIGGERS):
            text = "'" + text
        cell = WriteOnlyCell(ws, value=text)
        cell.data_type = "s"
        cell.number_format = "@"
    else:
        cell = WriteOnlyCell(ws, value=value)
        if isinstance(value, date | datetime):
            cell.number_format = "yyyy-mm-dd"
        elif number_format and value is not None and number_format != "@":
            cell.number_format = number_format
    cell.font = font
    return cell
