"""Spreadsheet intake: a clerk files many claims at once from an XLSX (issue 3, item 4).

Three steps, each a function here (the import's service module):

1. ``template_workbook`` — the XLSX to fill in: Chinese headers, drop-downs from a hidden
   ``lists`` sheet, one example row (its ID cell starts with "示例" and is never imported).
2. ``import_check`` — the upload is defended *before* parsing (size, a real XLSX zip,
   uncompressed size, entry count, compression ratio, no macros, no DTD/entities), then
   read with openpyxl in read_only mode (formula cells refused, at most ``MAX_ROWS``
   rows). Every row is parsed into ``ClaimInput`` and judged by ``rules.decide`` — the
   same rules as the form — against the database *and* the earlier passing rows of the
   same file, in batches: the catalogue, the people and their history are loaded once
   per file, never per row. The parsed sheet and the results are kept in a file under
   ``MEDIA_ROOT/imports/`` keyed by a random token, bound to the clerk, for one hour.
3. ``import_save`` — the passing rows become drafts or are submitted, all or none: one
   transaction; people not yet registered are registered first (ID-number order), every
   person of the file is locked in id order, the rows are judged again under the locks,
   then each claim goes through ``claim_create`` / ``claim_submit`` (which write the
   audit events). Any refusal rolls everything back and names the row.

A row whose ID number is not in the registry registers that person (name, 户籍类型 and
人员类别 from the row) in the same all-or-nothing transaction; for a person already in
the registry the row's name must match the registered one and the registry is never
changed from a spreadsheet.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import tempfile
import time
import unicodedata
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from xml.parsers import expat

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_xml
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from accounts.models import User
from altay_skills.errors import DomainError, NotFound, PermissionDenied
from altay_skills.plain_text import hidden_character_in
from claims import rules, workflow
from claims.models import Claim, Employment
from claims.selectors import prior_claims_of_many
from claims.services import ClaimInput, claims_create_batch
from programs.models import Institution, Level, Program, Trade, Unit
from programs.selectors import institution_facts, policy_terms, program_facts
from trainees.id_numbers import (
    InvalidIdNumber,
    check_char,
    mask_id_number,
    mask_id_numbers_in,
    parse_id_number,
)
from trainees.models import Group, Household, Trainee
from trainees.services import Newcomer, trainee_register, trainees_register_new

logger = logging.getLogger(__name__)

# --- Limits ---------------------------------------------------------------------------------
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # the file as uploaded
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024  # every entry of the zip, inflated
MAX_ENTRIES = 200  # entries in the zip directory
MAX_RATIO = 100  # inflated / compressed, for an entry above RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024  # small entries may compress as they like
MAX_ROWS = 5_000  # data rows (the example row and blank rows not counted)
MAX_SHEET_ROWS = 100_000  # rows walked, blank ones included (a sparse-sheet bomb)
MAX_COLUMNS = 100  # columns read; cells further right are never read nor copied
HEADER_SEARCH_ROWS = 10  # the header may sit below a title row or two
PAYLOAD_TTL = timedelta(hours=1)
TEMPLATE_ROWS = MAX_ROWS + 1  # validations cover the example row and 5,000 rows

DATA_SHEET = "申报明细"
NOTES_SHEET = "填写说明"
LISTS_SHEET = "lists"
RESULT_SHEET = "导入结果"
EXAMPLE_MARK = "示例"
EXAMPLE_ID = "65430119900517001"  # 17 digits of a made-up person; the check digit added
RESULT_HEADERS = ("结果", "原因")
FONT_NAME = "宋体"
PAPER_A4 = "9"  # the paperSize code of A4 in SpreadsheetML

XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
#: A text cell starting with one of these is a formula to Excel (or to a CSV reader).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}", re.ASCII)
_DATE_TEXT = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})", re.ASCII)
_AMOUNT_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)
_INT_TEXT = re.compile(r"[0-9]+", re.ASCII)
_PROGRAM_TEXT = re.compile(r"\s*([0-9]{1,2})(?![0-9])", re.ASCII)
_GROUP_SPLIT = re.compile(r"[、,，;；/\s]+")
_MAX_AMOUNT = Decimal("9999999999.99")


class ImportRefused(DomainError):
    """The file is refused as a whole (400): nothing is read further, nothing stored."""

    def __init__(self, message: str) -> None:
        super().__init__("import_refused", message)


class ImportSaveFailed(DomainError):
    """Saving refused a row: the whole file was rolled back (409)."""

    status_code = 409

    def __init__(self, row: int | None, problems: list[dict[str, str]]) -> None:
        where = f"第{row}行" if row else "保存时"
        reasons = "；".join(_problem_text(p) for p in problems)
        super().__init__(
            "import_save_failed",
            f"{where}未能保存：{reasons}。本文件的申报一条也未保存。",
        )
        self.row = row
        self.problems = problems


# --- Columns ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    key: str
    header: str
    prompt: str
    required: bool = False  # the column must be present in the file
    aliases: tuple[str, ...] = ()
    number_format: str = "@"


COLUMNS: tuple[Column, ...] = (
    Column("id_number", "身份证号码", "18位居民身份证号码，按文本填写", True),
    Column("name", "姓名", "与身份证一致的姓名", True),
    Column(
        "household",
        "户籍类型",
        "农业或城镇；仅首次登记的人员需填写，已登记人员以登记信息为准",
    ),
    Column(
        "groups",
        "人员类别",
        "仅首次登记的人员需填写，多个类别用顿号“、”分隔，"
        "如：建档立卡贫困劳动力、农村转移就业劳动者",
    ),
    Column("program", "项目序号", "从下拉列表选择，或只填项目序号（如 9）", True),
    Column(
        "trade",
        "职业(工种)",
        "从下拉列表选择，或只填职业编码（如 4-03-02-01）",
        aliases=("职业编码/职业名称", "职业编码", "职业名称", "职业"),
    ),
    Column("level", "等级", "从下拉列表选择", aliases=("职业技能等级",)),
    Column(
        "institution",
        "培训机构统一社会信用代码",
        "开展培训的机构或企业的18位统一社会信用代码",
        True,
    ),
    Column(
        "employer",
        "用人单位统一社会信用代码",
        "以工代训时填写吸纳就业的企业，其他情形可不填",
    ),
    Column(
        "training_start",
        "培训开始日期",
        "日期，如 2020-03-01",
        True,
        number_format="yyyy-mm-dd",
    ),
    Column(
        "training_end",
        "培训结束日期",
        "日期，如 2020-04-30",
        True,
        number_format="yyyy-mm-dd",
    ),
    Column("project_based", "项目制", "是或否，空白视为否", number_format="General"),
    Column(
        "work_in_lieu_months",
        "以工代训月数",
        "以工代训的月数（整数），非以工代训填0或不填",
        number_format="0",
    ),
    Column("passed", "培训合格", "是或否，空白视为否", number_format="General"),
    Column("certificate_number", "证书编号", "取得的证书编号"),
    Column(
        "employment",
        "就业情况",
        "就业、自主创业、灵活就业或未就业，空白视为未就业",
        number_format="General",
    ),
    Column(
        "amount_requested",
        "申请金额",
        "单位：元，最多两位小数",
        True,
        number_format="#,##0.00",
    ),
    Column("phone", "联系电话", "仅首次登记的人员需填写，可不填"),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}

YES_NO = {"是": True, "否": False, "true": True, "false": False, "y": True, "n": False}
EMPLOYMENT_LABELS = {str(label): code for code, label in Employment.choices}
HOUSEHOLD_LABELS = {
    "农业": "rural",
    "农业户籍": "rural",
    "农业户口": "rural",
    "农村": "rural",
    "城镇": "urban",
    "城镇户籍": "urban",
    "城镇户口": "urban",
    "非农业": "urban",
}
GROUP_LABELS: dict[str, str] = {
    **{str(label): code for code, label in Group.choices},
    "贫困劳动力": "poor_labour",
    "建档立卡贫困人口": "poor_labour",
    "农村转移就业劳动力": "rural_transfer",
    "下岗失业人员": "laid_off",
    "转岗职工": "laid_off",
}


def _norm_header(value: object) -> str:
    text = str(value or "")
    text = text.replace("（", "(").replace("）", ")").replace("＊", "*")
    return re.sub(r"[\s*]+", "", text)


_HEADER_KEYS: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, *_column.aliases):
        _HEADER_KEYS[_norm_header(_name)] = _column.key


def _column_key(header: object) -> str | None:
    text = _norm_header(header)
    if not text:
        return None
    if text in _HEADER_KEYS:
        return _HEADER_KEYS[text]
    # "户籍类型(新登记人员填写)": a note in brackets after the header is fine.
    bare = re.sub(r"\([^()]*\)$", "", text)
    return _HEADER_KEYS.get(bare)


def display_width(text: str) -> int:
    """Columns a text takes in Excel: a Chinese (wide) character counts as 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# --- 1. The template -----------------------------------------------------------------------
