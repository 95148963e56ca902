"""Reading the (already inspected) sheet: openpyxl in read_only mode, formula cells
refused, the header found, the example row set apart, at most ``MAX_ROWS`` data rows."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook

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


def read_sheet(data: bytes) -> SheetData:
    """Parse the (already inspected) workbook read-only; refuse formula cells."""
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
        return _read_data_sheet(wb)
    except ImportRefused:
        raise
    except Exception:
        logger.info("import: sheet could not be read", exc_info=True)
        raise ImportRefused("无法读取该Excel文件的内容，请检查后重新上传") from None
    finally:
        wb.close()


def _read_data_sheet(wb: Any) -> SheetData:
    sheets = wb.worksheets
    if not sheets:
        raise ImportRefused("文件中没有工作表")
    ws = next((s for s in sheets if s.title == DATA_SHEET), sheets[0])
    header_row = 0
    headers: list[str] = []
    columns: dict[str, int] = {}
    rows: list[SheetRow] = []
    data_count = walked = 0
    for cells in ws.iter_rows(max_col=MAX_COLUMNS):
        walked += 1
        if walked > MAX_SHEET_ROWS:
            raise ImportRefused(
                f"工作表“{ws.title}”超过{MAX_SHEET_ROWS}行（含空行），请删除多余的行"
            )
        values: list[Any] = []
        number = 0
        for cell in cells:
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
        values = values[: len(headers)]
        known = [values[i] for i in columns.values() if i < len(values)]
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
