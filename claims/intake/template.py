"""The template workbook a clerk fills in, and the columns every other step reads by.

``COLUMNS`` declares each column once (its key, its Chinese header, the prompt, whether
it is required, the headers of older copies it also answers to); the sheet reader finds
columns by it, the parser reports problems under its headers, the result copy formats
cells by it. The labels the drop-downs offer are the ones the parser accepts.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from accounts.models import User
from claims.models import LIMIT_SLOTS, Employment
from claims.selectors import import_institutions
from programs.models import Institution, Level, Program, Trade
from trainees.id_numbers import check_char
from trainees.models import Group

MAX_ROWS = 5_000  # data rows (the example row and blank rows not counted)
TEMPLATE_ROWS = MAX_ROWS + 1  # validations cover the example row and 5,000 rows


DATA_SHEET = "申报明细"
NOTES_SHEET = "填写说明"
LISTS_SHEET = "lists"
INSTITUTIONS_SHEET = "培训机构"
EXAMPLE_MARK = "示例"
EXAMPLE_ID = "65430119900517001"  # 17 digits of a made-up person; the check digit added
FONT_NAME = "宋体"
PAPER_A4 = "9"  # the paperSize code of A4 in SpreadsheetML

#: Characters a masked ID number (654301********1234) is hidden with, as typed back.
ID_MASKS = ("*", "＊")
#: A text cell starting with one of these is a formula to Excel (or to a CSV reader).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


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
        "培训机构",
        "从下拉列表选择本单位列入目录的培训机构（名称和统一社会信用代码），"
        "或填写机构名称或18位统一社会信用代码",
        True,
        aliases=("培训机构统一社会信用代码", "培训机构名称", "培训机构代码"),
    ),
    Column(
        "employer",
        "用人单位统一社会信用代码",
        "以工代训时填写吸纳就业的企业（统一社会信用代码或名称），其他情形可不填",
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
        "hire_date",
        "入职日期",
        "项目1（企业新录用员工岗前培训）填写员工的入职（录用）日期，其他项目不填",
        number_format="yyyy-mm-dd",
    ),
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
#: Not in the template: the result copy's last column, naming each row for the server
#: (``references``), so a corrected copy keeps the ID numbers it masks (issue 15).
REFERENCE = Column(
    "reference",
    "参考码",
    "检查结果文件中每行的参考码：系统凭它找回该行遮盖的身份证号码，请勿修改",
    aliases=("行参考码",),
)
COLUMN_BY_KEY = {c.key: c for c in (*COLUMNS, REFERENCE)}

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
for _column in (*COLUMNS, REFERENCE):
    for _name in (_column.header, *_column.aliases):
        _HEADER_KEYS[_norm_header(_name)] = _column.key


def column_key(header: object) -> str | None:
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


# --- The workbook ---------------------------------------------------------------------
def institution_label(institution: Institution) -> str:
    """What the institution drop-down offers and the parser reads back: 名称（代码）."""
    return f"{institution.name}（{institution.credit_code}）"


def template_workbook(actor: User) -> bytes:
    """The XLSX a clerk fills in, with the catalogue as it stands now and the training
    institutions of the clerk's unit (issue 15, item 5)."""
    programs = list(Program.objects.filter(claimable=True).order_by("number"))
    institutions = import_institutions(actor)
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
        "institution": [institution_label(i) for i in institutions],
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
        "institution": (
            lists["institution"][0]
            if lists["institution"]
            else "（培训机构名称或代码）"
        ),
        "employer": "",
        "training_start": date(2020, 3, 1),
        "training_end": date(2020, 4, 30),
        # a project-based claim of program 9 comes from a class (class_required):
        # an example copied row by row must be one the rules accept
        "project_based": "否",
        "hire_date": "",
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
        "institution": ("H", "培训机构"),
    }
    for name, (letter, title) in list_columns.items():
        lists_ws[f"{letter}1"] = title
        for offset, text in enumerate(lists[name], start=2):
            cell = lists_ws[f"{letter}{offset}"]
            cell.value = text
            cell.data_type = "s"
        lists_ws.column_dimensions[letter].width = (
            40 if name in ("trade", "institution") else 20
        )
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
    # a warning, not a stop: an institution of another unit is typed by its code
    validate("institution", list_range("institution"), strict=False)
    for key in (
        "id_number",
        "name",
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
    _write_institutions(
        wb.create_sheet(INSTITUTIONS_SHEET, 2), institutions, font, head_font
    )
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
            f"7. 每行按与录入页面相同的规则检查：每人每年不超过{LIMIT_SLOTS}次、"
            "同一职业同一等级"
            "不可重复享受等，同一文件中的其他行也计算在内。",
            False,
        ),
        (
            "8. 培训机构从下拉列表选择本单位列入目录的机构（括号内为统一社会信用代码，"
            "另见“培训机构”工作表），也可填写机构名称或18位代码。",
            False,
        ),
        (
            "9. 不通过的行可直接在下载的检查结果文件中修改后重新上传：其中的身份证号码"
            "已遮盖，系统凭最后一列“参考码”找回原号码（1小时内、仅限本人），请勿改动。",
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


def _write_institutions(
    ws: Any, institutions: list[Institution], font: Font, head_font: Font
) -> None:
    """A visible list of the unit's admitted institutions, the code beside the name."""
    ws.append(["名称", "统一社会信用代码", "类型"])
    for cell in ws[1]:
        cell.font = head_font
    for institution in institutions:
        ws.append(
            [institution.name, institution.credit_code, institution.get_kind_display()]
        )
        for cell in ws[ws.max_row]:
            cell.font = font
            cell.data_type = "s"
    if not institutions:
        ws.append(["本单位暂无列入目录的培训机构；其他机构请填写统一社会信用代码"])
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 24
    ws.column_dimensions["C"].width = 16
    ws.freeze_panes = "A2"