def template_workbook() -> bytes:
    """The XLSX a clerk fills in, with the catalogue as it stands now."""
    programs = list(Program.objects.filter(claimable=True).order_by("number"))
    trades = list(Trade.objects.filter(active=True).order_by("code"))
    levels = list(Level.objects.order_by("sort_order"))
    lists = {
        "program": [f"{p.number} {p.name}" for p in programs],
        "trade": [f"{t.code} {t.name}" for t in trades],
        "level": [lv.name for lv in levels],
        "employment": list(EMPLOYMENT_LABELS),
        "yes_no": ["是", "否"],
        "household": ["农业", "城镇"],
        "groups": [str(label) for _, label in Group.choices],
    }
    example_program = next((x for x in lists["program"] if x.startswith("9 ")), "9")
    example_trade = next(
        (x for x in lists["trade"] if x.startswith("4-03-02-01 ")),
        lists["trade"][0] if lists["trade"] else "",
    )
    example = {
        "id_number": f"{EXAMPLE_MARK}：{EXAMPLE_ID}{check_char(EXAMPLE_ID)}",
        "name": "张三",
        "household": "农业",
        "groups": "建档立卡贫困劳动力、农村转移就业劳动者",
        "program": example_program,
        "trade": example_trade,
        "level": "四级/中级工",
        "institution": "（培训机构18位代码）",
        "employer": "",
        "training_start": date(2020, 3, 1),
        "training_end": date(2020, 4, 30),
        "project_based": "是",
        "work_in_lieu_months": 0,
        "passed": "是",
        "certificate_number": "S2020-0001",
        "employment": "就业",
        "amount_requested": Decimal("1500.00"),
        "phone": "13900000000",
    }

    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    font = Font(name=FONT_NAME, size=11)
    head_font = Font(name=FONT_NAME, size=11, bold=True)
    required_font = Font(name=FONT_NAME, size=11, bold=True, color="C00000")
    example_font = Font(name=FONT_NAME, size=11, italic=True, color="7F7F7F")
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    example_fill = PatternFill("solid", fgColor="F2F2F2")
    thin = Side(style="thin", color="A6A6A6")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)

    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        head = ws.cell(row=1, column=index, value=column.header)
        head.data_type = "s"
        head.font = required_font if column.required else head_font
        head.fill = head_fill
        head.border = border
        head.alignment = Alignment(horizontal="center", vertical="center")
        value = example[column.key]
        cell = ws.cell(row=2, column=index, value=value)
        cell.font = example_font
        cell.fill = example_fill
        cell.number_format = column.number_format
        if isinstance(value, str):
            cell.data_type = "s"
        sample = value if isinstance(value, str) else str(value)
        width = max(display_width(column.header), display_width(sample), 8) + 2
        if column.key in lists:
            width = max(
                width, min(40, max(map(display_width, lists[column.key]), default=0))
            )
        dimension = ws.column_dimensions[letter]
        dimension.width = min(width, 50)
        # The column's own format: what a clerk types later takes it (ID as text "@").
        dimension.number_format = column.number_format
        dimension.font = font
    ws.row_dimensions[1].height = 22
    ws.freeze_panes = "C2"
    ws.print_options.gridLines = True
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = PAPER_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"

    # The hidden lists the drop-downs read from.
    lists_ws = wb.create_sheet(LISTS_SHEET)
    list_columns = {
        "program": ("A", "项目"),
        "trade": ("B", "职业(工种)"),
        "level": ("C", "等级"),
        "employment": ("D", "就业情况"),
        "yes_no": ("E", "是否"),
        "household": ("F", "户籍类型"),
        "groups": ("G", "人员类别"),
    }
    for name, (letter, title) in list_columns.items():
        lists_ws[f"{letter}1"] = title
        for offset, text in enumerate(lists[name], start=2):
            cell = lists_ws[f"{letter}{offset}"]
            cell.value = text
            cell.data_type = "s"
        lists_ws.column_dimensions[letter].width = 40 if name == "trade" else 20
    lists_ws.sheet_state = "hidden"

    def list_range(name: str) -> str:
        letter = list_columns[name][0]
        return f"{LISTS_SHEET}!${letter}$2:${letter}${max(2, len(lists[name]) + 1)}"

    def validate(key: str, formula: str, *, strict: bool) -> None:
        column = COLUMN_BY_KEY[key]
        letter = get_column_letter(COLUMNS.index(column) + 1)
        dv = DataValidation(
            type="list",
            formula1=formula,
            allow_blank=True,
            showDropDown=False,  # False shows the arrow (the attribute's name misleads)
            showInputMessage=True,
            showErrorMessage=True,
            errorStyle="stop" if strict else "warning",
            promptTitle=column.header,
            prompt=column.prompt[:255],
            errorTitle="请从下拉列表选择",
            error=f"“{column.header}”请从下拉列表中选择。",
        )
        dv.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
        ws.add_data_validation(dv)

    validate("program", list_range("program"), strict=False)
    validate("trade", list_range("trade"), strict=False)
    validate("level", list_range("level"), strict=True)
    validate("employment", list_range("employment"), strict=True)
    validate("project_based", list_range("yes_no"), strict=True)
    validate("passed", list_range("yes_no"), strict=True)
    validate("household", list_range("household"), strict=True)
    for key in (
        "id_number",
        "name",
        "institution",
        "training_start",
        "amount_requested",
    ):
        column = COLUMN_BY_KEY[key]
        letter = get_column_letter(COLUMNS.index(column) + 1)
        hint = DataValidation(
            showInputMessage=True, promptTitle=column.header, prompt=column.prompt
        )
        hint.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
        ws.add_data_validation(hint)

    _write_notes(wb.create_sheet(NOTES_SHEET, 1), font, head_font)
    wb.active = 0
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _write_notes(ws: Any, font: Font, head_font: Font) -> None:
    lines = [
        ("填写说明", True),
        ("1. 每行一条补贴申报，最多5000行；申报单位为当前登录经办人所在单位。", False),
        (
            "2. 第2行为示例（身份证号码以“示例”开头），导入时不读取，可保留或删除。",
            False,
        ),
        ("3. 红色列名为必填列。身份证号码列已设为文本格式，请勿改为数字格式。", False),
        (
            "4. 身份证号码尚未登记的人员，将按本行的姓名、户籍类型、人员类别"
            "在保存时一并实名登记；已登记人员的姓名须与登记一致。",
            False,
        ),
        (
            "5. 日期请填写Excel日期或“YYYY-MM-DD”文本；金额单位为元，最多两位小数。",
            False,
        ),
        ("6. 不得包含公式或宏；上传文件不超过5MB。", False),
        (
            "7. 每行按与录入页面相同的规则检查：每人每年不超过3次、同一职业同一等级"
            "不可重复享受等，同一文件中的其他行也计算在内。",
            False,
        ),
        ("", False),
        ("列名", True),
    ]
    for text, bold in lines:
        ws.append([text])
        ws.cell(row=ws.max_row, column=1).font = head_font if bold else font
    for column in COLUMNS:
        required = "（必填）" if column.required else ""
        ws.append([f"{column.header}{required}：{column.prompt}"])
        ws.cell(row=ws.max_row, column=1).font = font
    ws.column_dimensions["A"].width = 110


