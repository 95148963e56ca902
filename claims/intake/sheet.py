"""Reading the (already inspected) sheet: openpyxl in read_only mode, formula cells
refused, the header found, the example row set apart, at most ``MAX_ROWS`` data rows.

What the parser may be made to walk is capped, cells as well as rows (issue 14, item
4): a workbook of 99,990 rows × 13 junk cells (4.3 MB, 39.5 MB inflated) has no more
rows than ``MAX_SHEET_ROWS`` and took 11 s to walk. Before openpyxl opens the file, its
XML is counted (``_census``: one pass of C-speed ``bytes.count`` over the inflated
parts, about 0.2 s for 40 MB) and a workbook of more than ``MAX_CELLS`` cells is refused
unparsed; while walking, the cells of every row as openpyxl hands them over are counted
against the same cap, so a sheet the count misjudged is refused there. The sheet's
``<dimension>`` is ignored (``reset_dimensions``): openpyxl stops at the row it names,
so a sheet saying A1:R2 silently lost every later row; it is read by its rows.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook

from claims.intake.archive import UNREADABLE_ZIP
from claims.intake.errors import ImportRefused
from claims.intake.template import (
    COLUMN_BY_KEY,
    COLUMNS,
    DATA_SHEET,
    EXAMPLE_MARK,
    MAX_ROWS,
    column_key,
)

logger = logging.getLogger(__name__)

MAX_SHEET_ROWS = 100_000  # rows walked, blank ones included (a sparse-sheet bomb)
MAX_COLUMNS = 100  # columns read; cells further right are never read nor copied
#: Cells in the sheet, blank ones included: the template's 18 columns and a few notes for
#: ``MAX_ROWS`` rows fit twice over; 99,990 rows × 13 junk cells do not.
MAX_CELLS = 200_000
#: How often (rows walked) the reader reports its progress.
PROGRESS_EVERY = 1_000
HEADER_SEARCH_ROWS = 10  # the header may sit below a title row or two


@dataclass
class SheetRow:
    number: int  # the row number in Excel
    values: list[Any]
    kind: str = "data"  # "pre" (above the header) | "header" | "example" | "data"


@dataclass
class SheetData:
    title: str
    header_row: int
    headers: list[str]
    columns: dict[str, int]  # column key → index in a row's values
    rows: list[SheetRow]

    @property
    def data_rows(self) -> list[SheetRow]:
        return [r for r in self.rows if r.kind == "data"]


#: ``progress(rows_walked, rows_in_sheet)``, called every ``PROGRESS_EVERY`` rows.
Progress = Callable[[int, int], None]


def read_sheet(data: bytes, *, progress: Progress | None = None) -> SheetData:
    """Parse the (already inspected) workbook read-only; refuse formula cells and
    sheets of more than ``MAX_CELLS`` cells or ``MAX_SHEET_ROWS`` rows."""
    try:
        rows_of = _census(data)
    except ImportRefused:
        raise
    except UNREADABLE_ZIP:
        raise ImportRefused(
            "无法读取该Excel文件，请用Excel打开检查后重新保存再上传"
        ) from None
    try:
        wb = load_workbook(
            io.BytesIO(data),
            read_only=True,
            data_only=False,
            keep_vba=False,
            keep_links=False,
        )
    except Exception:  # untrusted input meets a third-party parser
        logger.info("import: workbook could not be opened", exc_info=True)
        raise ImportRefused(
            "无法读取该Excel文件，请用Excel打开检查后重新保存再上传"
        ) from None
    try:
        return _read_data_sheet(wb, rows_of, progress)
    except ImportRefused:
        raise
    except Exception:
        logger.info("import: sheet could not be read", exc_info=True)
        raise ImportRefused("无法读取该Excel文件的内容，请检查后重新上传") from None
    finally:
        wb.close()


def _too_many_cells(title: str = "") -> ImportRefused:
    where = f"工作表“{title}”" if title else "文件"
    return ImportRefused(
        f"{where}的单元格超过{MAX_CELLS}个（含空白单元格），未予检查。"
        "请只保留模板各列和需要导入的行，删除多余的行、列、工作表和格式后重新上传"
    )


def _too_many_rows(title: str = "") -> ImportRefused:
    where = f"工作表“{title}”" if title else "文件中的工作表"
    return ImportRefused(f"{where}超过{MAX_SHEET_ROWS}行（含空行），请删除多余的行")


#: How a cell and a row begin in the raw XML, unprefixed or namespaced (``<x:c ``).
_CELL_MARKS = (b"<c ", b"<c>", b":c ", b":c>")
_ROW_MARKS = (b"<row ", b"<row>", b":row ", b":row>")


def _census(data: bytes) -> dict[str, int]:
    """Every XML part's row count (for progress), after refusing a workbook with more
    cells in all than ``MAX_CELLS`` or a part with more rows than ``MAX_SHEET_ROWS``.

    Counted in the raw XML before openpyxl opens the file: opening it read-only already
    parses every sheet without a ``<dimension>`` to its end (18 s for the file of the
    issue on a busy machine). A mark split across two chunks may go uncounted; the walk
    counts again (``_read_data_sheet``).
    """
    rows_of: dict[str, int] = {}
    cells = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for entry in archive.infolist():
            if not entry.filename.lower().endswith(".xml"):
                continue
            rows = 0
            with archive.open(entry) as source:
                while chunk := source.read(1024 * 1024):
                    cells += sum(chunk.count(mark) for mark in _CELL_MARKS)
                    rows += sum(chunk.count(mark) for mark in _ROW_MARKS)
                    if cells > MAX_CELLS:
                        raise _too_many_cells()
                    if rows > MAX_SHEET_ROWS:
                        raise _too_many_rows()
            rows_of[entry.filename] = rows
    return rows_of


def _read_data_sheet(
    wb: Any, rows_of: dict[str, int], progress: Progress | None = None
) -> SheetData:
    sheets = wb.worksheets
    if not sheets:
        raise ImportRefused("文件中没有工作表")
    ws = next((s for s in sheets if s.title == DATA_SHEET), sheets[0])
    # the part openpyxl read the sheet from (an internal, hence the default)
    in_sheet = rows_of.get(str(getattr(ws, "_worksheet_path", "")).lstrip("/"), 0)
    # Read by its rows, whatever its <dimension> says (openpyxl stops at its last row).
    ws.reset_dimensions()
    header_row = 0
    headers: list[str] = []
    columns: dict[str, int] = {}
    rows: list[SheetRow] = []
    data_count = walked = cells_walked = 0
    for row_cells in ws.iter_rows():
        walked += 1
        if walked > MAX_SHEET_ROWS:
            raise _too_many_rows(ws.title)
        cells_walked += max(len(row_cells), 1)
        if cells_walked > MAX_CELLS:
            raise _too_many_cells(ws.title)
        if progress is not None and walked % PROGRESS_EVERY == 0:
            progress(walked, in_sheet)
        values: list[Any] = []
        number = 0
        for cell in row_cells[:MAX_COLUMNS]:
            if cell.data_type == "f":
                raise ImportRefused(
                    f"单元格 {cell.coordinate}（第{cell.row}行）含有公式。"
                    "导入文件不得包含公式，请将公式改为数值（复制后“选择性粘贴—数值”）"
                )
            number = number or getattr(cell, "row", 0)
            value = cell.value
            if isinstance(value, str) and not value.strip():
                value = None
            values.append(value)
        if not any(v is not None for v in values):
            continue
        if not header_row:
            keys = {i: column_key(v) for i, v in enumerate(values)}
            if "id_number" not in keys.values():
                if walked > HEADER_SEARCH_ROWS:
                    raise ImportRefused(
                        "未找到表头：第一行应为列名（如“身份证号码”“姓名”），"
                        "请使用本系统下载的模板"
                    )
                rows.append(SheetRow(number, values, "pre"))
                continue
            header_row = number
            for index, key in keys.items():
                if key is None:
                    continue
                if key in columns:
                    raise ImportRefused(
                        f"列“{COLUMN_BY_KEY[key].header}”出现了两次，请删除重复的列"
                    )
                columns[key] = index
            missing = [c.header for c in COLUMNS if c.required and c.key not in columns]
            if missing:
                raise ImportRefused(f"缺少必填列：{'、'.join(missing)}")
            last = max(i for i, v in enumerate(values) if v is not None)
            headers = [_header_text(v) for v in values[: last + 1]]
            rows.append(SheetRow(number, headers, "header"))
            continue
        # rows come as long as their last cell: pad to the header's width
        values = (values + [None] * len(headers))[: len(headers)]
        known = [
            values[i]
            for key, i in columns.items()
            if i < len(values) and key != "reference"
        ]
        if not any(v is not None for v in known):
            continue  # only the result columns of an earlier copy, or notes
        id_value = values[columns["id_number"]]
        if isinstance(id_value, str) and id_value.strip().startswith(EXAMPLE_MARK):
            rows.append(SheetRow(number, values, "example"))
            continue
        data_count += 1
        if data_count > MAX_ROWS:
            raise ImportRefused(
                f"数据超过{MAX_ROWS}行（已读到第{number}行），请分成多个文件上传"
            )
        rows.append(SheetRow(number, values, "data"))
    if not header_row:
        raise ImportRefused(
            "文件中没有内容：未找到表头（第一行应为列名，如“身份证号码”）"
        )
    if not data_count:
        raise ImportRefused("文件中没有数据行（示例行不导入），请填写后再上传")
    return SheetData(ws.title, header_row, headers, columns, rows)


def _header_text(value: object) -> str:
    if value is None:
        return ""
    return str(value).strip()
