"""Parsing a row's cells into typed values, against the catalogue loaded once per file.

A cell that cannot be read is noted on the row (under its column's header) and parsing
goes on, so the clerk sees every problem of a row at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from decimal import Decimal, InvalidOperation
from typing import Any

from accounts.models import User
from altay_skills.plain_text import plain_text_problem
from claims import rules
from claims.facts import policy_terms, program_facts
from claims.intake.sheet import SheetRow
from claims.intake.template import (
    COLUMN_BY_KEY,
    EMPLOYMENT_LABELS,
    GROUP_LABELS,
    HOUSEHOLD_LABELS,
    ID_MASKS,
    YES_NO,
)
from claims.models import Employment
from claims.validators import EARLIEST_TRAINING_DATE, LATEST_TRAINING_DATE
from programs.models import Institution, Level, Program, Trade, Unit
from trainees.id_numbers import (
    InvalidIdNumber,
    mask_id_number,
    mask_id_shaped_in,
    parse_id_number,
)
from trainees.models import Group, Household

_DATE_TEXT = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})", re.ASCII)
_AMOUNT_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)
_INT_TEXT = re.compile(r"[0-9]+", re.ASCII)
_PROGRAM_TEXT = re.compile(r"\s*([0-9]{1,2})(?![0-9])", re.ASCII)
_GROUP_SPLIT = re.compile(r"[、,，;；/\s]+")
_MAX_AMOUNT = Decimal("9999999999.99")


@dataclass
class Catalogue:
    """Everything a row refers to, loaded once per file."""

    unit: Unit
    programs: dict[int, Program]
    trades: dict[str, Trade]
    trade_names: dict[str, Trade]
    levels: dict[str, Level]
    level_lookup: dict[str, str]
    institutions: dict[str, Institution]
    institution_names: dict[str, list[Institution]]
    policy: list[rules.PolicyTerm]
    program_facts: dict[int, rules.ProgramFacts]

    @classmethod
    def load(
        cls, actor: User, credit_codes: Iterable[str], names: Iterable[str] = ()
    ) -> Catalogue:
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
        by_institution_name: dict[str, list[Institution]] = defaultdict(list)
        wanted = {n for n in names if n}
        if wanted:
            for institution in Institution.objects.filter(name__in=wanted).order_by(
                "credit_code"
            ):
                by_institution_name[institution.name].append(institution)
        unit = actor.unit or Unit.objects.get(pk=actor.unit_id)
        return cls(
            unit=unit,
            programs=programs,
            trades=trades,
            trade_names={n: ts[0] for n, ts in by_name.items() if len(ts) == 1},
            levels=levels,
            level_lookup=lookup,
            institutions=institutions,
            institution_names=dict(by_institution_name),
            policy=policy_terms(),
            program_facts={n: program_facts(p) for n, p in programs.items()},
        )


@dataclass
class ParsedRow:
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
    hire_date: date | None = None  # 三(一)1: optional, program 1
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


_CODE = re.compile(r"[0-9A-Za-z]{18}", re.ASCII)
#: 名称（代码）, as the template's drop-down offers it; either kind of bracket.
_NAME_AND_CODE = re.compile(r"(.*?)\s*[（(]\s*([0-9A-Za-z]{18})\s*[)）]\s*")


def institution_reference(value: Any) -> tuple[str, str]:
    """(credit code, name) a cell names an institution by: "名称（代码）" and a bare
    code give the code, anything else is a name (issue 15, item 5)."""
    if value is None:
        return "", ""
    text = str(value).strip()
    if _CODE.fullmatch(text):
        return text.upper(), ""
    if match := _NAME_AND_CODE.fullmatch(text):
        return match[2].upper(), ""
    return "", text


def parse_row(row: SheetRow, columns: dict[str, int], cat: Catalogue) -> ParsedRow:
    def get(key: str) -> Any:
        index = columns.get(key)
        if index is None or index >= len(row.values):
            return None
        return row.values[index]

    p = ParsedRow(number=row.number)
    _parse_person(p, get)
    _parse_training(p, get, cat)
    return p


def _parse_person(p: ParsedRow, get: Callable[[str], Any]) -> None:
    raw_id = get("id_number")
    if raw_id is None:
        p.fail("id_number", "未填写")
    elif isinstance(raw_id, str) and any(m in raw_id for m in ID_MASKS):
        p.id_masked = mask_id_shaped_in(raw_id.strip())  # masked, whatever it holds
        if get("reference") is not None:
            p.fail(
                "id_number",
                "是检查结果中遮盖的号码，凭本行“参考码”未能找回原号码（参考码只在"
                "您本人上传后1小时内有效，遮盖的号码和参考码都不能改动）：请填写完整的"
                "18位身份证号码",
            )
        else:
            p.fail(
                "id_number",
                "是检查结果中遮盖的号码，无法导入：请直接修改检查结果文件，保留其最后"
                "一列“参考码”一并上传（系统凭参考码找回原号码，无需重新填写），"
                "或填写完整的18位身份证号码",
            )
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


def _parse_training(p: ParsedRow, get: Callable[[str], Any], cat: Catalogue) -> None:
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
    p.training_start = _training_date(p, "training_start", get("training_start"))
    p.training_end = _training_date(p, "training_end", get("training_end"))
    raw = get("hire_date")
    p.hire_date = _date(p, "hire_date", raw) if raw is not None else None
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
    p: ParsedRow, key: str, value: Any, *, max_length: int, required: bool = False
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
    problem = plain_text_problem(text)
    if problem:
        p.fail(key, problem)
        return ""
    if len(text) > max_length:
        p.fail(key, f"不超过{max_length}个字")
        return ""
    return text


def _institution(
    p: ParsedRow, key: str, value: Any, cat: Catalogue, required: bool
) -> Institution | None:
    code, name = institution_reference(value)
    if not code and not name:
        if required:
            p.fail(key, "未填写")
        return None
    if code:
        institution = cat.institutions.get(code)
        if institution is None:
            p.fail(
                key,
                f"未找到统一社会信用代码为“{code}”的培训机构/企业"
                "（请先在系统中登记该机构）",
            )
        return institution
    found = cat.institution_names.get(name, [])
    ours = [i for i in found if i.unit_id == cat.unit.code and i.admitted]
    if len(ours) == 1:
        return ours[0]
    if len(found) == 1:
        return found[0]
    if not found:
        p.fail(
            key,
            f"未找到名为“{name[:50]}”的培训机构/企业：请从下拉列表选择，"
            "或填写18位统一社会信用代码",
        )
    else:
        p.fail(
            key,
            f"名为“{name[:50]}”的机构有{len(found)}个，无法确定：请从下拉列表选择"
            "“名称（代码）”，或填写统一社会信用代码",
        )
    return None


def _training_date(p: ParsedRow, key: str, value: Any) -> date | None:
    """A training date, in the range the form and the API take (2000–2099)."""
    day = _date(p, key, value)
    if day is not None and not (EARLIEST_TRAINING_DATE <= day <= LATEST_TRAINING_DATE):
        p.fail(
            key,
            f"培训日期应在{EARLIEST_TRAINING_DATE.isoformat()}至"
            f"{LATEST_TRAINING_DATE.isoformat()}之间",
        )
        return None
    return day


def _date(p: ParsedRow, key: str, value: Any) -> date | None:
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


def _yes_no(p: ParsedRow, key: str, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in YES_NO:
        return YES_NO[text]
    p.fail(key, f"“{_display(value)}”无效，应为“是”或“否”")
    return False


def _months(p: ParsedRow, value: Any) -> int:
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


def _amount(p: ParsedRow, value: Any) -> Decimal | None:
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
        # a Chinese input method's full-width digits, comma and point read as the
        # claim form and the API read them (NFKC: "１，８００．００" is "1,800.00")
        text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
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
    if amount == 0:
        p.fail(key, "应大于0")
        return None
    if amount > _MAX_AMOUNT:  # before quantize, which a number past 28 digits breaks
        p.fail(key, "金额过大")
        return None
    if amount != amount.quantize(rules.FEN):
        p.fail(key, f"“{p.raw_amount}”超过两位小数（金额精确到分）")
        return None
    if amount > _MAX_AMOUNT:
        p.fail(key, "金额过大")
        return None
    return amount.quantize(rules.FEN)
