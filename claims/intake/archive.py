"""Defences before parsing: what must never reach the XLSX parser is refused here.

``inspect_archive`` reads only the zip directory and the prolog of each XML part: the
size as uploaded, a real XLSX zip, the inflated size, the entry count, the compression
ratio, no encryption, no macros, no DTD or entity declarations, a plain workbook.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import Any
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_xml

from claims.intake.errors import ImportRefused

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # the file as uploaded
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024  # every entry of the zip, inflated
MAX_ENTRIES = 200  # entries in the zip directory
MAX_RATIO = 100  # inflated / compressed, for an entry above RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024  # small entries may compress as they like


XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


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
        except UNREADABLE_ZIP:
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
UNREADABLE_ZIP = (
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