# --- 2a. Defences before parsing ---------------------------------------------------------------
def inspect_archive(data: bytes) -> None:
    """Refuse what must never reach the XLSX parser. Reads only the zip directory and
    the first bytes of each XML part."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImportRefused(
            f"文件大小为{len(data) / 1024 / 1024:.1f}MB，超过{_mb(MAX_UPLOAD_BYTES)}MB的上限"
        )
    if not data:
        raise ImportRefused("上传的文件是空的")
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        raise ImportRefused(
            "不是有效的Excel文件（.xlsx）。请使用本系统下载的模板；"
            "如为 .xls、.csv 或 WPS 格式，请在Excel中“另存为”.xlsx后再上传"
        )
    try:
        archive = zipfile.ZipFile(buffer)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportRefused("文件已损坏，无法作为Excel文件打开") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise ImportRefused(
                f"文件内部包含{len(entries)}个部件，超过{MAX_ENTRIES}个的上限"
            )
        names = {e.filename for e in entries}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise ImportRefused("不是有效的Excel文件（.xlsx）：缺少工作簿结构")
        lowered = [n.lower() for n in names]
        if any(n.endswith("vbaproject.bin") for n in lowered):
            raise ImportRefused(
                "文件包含宏（VBA），出于安全原因不予接收；请另存为不含宏的.xlsx"
            )
        total = 0
        for entry in entries:
            if entry.flag_bits & 0x1:
                raise ImportRefused("文件已加密或设置了密码，请取消密码后再上传")
            total += entry.file_size
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
                raise ImportRefused(
                    f"文件内容的压缩比异常（{ratio:.0f}倍），疑似“压缩炸弹”，不予接收"
                )
        if total > MAX_UNCOMPRESSED_BYTES:
            raise ImportRefused(
                f"文件解压后为{total / 1024 / 1024:.0f}MB，超过"
                f"{_mb(MAX_UNCOMPRESSED_BYTES)}MB的上限；请减少行数或删除无关的工作表"
            )
        try:
            for entry in entries:
                if entry.is_dir():
                    continue
                with archive.open(entry) as part:
                    verdict = _prolog_verdict(part)
                if verdict == "doctype":
                    raise ImportRefused(
                        "文件包含XML文档类型声明（DOCTYPE/ENTITY），出于安全原因不予接收"
                    )
                if verdict == "broken":
                    raise ImportRefused(
                        f"文件已损坏：部件“{entry.filename}”不是合法的XML"
                    )
            content_types = archive.read("[Content_Types].xml")
        except _UNREADABLE_ZIP:
            raise ImportRefused(
                "文件已损坏或使用了不支持的压缩方式，无法读取"
            ) from None
        _check_content_types(content_types)


def _check_content_types(raw: bytes) -> None:
    try:
        root = safe_xml(raw)
    except (DefusedXmlException, SyntaxError, ValueError):
        raise ImportRefused("文件已损坏：内容类型清单无法读取") from None
    types = {
        (el.get("PartName") or "").lower(): (el.get("ContentType") or "")
        for el in root.iter(f"{_CT_NS}Override")
    }
    every = [el.get("ContentType") or "" for el in root.iter()]
    if any("macroenabled" in t.lower() or "vbaproject" in t.lower() for t in every):
        raise ImportRefused("文件是启用宏的工作簿（.xlsm），出于安全原因不予接收")
    if types.get("/xl/workbook.xml") != XLSX_MAIN:
        raise ImportRefused("不是普通的Excel工作簿（.xlsx），请另存为.xlsx后再上传")


#: What reading a hostile or damaged zip entry may raise (unsupported compression methods
#: raise NotImplementedError, a damaged stream zlib.error or BadZipFile).
_UNREADABLE_ZIP = (
    zipfile.BadZipFile,
    NotImplementedError,
    RuntimeError,
    EOFError,
    OSError,
    ValueError,
    zlib.error,
)


class _RootReached(Exception):
    pass


class _DoctypeFound(Exception):
    pass


def _prolog_verdict(stream: Any) -> str:
    """ "doctype" when an XML part declares a DTD (the door to XXE and entity bombs),
    "broken" when it is not XML, "ok" otherwise. Stops at the root element, so only the
    prolog is read however large the part. Parts that are not XML (images) are "ok".
    """
    head = stream.read(4096)
    stripped = head.lstrip(b" \t\r\n")
    looks_xml = stripped.startswith(
        (b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
    ) or head[:2] in (b"<\x00", b"\x00<")
    if not looks_xml:
        return "ok"
    parser = expat.ParserCreate()

    def on_doctype(*_args: object) -> None:
        raise _DoctypeFound

    def on_element(*_args: object) -> None:
        raise _RootReached

    parser.StartDoctypeDeclHandler = on_doctype
    parser.EntityDeclHandler = on_doctype
    parser.StartElementHandler = on_element
    chunk = head
    try:
        while True:
            final = not chunk
            parser.Parse(chunk, final)
            if final:
                return "ok"
            chunk = stream.read(64 * 1024)
    except _RootReached:
        return "ok"
    except _DoctypeFound:
        return "doctype"
    except expat.ExpatError:
        return "broken"


def _mb(size: int) -> int:
    return size // (1024 * 1024)


# --- 2b. Reading the sheet ---------------------------------------------------------------------
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
            keys = {i: _column_key(v) for i, v in enumerate(values)}
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


# --- 2c. Parsing and judging rows --------------------------------------------------------------
@dataclass
class _Catalogue:
    """Everything a row refers to, loaded once per file."""

    unit: Unit
    programs: dict[int, Program]
    trades: dict[str, Trade]
    trade_names: dict[str, Trade]
    levels: dict[str, Level]
    level_lookup: dict[str, str]
    institutions: dict[str, Institution]
    policy: list[rules.PolicyTerm]
    program_facts: dict[int, rules.ProgramFacts]

    @classmethod
    def load(cls, actor: User, credit_codes: Iterable[str]) -> _Catalogue:
        programs = {p.number: p for p in Program.objects.all()}
        trades = {t.code: t for t in Trade.objects.all()}
        by_name: dict[str, list[Trade]] = defaultdict(list)
        for trade in trades.values():
            by_name[trade.name].append(trade)
        levels = {lv.code: lv for lv in Level.objects.all()}
        lookup: dict[str, str] = {}
        for level in levels.values():
            lookup[level.code] = level.code
            lookup[level.name] = level.code
            for part in level.name.split("/"):
                lookup.setdefault(part, level.code)
                if part.endswith("工"):
                    lookup.setdefault(part[:-1], level.code)
        codes = {c for c in credit_codes if c}
        institutions = {
            i.credit_code: i for i in Institution.objects.filter(credit_code__in=codes)
        }
        unit = actor.unit or Unit.objects.get(pk=actor.unit_id)
        return cls(
            unit=unit,
            programs=programs,
            trades=trades,
            trade_names={n: ts[0] for n, ts in by_name.items() if len(ts) == 1},
            levels=levels,
            level_lookup=lookup,
            institutions=institutions,
            policy=policy_terms(),
            program_facts={n: program_facts(p) for n, p in programs.items()},
        )


@dataclass
class _People:
    """The file's people as the registry knows them, and their claims (one query each)."""

    by_number: dict[str, Trainee]
    history: dict[int, list[rules.PriorClaim]]

    @classmethod
    def load(cls, id_numbers: Iterable[str]) -> _People:
        numbers = sorted(set(id_numbers))
        people = {t.id_number: t for t in Trainee.objects.filter(id_number__in=numbers)}
        return cls(people, prior_claims_of_many([t.pk for t in people.values()]))


