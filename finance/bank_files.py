"""A bank file written from, and a result file read with, a bank template held as data
(``finance.models.BankTemplate``, issue 18): CSV, XLSX or fixed-width text, in UTF-8
or GBK. No database access: the services hand in the template and the lines."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from finance.bank_rules import amount_text, parse_amount

_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^}]*))?\}")
_WIDTH = re.compile(r"^.?[<>^]?(\d+)$")


class Template(Protocol):
    format: str
    encoding: str
    delimiter: str
    fields: list[dict[str, Any]]
    header: str
    trailer: str
    column_titles: bool
    date_format: str
    amount_unit: str
    paid_values: list[str]
    failed_values: list[str]


class FileError(ValueError):
    """The file cannot be read with the template (the message is Chinese)."""


# --- Writing ------------------------------------------------------------------------------------
def _summary(template: Template, pattern: str, values: dict[str, Any]) -> str:
    return pattern.format(
        count=values["count"],
        total=amount_text(values["total"], template.amount_unit),
        date=values["date"].strftime(template.date_format),
        batch=values.get("batch", ""),
    )


def _cell(template: Template, name: str, value: Any) -> str:
    if isinstance(value, Decimal):
        return amount_text(value, template.amount_unit)
    if isinstance(value, date):
        return value.strftime(template.date_format)
    return "" if value is None else str(value)


def _fixed(text: str, spec: dict[str, Any], encoding: str) -> str:
    """A fixed-width field, ``width`` counted in bytes of the encoding (a Chinese
    character is two bytes in GBK); a value wider than its field is refused."""
    width = int(spec.get("width") or 0)
    if width <= 0:
        return text
    size = len(text.encode(encoding))
    if size > width:
        raise FileError(f"字段“{spec.get('title') or spec['name']}”的值超出{width}字节")
    pad = (spec.get("pad") or " ") * (width - size)
    return pad + text if spec.get("align") == "right" else text + pad


def render(
    template: Template, lines: list[dict[str, Any]], *, day: date, batch: str = ""
) -> bytes:
    """The file's bytes: header, one line per payment, trailer."""
    total = sum((line["amount"] for line in lines), Decimal("0.00"))
    summary = {"count": len(lines), "total": total, "date": day, "batch": batch}
    rows: list[list[str]] = [
        [_cell(template, f["name"], line.get(f["name"])) for f in template.fields]
        for line in lines
    ]
    titles = [f.get("title") or f["name"] for f in template.fields]
    header = _summary(template, template.header, summary) if template.header else ""
    trailer = _summary(template, template.trailer, summary) if template.trailer else ""
    if template.format == "xlsx":
        return _render_xlsx(template, rows, titles, header, trailer)
    out: list[str] = []
    if header:
        out.append(header)
    if template.format == "fixed":
        out += [
            "".join(
                _fixed(v, f, template.encoding)
                for v, f in zip(row, template.fields, strict=True)
            )
            for row in rows
        ]
    else:
        buffer = io.StringIO()
        writer = csv.writer(
            buffer, delimiter=template.delimiter or ",", lineterminator="\n"
        )
        if template.column_titles:
            writer.writerow(titles)
        writer.writerows(rows)
        out += buffer.getvalue().splitlines()
    if trailer:
        out.append(trailer)
    text = "\r\n".join(out) + "\r\n"
    try:
        return text.encode(template.encoding)
    except UnicodeEncodeError:
        raise FileError(f"有字符无法以{template.encoding.upper()}编码写出") from None


def _render_xlsx(
    template: Template,
    rows: list[list[str]],
    titles: list[str],
    header: str,
    trailer: str,
) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "代发明细"
    if header:
        sheet.append([header])
    if template.column_titles:
        sheet.append(titles)
    for row in rows:
        sheet.append(row)  # text cells: an account or an amount is never a float
    if trailer:
        sheet.append([trailer])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- Reading ------------------------------------------------------------------------------------
