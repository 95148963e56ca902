"""The result copy: the clerk's own rows with 结果 / 原因 appended, ID numbers masked."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from claims.intake.staging import ImportBatch
from claims.intake.template import (
    COLUMN_BY_KEY,
    FONT_NAME,
    FORMULA_TRIGGERS,
    PAPER_A4,
    column_key,
    display_width,
)
from trainees.id_numbers import mask_id_number, mask_id_numbers_in

RESULT_SHEET = "导入结果"
RESULT_HEADERS = ("结果", "原因")


def result_workbook(batch: ImportBatch) -> bytes:
    """The clerk's rows with 结果 / 原因 appended. Every text is written as text, with a
    quote before a leading = + - @ tab or CR, so no cell can become a formula."""
    sheet = batch.sheet
    by_row = {r.row: r for r in batch.results}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(RESULT_SHEET)
    width = len(sheet.headers)
    font = Font(name=FONT_NAME, size=11)
    bold = Font(name=FONT_NAME, size=11, bold=True)
    red = Font(name=FONT_NAME, size=11, bold=True, color="C00000")
    green = Font(name=FONT_NAME, size=11, bold=True, color="006100")
    formats = {
        index: COLUMN_BY_KEY[key].number_format for key, index in sheet.columns.items()
    }
    for index, header in enumerate([*sheet.headers, *RESULT_HEADERS], start=1):
        key = column_key(header) if index <= width else None
        letter = get_column_letter(index)
        if index == width + 2:
            ws.column_dimensions[letter].width = 80
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

    id_column = sheet.columns.get("id_number")
    current = 0
    for row in sheet.rows:
        while current + 1 < row.number:
            ws.append([])
            current += 1
        current = row.number
        cells = []
        for index, value in enumerate(row.values[:width]):
            if row.kind == "header":
                cells.append(_safe_cell(ws, value, bold))
            elif index == id_column and value is not None:
                # The copy travels (mail, USB sticks): the ID number masked as on the
                # page; the clerk corrects their own original file.
                cells.append(_safe_cell(ws, _masked_cell(value), font))
            else:
                cells.append(_safe_cell(ws, value, font, formats.get(index)))
        cells.extend(_safe_cell(ws, None, font) for _ in range(width - len(cells)))
        if row.kind == "header":
            cells.extend(_safe_cell(ws, h, bold) for h in RESULT_HEADERS)
        elif row.kind == "example":
            cells.append(_safe_cell(ws, "示例行", font))
            cells.append(_safe_cell(ws, "示例行不导入", font))
        elif row.kind == "data":
            result = by_row.get(row.number)
            if result is not None:
                cells.append(
                    _safe_cell(
                        ws,
                        "通过" if result.ok else "不通过",
                        green if result.ok else red,
                    )
                )
                cells.append(_safe_cell(ws, result.reasons, font))
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _masked_cell(value: Any) -> str:
    text = str(value).strip()
    return mask_id_numbers_in(text) if len(text) != 18 else mask_id_number(text)


def _safe_cell(
    ws: Any, value: Any, font: Font, number_format: str | None = None
) -> WriteOnlyCell:
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