@dataclass
class _ParsedRow:
    number: int
    errors: list[str] = field(default_factory=list)
    id_number: str = ""
    id_masked: str = ""
    birth_date: date | None = None
    name: str = ""
    household: str | None = None
    groups: list[str] | None = None
    phone: str = ""
    program: Program | None = None
    trade: Trade | None = None
    level: Level | None = None
    institution: Institution | None = None
    employer: Institution | None = None
    training_start: date | None = None
    training_end: date | None = None
    project_based: bool = False
    work_in_lieu_months: int = 0
    passed: bool = False
    certificate_number: str = ""
    employment: str = "none"
    amount_requested: Decimal | None = None
    raw_program: str = ""
    raw_amount: str = ""

    def fail(self, key: str, message: str) -> None:
        self.errors.append(f"【{COLUMN_BY_KEY[key].header}】{message}")


@dataclass
class RowResult:
    """One row as the clerk sees it (and as the payload stores it)."""

    row: int
    name: str
    id_masked: str
    program: str
    amount_requested: str
    ok: bool
    problems: list[dict[str, str]]
    amount: str = ""
    trade: str = ""
    level: str = ""
    registers: bool = False  # the row registers a person new to the registry

    @property
    def program_number(self) -> str:
        """ "9" of "9 实施就业重点群体…", for a narrow column."""
        return self.program.split(" ", 1)[0]

    @property
    def reasons(self) -> str:
        return "；".join(_problem_text(p) for p in self.problems)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RowResult:
        return cls(**data)


