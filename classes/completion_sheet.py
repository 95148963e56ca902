"""A class's completion results imported from a sheet (issue 16): one row per person on
the roster — ID number, passed, certificate number, level, employment.

The file passes the claims import's defences first (``claims.intake.archive``: a real
XLSX zip, no macros, no DTD, bounded sizes and ratios), then openpyxl reads it in
read-only mode, at most ``MAX_ROWS`` rows and ``MAX_COLUMNS`` columns whatever the sheet
says. Every bad row is named in Chinese and nothing is taken unless every row is good
(all or none); the results then go to ``classes.services.class_complete``, which
creates the claims all or none as well.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from openpyxl import load_workbook

from altay_skills.errors import DomainError
from claims.intake.archive import inspect_archive
from claims.intake.errors import ImportRefused
from claims.models import Employment
from classes.models import RosterLine
from classes.services import ClassResult
from programs.models import Level
from trainees.id_numbers import InvalidIdNumber, normalize, parse_id_number

logger = logging.getLogger(__name__)

#: The columns, in order (a header row naming them is expected first).
HEADERS = ("身份证号码", "是否合格", "证书编号", "取得等级", "就业情况")
#: Rows read at most: a header and the largest roster (50), with room for blank rows.
MAX_ROWS = 120
MAX_COLUMNS = len(HEADERS)
#: Blank rows walked below ``MAX_ROWS`` before the sheet is refused.
MAX_SCAN = 1_000

YES = {"是", "合格", "通过", "y", "yes", "true", "1"}
NO = {"否", "不合格", "未通过", "n", "no", "false", "0"}


class SheetRefused(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__("completion_sheet_refused", message)


def results_from_sheet(data: bytes, roster: list[RosterLine]) -> list[ClassResult]:
    """The results the sheet gives for ``roster``, or ``SheetRefused`` naming every
    bad row (none taken)."""
    try:
        inspect_archive(data)
    except ImportRefused as exc:
        raise SheetRefused(exc.message) from None
    rows = _rows(data)
    if not rows:
        raise SheetRefused("结业结果表是空的：第一行为表头，其后每行一名学员")
    header = [str(v or "").strip() for v in rows[0][1]]
    if header[: len(HEADERS)] != list(HEADERS):
        raise SheetRefused("表头应为：" + "、".join(HEADERS) + "（第一行，依次排列）")
    by_number = {line.trainee.id_number: line for line in roster}
    # a level by its code, its name ("四级/中级工") or either half of it ("中级工")
    levels: dict[str, str] = {}
    for lv in Level.objects.all():
        for alias in (lv.name, *lv.name.split("/")):
            levels.setdefault(alias.strip(), lv.code)
        levels[lv.code] = lv.code
    employment = {str(label): value for value, label in Employment.choices}
    employment.update({value: value for value in Employment.values})
    results: list[ClassResult] = []
    problems: list[str] = []
    seen: dict[int, int] = {}
    for number, values in rows[1:]:
        cells = [("" if v is None else str(v).strip()) for v in values]
        cells += [""] * (MAX_COLUMNS - len(cells))
        if not any(cells):
            continue
        id_number, passed, certificate, level, job = cells[:MAX_COLUMNS]
        try:
            parsed = parse_id_number(normalize(id_number)).number
        except InvalidIdNumber as exc:
            problems.append(f"第{number}行：身份证号码无效（{exc.message}）")
            continue
        line = by_number.get(parsed)
        if line is None:
            problems.append(f"第{number}行：该身份证号码不在培训班名单上")
            continue
        if line.trainee_id in seen:
            problems.append(f"第{number}行：与第{seen[line.trainee_id]}行是同一名学员")
            continue
        seen[line.trainee_id] = number
        row_problems = []
        if passed.lower() in YES:
            is_passed = True
        elif passed.lower() in NO:
            is_passed = False
        else:
            row_problems.append("“是否合格”应填“是”或“否”")
            is_passed = False
        if len(certificate) > 50:
            row_problems.append("证书编号超过50个字符")
        if level and level not in levels:
            row_problems.append(f"取得等级“{level}”无效")
        if (job or "未就业") not in employment:
            row_problems.append(
                "就业情况应为：" + "、".join(str(lb) for _, lb in Employment.choices)
            )
        if row_problems:
            problems.append(f"第{number}行：" + "；".join(row_problems))
            continue
        results.append(
            ClassResult(
                trainee_id=line.trainee_id,
                passed=is_passed,
                certificate_number=certificate,
                level_id=levels[level] if level else None,
                employment=employment[job or "未就业"],
            )
        )
    missing = [line for line in roster if line.trainee_id not in seen]
    if missing and not problems:
        problems.append(
            "名单上以下学员没有结果行："
            + "、".join(line.trainee.name for line in missing)
        )
    if problems:
        raise SheetRefused(
            "结业结果表未导入（一行也未采用）：" + "；".join(problems[:20])
        )
    return results


def _rows(data: bytes) -> list[tuple[int, list[Any]]]:
    """The first sheet's rows (number, values), at most ``MAX_ROWS`` rows of
    ``MAX_COLUMNS`` cells; a row below that is refused, not ignored."""
    try:
        wb = load_workbook(
            io.BytesIO(data),
            read_only=True,
            data_only=True,
            keep_vba=False,
            keep_links=False,
        )
    except Exception:  # untrusted input meets a third-party parser
        logger.info("completion sheet could not be opened", exc_info=True)
        raise SheetRefused(
            "无法读取该Excel文件，请用Excel打开检查后重新保存再上传"
        ) from None
    try:
        sheet = wb.worksheets[0]
        sheet.reset_dimensions()
        rows: list[tuple[int, list[Any]]] = []
        for number, row in enumerate(
            sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1
        ):
            if number > MAX_ROWS:
                # below the bound only blank rows are taken (walked at most to
                # MAX_SCAN), so no row is silently left out
                if number > MAX_SCAN or any(v not in (None, "") for v in row):
                    raise SheetRefused(
                        f"结业结果表超过{MAX_ROWS}行，每班不超过50人，请删除多余的行"
                    )
                continue
            rows.append((number, list(row)))
        while rows and not any(v not in (None, "") for v in rows[-1][1]):
            rows.pop()
        return rows
    except SheetRefused:
        raise
    except Exception:
        logger.info("completion sheet could not be read", exc_info=True)
        raise SheetRefused("无法读取该Excel文件的内容，请检查后重新上传") from None
    finally:
        wb.close()