@dataclass
class ReadFile:
    lines: list[dict[str, Any]] = field(default_factory=list)
    count: int | None = None
    total: Decimal | None = None
    #: the batch the file says it answers, each time its template writes ``{batch}``
    #: (header and trailer may both)
    batches: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _summary_regex(pattern: str) -> re.Pattern[str]:
    out, last = [], 0
    for m in _PLACEHOLDER.finditer(pattern):
        out.append(re.escape(pattern[last : m.start()]))
        width = _WIDTH.match(m.group(2) or "")
        body = f".{{{width.group(1)}}}" if width else ".*?"
        out.append(f"(?P<{m.group(1)}>{body})")
        last = m.end()
    out.append(re.escape(pattern[last:]))
    return re.compile("^" + "".join(out) + "$")


def _read_summary(
    template: Template, pattern: str, text: str, result: ReadFile, where: str
) -> None:
    m = _summary_regex(pattern).match(text)
    if m is None:
        result.problems.append(f"{where}格式与模板不符")
        return
    values = m.groupdict()
    if "count" in values:
        count = values["count"].strip().lstrip("0") or "0"
        # no batch holds a billion lines; 5,000 digits were a 500 (int()'s limit)
        if count.isascii() and count.isdigit() and len(count) <= 9:
            result.count = int(count)
        else:
            result.problems.append(f"{where}的笔数无法识别")
    if "total" in values:
        total = parse_amount(values["total"].strip(), template.amount_unit)
        if total is None:
            result.problems.append(f"{where}的总金额无法识别")
        result.total = total
    if "batch" in values:
        result.batches.append(values["batch"].strip().lstrip("0") or "0")


def _decode(template: Template, content: bytes) -> list[str]:
    try:
        text = content.decode(template.encoding)
    except UnicodeDecodeError:
        raise FileError(f"文件不是{template.encoding.upper()}编码的文本") from None
    return [line for line in text.lstrip("\ufeff").splitlines() if line.strip()]


def _cut_fixed(template: Template, line: str) -> list[str]:
    raw = line.encode(template.encoding)
    values, at = [], 0
    for spec in template.fields:
        width = int(spec.get("width") or 0)
        chunk = raw[at : at + width]
        at += width
        try:
            values.append(chunk.decode(template.encoding))
        except UnicodeDecodeError:
            raise FileError("定长字段切分处有半个汉字，文件与模板宽度不符") from None
    if at != len(raw):
        raise FileError("明细行长度与模板不符")
    return values


def _rows(template: Template, content: bytes) -> list[list[str]]:
    if template.format == "xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except (
            Exception
        ):  # openpyxl raises many kinds for a file that is not a workbook
            raise FileError("文件不是有效的XLSX工作簿") from None
        sheet = book.worksheets[0]
        return [
            ["" if v is None else _xlsx_text(v) for v in row]
            for row in sheet.iter_rows(values_only=True)
            if any(v not in (None, "") for v in row)
        ]
    return [[line] for line in _decode(template, content)]


def _xlsx_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y%m%d")
    return str(value)


def parse(template: Template, content: bytes) -> ReadFile:
    """The lines of a file written in ``template``: each a dict by field name (text
    stripped; ``amount`` a Decimal or None), with the count and total its header or
    trailer state. What cannot be read is listed in ``problems``."""
    result = ReadFile()
    rows = _rows(template, content)
    if template.header:
        if not rows:
            raise FileError("文件为空")
        _read_summary(template, template.header, rows.pop(0)[0], result, "首行")
    if template.trailer:
        if not rows:
            raise FileError("文件缺少尾行")
        _read_summary(template, template.trailer, rows.pop()[0], result, "尾行")
    if template.column_titles and rows:
        rows.pop(0)
    names = [f["name"] for f in template.fields]
    for number, row in enumerate(rows, start=1):
        if template.format == "fixed":
            values = _cut_fixed(template, row[0])
        elif template.format == "csv":
            try:
                values = next(csv.reader([row[0]], delimiter=template.delimiter or ","))
            except csv.Error:  # a field past the module's limit (128 KB), a bad quote
                result.problems.append(f"第{number}行无法按CSV格式读取")
                continue
        else:
            values = row
        if len(values) < len(names):
            result.problems.append(f"第{number}行字段数不足")
            continue
        line: dict[str, Any] = {
            n: v.strip() for n, v in zip(names, values[: len(names)], strict=True)
        }
        line["line"] = number
        if "amount" in line:
            line["amount"] = parse_amount(line["amount"], template.amount_unit)
            if line["amount"] is None:
                result.problems.append(f"第{number}行金额无法识别（须两位小数）")
        result.lines.append(line)
    return result