def _problem_text(problem: dict[str, str]) -> str:
    clause = problem.get("clause")
    return f"{problem['message']}（{clause}）" if clause else problem["message"]


def _credit_code(value: Any) -> str:
    return str(value).strip().upper() if value is not None else ""


def _parse_row(row: SheetRow, columns: dict[str, int], cat: _Catalogue) -> _ParsedRow:
    def get(key: str) -> Any:
        index = columns.get(key)
        if index is None or index >= len(row.values):
            return None
        return row.values[index]

    p = _ParsedRow(number=row.number)
    _parse_person(p, get)
    _parse_training(p, get, cat)
    return p


def _parse_person(p: _ParsedRow, get: Callable[[str], Any]) -> None:
    raw_id = get("id_number")
    if raw_id is None:
        p.fail("id_number", "未填写")
    elif not isinstance(raw_id, str):
        p.fail(
            "id_number",
            "须按文本填写（数字格式会丢失末尾数字）：请将该列设为文本后重新输入",
        )
    else:
        try:
            facts = parse_id_number(raw_id)
        except InvalidIdNumber as exc:
            p.fail("id_number", exc.message)
            p.id_masked = mask_id_number(
                raw_id.strip()
            )  # to find the row, still masked
        else:
            p.id_number = facts.number
            p.id_masked = mask_id_number(facts.number)
            p.birth_date = facts.birth_date
    p.name = _text(p, "name", get("name"), max_length=50, required=True)
    household = get("household")
    if household is not None:
        text = str(household).strip()
        code = HOUSEHOLD_LABELS.get(text) or (
            text if text in Household.values else None
        )
        if code is None:
            p.fail("household", f"“{text}”无效，应为“农业”或“城镇”")
        p.household = code
    groups = get("groups")
    if groups is not None:
        found: list[str] = []
        for label in _GROUP_SPLIT.split(str(groups).strip()):
            if not label:
                continue
            code = GROUP_LABELS.get(label) or (label if label in Group.values else None)
            if code is None:
                p.fail("groups", f"未知的人员类别“{label}”")
            elif code not in found:
                found.append(code)
        p.groups = found
    p.phone = _text(p, "phone", get("phone"), max_length=20)


def _parse_training(p: _ParsedRow, get: Callable[[str], Any], cat: _Catalogue) -> None:
    raw = get("program")
    p.raw_program = _display(raw)
    if raw is None:
        p.fail("program", "未填写")
    else:
        number: int | None = None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            number = int(raw) if float(raw).is_integer() else None
        elif isinstance(raw, str) and (match := _PROGRAM_TEXT.match(raw)):
            number = int(match[1])
        program = cat.programs.get(number) if number is not None else None
        if program is None:
            p.fail("program", f"“{p.raw_program}”不是有效的项目序号（1–24）")
        p.program = program
    raw = get("trade")
    if raw is not None:
        text = str(raw).strip()
        code = text.split()[0] if text.split() else text
        trade = cat.trades.get(code) or cat.trade_names.get(text)
        if trade is None:
            p.fail("trade", f"未知的职业(工种)“{text}”，请从下拉列表选择")
        p.trade = trade
    raw = get("level")
    if raw is not None:
        text = str(raw).strip()
        level_code = cat.level_lookup.get(text)
        if level_code is None:
            p.fail("level", f"未知的等级“{text}”，请从下拉列表选择")
        else:
            p.level = cat.levels[level_code]
    p.institution = _institution(p, "institution", get("institution"), cat, True)
    p.employer = _institution(p, "employer", get("employer"), cat, False)
    p.training_start = _date(p, "training_start", get("training_start"))
    p.training_end = _date(p, "training_end", get("training_end"))
    p.project_based = _yes_no(p, "project_based", get("project_based"))
    p.passed = _yes_no(p, "passed", get("passed"))
    p.work_in_lieu_months = _months(p, get("work_in_lieu_months"))
    p.certificate_number = _text(
        p, "certificate_number", get("certificate_number"), max_length=50
    )
    raw = get("employment")
    if raw is not None:
        text = str(raw).strip()
        employment = EMPLOYMENT_LABELS.get(text) or (
            text if text in Employment.values else None
        )
        if employment is None:
            p.fail("employment", f"“{text}”无效，应为就业、自主创业、灵活就业或未就业")
        else:
            p.employment = employment
    p.amount_requested = _amount(p, get("amount_requested"))


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == clock_time() else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _text(
    p: _ParsedRow, key: str, value: Any, *, max_length: int, required: bool = False
) -> str:
    if value is None:
        if required:
            p.fail(key, "未填写")
        return ""
    if isinstance(value, bool | date | clock_time):
        p.fail(key, "应为文字")
        return ""
    if isinstance(value, float):
        if not value.is_integer():
            p.fail(key, "应为文字，请将该列设为文本格式后重新输入")
            return ""
        value = int(value)
    text = str(value).strip()
    if text.startswith(FORMULA_TRIGGERS):
        p.fail(key, "不能以 = + - @ 等符号开头")
        return ""
    hidden = hidden_character_in(text)
    if hidden:
        p.fail(key, f"含有不可见的控制字符或格式字符（{hidden}），请删除后重新输入")
        return ""
    if len(text) > max_length:
        p.fail(key, f"不超过{max_length}个字")
        return ""
    return text


def _institution(
    p: _ParsedRow, key: str, value: Any, cat: _Catalogue, required: bool
) -> Institution | None:
    code = _credit_code(value)
    if not code:
        if required:
            p.fail(key, "未填写")
        return None
    institution = cat.institutions.get(code)
    if institution is None:
        p.fail(
            key,
            f"未找到统一社会信用代码为“{code}”的培训机构/企业（请先在系统中登记该机构）",
        )
    return institution


def _date(p: _ParsedRow, key: str, value: Any) -> date | None:
    if value is None:
        p.fail(key, "未填写")
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = _DATE_TEXT.fullmatch(value.strip())
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                p.fail(key, f"“{value.strip()}”不是存在的日期")
                return None
    p.fail(key, f"“{_display(value)}”不是日期，请填写Excel日期或“YYYY-MM-DD”文本")
    return None


def _yes_no(p: _ParsedRow, key: str, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in YES_NO:
        return YES_NO[text]
    p.fail(key, f"“{_display(value)}”无效，应为“是”或“否”")
    return False


def _months(p: _ParsedRow, value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 0 <= value <= 120:
            return int(value)
    elif isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        months = int(value.strip())
        if months <= 120:
            return months
    p.fail("work_in_lieu_months", f"“{_display(value)}”无效，应为0至120的整数")
    return 0


def _amount(p: _ParsedRow, value: Any) -> Decimal | None:
    key = "amount_requested"
    p.raw_amount = _display(value)
    if value is None:
        p.fail(key, "未填写")
        return None
    if isinstance(value, bool | date | clock_time):
        p.fail(key, "应为金额（元）")
        return None
    if isinstance(value, int | float):
        text = repr(value) if isinstance(value, float) else str(value)
    else:
        text = str(value).strip().replace(",", "")
        if text.startswith("-") and _AMOUNT_TEXT.fullmatch(text[1:]):
            p.fail(key, "不能为负数")
            return None
        if not _AMOUNT_TEXT.fullmatch(text):
            p.fail(key, f"“{str(value).strip()}”不是金额，应为数字（元），最多两位小数")
            return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        p.fail(key, f"“{p.raw_amount}”不是金额")
        return None
    if not amount.is_finite():
        p.fail(key, f"“{p.raw_amount}”不是金额")
        return None
    if amount < 0:
        p.fail(key, "不能为负数")
        return None
    if amount != amount.quantize(rules.FEN):
        p.fail(key, f"“{p.raw_amount}”超过两位小数（金额精确到分）")
        return None
    if amount > _MAX_AMOUNT:
        p.fail(key, "金额过大")
        return None
    return amount.quantize(rules.FEN)


@dataclass
class _Judged:
    result: RowResult
    data: ClaimInput | None = None  # None for a person still to register
    decision: rules.Decision | None = None


def _judge_rows(
    parsed: Sequence[_ParsedRow],
    cat: _Catalogue,
    people: _People,
    *,
    today: date,
) -> list[_Judged]:
    """Judge every row in file order: the database history plus the file's earlier
    passing rows, which count as submitted (two rows for one trade+level, a fourth in a
    year). Pure in-memory: every query was made before this function."""
    in_file: dict[str, list[rules.PriorClaim]] = defaultdict(list)
    newcomers: dict[str, _ParsedRow] = {}  # ID number → the row that registers them
    judged: list[_Judged] = []
    for p in parsed:
        problems = [
            {"code": "invalid_cell", "message": e, "clause": ""} for e in p.errors
        ]
        person = people.by_number.get(p.id_number) if p.id_number else None
        trainee_facts: rules.TraineeFacts | None = None
        registers = False
        if p.id_number and person is not None:
            if p.name and p.name != person.name:
                problems.append(
                    {
                        "code": "name_mismatch",
                        "message": "【姓名】与实名登记不符（该身份证号码登记的姓名"
                        f"为“{person.name}”）",
                        "clause": "五(二)",
                    }
                )
            trainee_facts = rules.TraineeFacts(
                birth_date=person.birth_date,
                household=person.household,
                groups=frozenset(person.groups),
            )
        elif p.id_number and p.birth_date is not None:
            registers = True
            first = newcomers.setdefault(p.id_number, p)
            problems.extend(_newcomer_problems(p, first))
            trainee_facts = rules.TraineeFacts(
                birth_date=p.birth_date,
                household=first.household or "",
                groups=frozenset(first.groups or ()),
            )
        decision: rules.Decision | None = None
        data: ClaimInput | None = None
        if (
            not problems
            and trainee_facts is not None
            and p.program is not None
            and p.institution is not None
            and p.amount_requested is not None
            and p.training_start is not None
            and p.training_end is not None
        ):
            facts = rules.ClaimFacts(
                program=p.program.number,
                unit=cat.unit.code,
                training_start=p.training_start,
                training_end=p.training_end,
                amount_requested=p.amount_requested,
                institution=institution_facts(p.institution),
                employer=institution_facts(p.employer),
                trade=p.trade.code if p.trade else None,
                level=p.level.code if p.level else None,
                project_based=p.project_based,
                work_in_lieu_months=p.work_in_lieu_months,
                passed=p.passed,
                certificate_number=p.certificate_number,
                employment=p.employment,
                trade_name=p.trade.name if p.trade else "",
                level_name=p.level.name if p.level else "",
            )
            history = list(people.history.get(person.pk, ())) if person else []
            history.extend(in_file[p.id_number])
            decision = rules.decide(
                facts,
                trainee=trainee_facts,
                program=cat.program_facts[p.program.number],
                history=history,
                policy=cat.policy,
                today=today,
            )
            problems.extend(v.as_dict() for v in decision.violations)
            if decision.eligible:
                in_file[p.id_number].append(
                    rules.PriorClaim(
                        claim_id=-p.number,
                        program=p.program.number,
                        status=workflow.SUBMITTED,
                        training_end=p.training_end,
                        trade=facts.trade,
                        level=facts.level,
                        unit_name=f"本文件第{p.number}行",
                        trade_name=facts.trade_name,
                        level_name=facts.level_name,
                    )
                )
                if person is not None:
                    data = ClaimInput(
                        trainee_id=person.pk,
                        program_id=p.program.number,
                        institution_id=p.institution.pk,
                        unit_id=cat.unit.code,
                        training_start=p.training_start,
                        training_end=p.training_end,
                        amount_requested=p.amount_requested,
                        trade_id=facts.trade,
                        level_id=facts.level,
                        employer_id=p.employer.pk if p.employer else None,
                        project_based=p.project_based,
                        work_in_lieu_months=p.work_in_lieu_months,
                        passed=p.passed,
                        certificate_number=p.certificate_number,
                        employment=p.employment,
                    )
        result = RowResult(
            row=p.number,
            name=p.name or (person.name if person else ""),
            id_masked=p.id_masked,
            program=f"{p.program.number} {p.program.name}"
            if p.program
            else p.raw_program,
            amount_requested=(
                str(p.amount_requested)
                if p.amount_requested is not None
                else p.raw_amount
            ),
            ok=not problems,
            problems=[dict(x) for x in problems],
            amount=str(decision.amount) if decision and decision.eligible else "",
            trade=p.trade.name if p.trade else "",
            level=p.level.name if p.level else "",
            registers=registers,
        )
        judged.append(_Judged(result, data, decision))
    return judged


def _newcomer_problems(p: _ParsedRow, first: _ParsedRow) -> list[dict[str, str]]:
    """A person new to the registry: the row must carry what registering needs, and
    every row of the file for that person must agree with the first."""
    problems: list[dict[str, str]] = []

    def refuse(message: str) -> None:
        problems.append({"code": "registration", "message": message, "clause": ""})

    if first is p:
        if not p.name:
            refuse("该身份证号码尚未登记：须填写姓名以实名登记")
        if p.household is None:
            refuse("该身份证号码尚未登记：须填写户籍类型（农业或城镇）以实名登记")
        return problems
    if p.name != first.name:
        refuse(f"【姓名】与本文件第{first.number}行同一身份证号码的姓名不一致")
    if p.household is not None and p.household != first.household:
        refuse(f"【户籍类型】与本文件第{first.number}行不一致")
    if p.groups is not None and sorted(p.groups) != sorted(first.groups or []):
        refuse(f"【人员类别】与本文件第{first.number}行不一致")
    return problems


def check_sheet(sheet: SheetData, actor: User) -> list[RowResult]:
    """Judge every data row of a parsed sheet against the database and the file."""
    judged = _judge_sheet(sheet, actor)
    return [j.result for j in judged]


def _judge_sheet(
    sheet: SheetData, actor: User, *, only: set[int] | None = None
) -> list[_Judged]:
    rows = sheet.data_rows
    if only is not None:
        rows = [r for r in rows if r.number in only]
    index = sheet.columns
    codes = set()
    for row in rows:
        for key in ("institution", "employer"):
            if key in index and index[key] < len(row.values):
                codes.add(_credit_code(row.values[index[key]]))
    cat = _Catalogue.load(actor, codes)
    parsed = [_parse_row(r, index, cat) for r in rows]
    people = _People.load(p.id_number for p in parsed if p.id_number)
    return _judge_rows(parsed, cat, people, today=timezone.localdate())


# --- Keeping the file between the check and the save ------------------------------------------
def _store_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _payload_path(token: str, suffix: str = ".json") -> Path:
    if not _TOKEN.fullmatch(token or ""):
        raise NotFound("未找到该导入记录（可能已过期），请重新上传")
    return _store_dir() / f"{token}{suffix}"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, clock_time):
        return {"$t": value.isoformat()}
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
        if "$t" in value:
            return clock_time.fromisoformat(value["$t"])
    return value


def _sheet_to_json(sheet: SheetData) -> dict[str, Any]:
    return {
        "title": sheet.title,
        "header_row": sheet.header_row,
        "headers": sheet.headers,
        "columns": sheet.columns,
        "rows": [
            {"n": r.number, "k": r.kind, "v": [_encode(v) for v in r.values]}
            for r in sheet.rows
        ],
    }


def _sheet_from_json(data: dict[str, Any]) -> SheetData:
    return SheetData(
        title=data["title"],
        header_row=data["header_row"],
        headers=data["headers"],
        columns=data["columns"],
        rows=[
            SheetRow(r["n"], [_decode(v) for v in r["v"]], r["k"]) for r in data["rows"]
        ],
    )


def _write_payload(path: Path, payload: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            # dumps, not dump: dump streams through the pure-Python encoder (1.9 s
            # for 5,000 rows), dumps runs the C one
            out.write(json.dumps(payload, ensure_ascii=False))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _purge_expired() -> None:
    limit = time.time() - PAYLOAD_TTL.total_seconds()
    for path in _store_dir().iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        except OSError:
            continue


@dataclass(frozen=True)
class ImportBatch:
    """A checked file, as kept between the check and the save."""

    token: str
    filename: str
    created_at: float
    sheet: SheetData
    results: list[RowResult]

    @property
    def passing(self) -> list[RowResult]:
        return [r for r in self.results if r.ok]

    @property
    def failing(self) -> list[RowResult]:
        return [r for r in self.results if not r.ok]

    @property
    def expires_at(self) -> datetime:
        created = datetime.fromtimestamp(
            self.created_at, tz=timezone.get_current_timezone()
        )
        return created + PAYLOAD_TTL


def _payload(
    actor: User, filename: str, sheet: SheetData, results: Sequence[RowResult]
) -> dict[str, Any]:
    return {
        "version": 1,
        "user_id": actor.pk,
        "unit_id": actor.unit_id,
        "created_at": time.time(),
        "filename": filename,
        "sheet": _sheet_to_json(sheet),
        "results": [asdict(r) for r in results],
    }


def _read_payload(path: Path, actor: User) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as source:
            payload = json.load(source)
    except (OSError, ValueError):
        raise NotFound("未找到该导入记录（可能已保存或已过期），请重新上传") from None
    if payload.get("user_id") != actor.pk or payload.get("unit_id") != actor.unit_id:
        raise NotFound("未找到该导入记录（可能已保存或已过期），请重新上传")
    if time.time() - payload.get("created_at", 0) > PAYLOAD_TTL.total_seconds():
        path.unlink(missing_ok=True)
        raise NotFound("该导入记录已超过1小时，已失效，请重新上传")
    return payload


def _batch(token: str, payload: dict[str, Any]) -> ImportBatch:
    return ImportBatch(
        token=token,
        filename=payload.get("filename", ""),
        created_at=payload["created_at"],
        sheet=_sheet_from_json(payload["sheet"]),
        results=[RowResult.from_dict(r) for r in payload["results"]],
    )


def _require_clerk(actor: User) -> None:
    if not actor.is_authenticated or not actor.is_clerk or not actor.unit_id:
        raise PermissionDenied("只有县(市)经办人可以批量导入申报")


# --- The three service functions --------------------------------------------------------------
def import_check(*, data: bytes, filename: str, actor: User) -> ImportBatch:
    """Defend, parse and judge an uploaded file; keep it for the save step.

    Raises ``ImportRefused`` (400) for a file refused as a whole; nothing is stored then.
    """
    _require_clerk(actor)
    inspect_archive(data)
    sheet = read_sheet(data)
    results = check_sheet(sheet, actor)
    _purge_expired()
    token = secrets.token_urlsafe(32)
    payload = _payload(actor, Path(filename or "").name[:200], sheet, results)
    _write_payload(_payload_path(token), payload)
    return _batch(token, payload)


def import_batch(*, token: str, actor: User) -> ImportBatch:
    """The checked file of this clerk under ``token``; 404 for anyone else's."""
    _require_clerk(actor)
    return _batch(token, _read_payload(_payload_path(token), actor))


@dataclass(frozen=True)
class SaveOutcome:
    claims: list[Claim]
    submitted: bool
    registered: int


def import_save(*, token: str, actor: User, submit: bool) -> SaveOutcome:
    """Save every passing row as a draft or submit it — all of them or none.

    On a refusal the stored results are judged afresh (so the page shows the state of
    now) and ``ImportSaveFailed`` names the row; nothing of the file is stored.
    """
    _require_clerk(actor)
    path = _payload_path(token)
    payload = _read_payload(path, actor)
    # Claim the batch: a second click (or a second tab) finds nothing to save.
    working = _payload_path(token, ".saving")
    try:
        os.replace(path, working)
    except FileNotFoundError:
        raise NotFound("该导入记录正在保存或已保存") from None
    sheet = _sheet_from_json(payload["sheet"])
    chosen = {r["row"] for r in payload["results"] if r["ok"]}
    try:
        outcome = _save_rows(sheet, chosen, actor, submit=submit)
    except ImportSaveFailed:
        # Show the state of now: the rows are judged afresh for the page.
        try:
            payload["results"] = [asdict(r) for r in check_sheet(sheet, actor)]
        except Exception:
            logger.exception("import: re-check after a refused save failed")
        _write_payload(path, payload)
        working.unlink(missing_ok=True)
        raise
    except BaseException:
        os.replace(working, path)
        raise
    working.unlink(missing_ok=True)
    return outcome


def _save_rows(
    sheet: SheetData, chosen: set[int], actor: User, *, submit: bool
) -> SaveOutcome:
    if not chosen:
        raise DomainError("nothing_to_save", "没有通过检查的行，没有可保存的申报")
    try:
        with transaction.atomic():
            registered = _register_newcomers(sheet, chosen, actor)
            numbers = [
                r.values[sheet.columns["id_number"]]
                for r in sheet.data_rows
                if r.number in chosen
            ]
            _lock_people(numbers)
            judged = _judge_sheet(sheet, actor, only=chosen)
            for j in judged:
                if not j.result.ok or j.data is None:
                    raise ImportSaveFailed(j.result.row, j.result.problems)
            items = []
            for j in judged:
                assert j.data is not None
                assert j.decision is not None
                items.append((j.data, j.decision))
            try:
                claims = claims_create_batch(items=items, actor=actor, submit=submit)
            except DomainError as exc:
                raise ImportSaveFailed(
                    None, [{"code": exc.code, "message": exc.message, "clause": ""}]
                ) from None
    except DatabaseError:
        logger.warning("import: save rolled back by the database", exc_info=True)
        raise ImportSaveFailed(
            None,
            [
                {
                    "code": "concurrent_change",
                    "message": "数据库正忙或数据刚被他人修改，请稍后重试",
                    "clause": "",
                }
            ],
        ) from None
    return SaveOutcome(claims=claims, submitted=submit, registered=registered)


def _register_newcomers(sheet: SheetData, chosen: set[int], actor: User) -> int:
    """Register the people new to the registry, in ID-number order (a fixed order, so
    two imports registering the same people wait for each other, never deadlock)."""
    rows = [r for r in sheet.data_rows if r.number in chosen]
    cat = _Catalogue.load(actor, ())
    parsed = [_parse_row(r, sheet.columns, cat) for r in rows]
    numbers = {p.id_number for p in parsed if p.id_number}
    known = set(
        Trainee.objects.filter(id_number__in=numbers).values_list(
            "id_number", flat=True
        )
    )
    first: dict[str, _ParsedRow] = {}
    for p in parsed:
        if p.id_number and p.id_number not in known:
            first.setdefault(p.id_number, p)
    created = trainees_register_new(
        (
            Newcomer(number, p.name, p.household or "", p.groups or [], p.phone)
            for number, p in first.items()
        ),
        actor=actor,
    )
    for number in sorted(first):
        # What the bulk insert left (a row that did not validate, or the whole file
        # when someone registered one of these people meanwhile) goes through the
        # registration service one by one: its message, its answer to a race.
        if number in created:
            continue
        p = first[number]
        try:
            _trainee, was_created = trainee_register(
                id_number=number,
                name=p.name,
                household=p.household or "",
                groups=p.groups or [],
                phone=p.phone,
                actor=actor,
            )
        except DomainError as exc:
            raise ImportSaveFailed(
                p.number, [{"code": exc.code, "message": exc.message, "clause": ""}]
            ) from None
        if was_created:
            created.add(number)
    return len(created)


def _lock_people(id_numbers: Iterable[Any]) -> None:
    """Lock every person of the file in id order — the services' order (trainee, then
    claim) — so the rows are judged again while nobody else can file for them."""
    numbers = {str(n).strip().upper() for n in id_numbers if n}
    ids = list(
        Trainee.objects.filter(id_number__in=numbers).values_list("pk", flat=True)
    )
    list(
        Trainee.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- 4. The result copy ------------------------------------------------------------------------
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
        key = _column_key(header) if index <= width else None
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


__all__ = [
    "COLUMNS",
    "MAX_ROWS",
    "MAX_UPLOAD_BYTES",
    "ImportBatch",
    "ImportRefused",
    "ImportSaveFailed",
    "RowResult",
    "SaveOutcome",
    "import_batch",
    "import_check",
    "import_save",
    "inspect_archive",
    "read_sheet",
    "result_workbook",
    "template_workbook",
]
