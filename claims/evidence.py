"""Evidence files (issue 16): what an upload may be, and where it is kept.

One checker and one store for every document the system holds — a claim's here
(``claims.services.claim_attach_document``), a training class's later — so that a file
is judged the same way whatever it is attached to:

- **Recognised by content.** The first bytes say what a file is (``filetype``); its name
  and the Content-Type the browser sent are ignored. A PDF, a JPEG or a PNG is taken;
  anything else (an EXE renamed ``.pdf``, a Word file, a GIF) is refused.
- **At most ``MAX_BYTES`` (10 MB).** Refused by the size the upload declares before a
  byte is read, and again by what is read.
- **Images are re-encoded** with Pillow: what is stored is the pixels, without the EXIF
  block (GPS position, camera, owner) or any other metadata or trailing bytes. The
  orientation the camera recorded is applied first, so a photo stays upright. An image
  of more than ``MAX_PIXELS`` is refused before its pixels are decoded (a
  decompression bomb: a few KB of PNG that inflates to gigabytes).
- **PDFs are opened with pikepdf** and every object is walked: JavaScript (``/JS``,
  ``/JavaScript``, an ``/OpenAction`` or additional action that runs script), launch
  actions (``/Launch``) and embedded files (``/EmbeddedFile``, ``/EmbeddedFiles``,
  file attachments) are refused, as are files pikepdf cannot read or that need a
  password. An accepted PDF is stored byte for byte.

The SHA-256 of what is stored is the file's identity: it goes into the owner's hash
chain, and ``documents_verify`` (``manage.py verify_audit``) re-hashes every stored file
against it, so a file replaced on the disk (or in the bucket) is named.

Files are kept through Django's storage API (``settings.STORAGES["documents"]``): the
filesystem under ``MEDIA_ROOT`` unless the settings choose an S3-compatible bucket
(README, "Documents"). Nothing is ever served from a public URL: a stored name is
random, there is no ``MEDIA_URL`` route, and a download goes through a view that
applies the owner's scope (``claims.apis.DocumentDownloadApi``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

import filetype
import pikepdf
from PIL import Image, ImageOps

from altay_skills.errors import DomainError

#: The largest file taken, in bytes (issue 16: at most 10 MB).
MAX_BYTES = 10 * 1024 * 1024
#: The largest image taken, in pixels: a 48-megapixel phone photo passes; a
#: decompression bomb does not (refused from its header, before decoding).
MAX_PIXELS = 50_000_000
#: How deep a PDF's objects are walked (a deeper nesting is refused, not recursed).
MAX_PDF_DEPTH = 64

#: What is taken: the type found in the content → (content type, extension).
ACCEPTED = {
    "application/pdf": ("application/pdf", "pdf"),
    "image/jpeg": ("image/jpeg", "jpg"),
    "image/png": ("image/png", "png"),
}

#: Names in a PDF that make it refused, with what the refusal says.
PDF_REFUSED_NAMES = {
    "/JavaScript": "含有JavaScript脚本",
    "/JS": "含有JavaScript脚本",
    "/Launch": "含有启动外部程序的动作（Launch）",
    "/EmbeddedFile": "含有嵌入文件",
    "/EmbeddedFiles": "含有嵌入文件",
    "/FileAttachment": "含有附件",
    # an XFA form carries its own scripts in XML; rich media plays Flash or video
    "/XFA": "含有XFA动态表单（可携带脚本）",
    "/RichMedia": "含有富媒体内容",
}
#: Action types (``/S``) that are refused wherever they occur (an /OpenAction, an
#: annotation's or a page's additional actions).
PDF_REFUSED_ACTIONS = {
    "/JavaScript": "含有JavaScript脚本",
    "/Launch": "含有启动外部程序的动作（Launch）",
    "/GoToE": "含有指向嵌入文件的动作",
    # actions that reach out of the file: send the form, read data in, open another
    # file or a web address (a link the reader clicks is a /URI action too — a proof
    # of employment or a certificate has no need of one)
    "/SubmitForm": "含有向外部提交表单的动作",
    "/ImportData": "含有导入外部数据的动作",
    "/GoToR": "含有打开其他文件的动作",
    "/URI": "含有访问网络地址的动作",
    "/Sound": "含有播放声音的动作",
    "/Movie": "含有播放影片的动作",
    "/Rendition": "含有播放媒体的动作",
}


#: A PDF's start: the header line, comment lines (the binary marker), then its first
#: object — nothing else in between.
PDF_START = re.compile(
    rb"%PDF-\d\.\d[^\r\n]*[\r\n]+(?:%[^\r\n]*[\r\n]+)*\s*\d+\s+\d+\s+obj\b"
)


class DocumentRefused(DomainError):
    """An upload that is not taken: 400 with the reason in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__("document_refused", message)


class DocumentTooLarge(DomainError):
    status_code = 413

    def __init__(self) -> None:
        super().__init__(
            "document_too_large",
            f"文件超过{MAX_BYTES // (1024 * 1024)} MB的上限，未被接收",
        )


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed: what will be stored (``content``, already re-encoded for
    an image) and its identity."""

    kind: str  # "pdf", "jpeg" or "png"
    content_type: str
    extension: str
    sha256: str
    size: int
    content: bytes
    original_name: str = ""

    @property
    def bytes(self) -> bytes:
        return self.content


def checked_upload(upload: IO[bytes] | Any) -> CheckedFile:
    """Read and judge one uploaded file (a Django ``UploadedFile`` or any binary file
    object); raise ``DocumentRefused`` (400) or ``DocumentTooLarge`` (413)."""
    declared = getattr(upload, "size", None)
    if isinstance(declared, int) and declared > MAX_BYTES:
        raise DocumentTooLarge()
    if hasattr(upload, "seek"):
        upload.seek(0)
    raw = upload.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise DocumentTooLarge()
    if not raw:
        raise DocumentRefused("文件为空")
    name = str(getattr(upload, "name", "") or "")[-200:]
    found = filetype.guess_mime(raw[:8192])
    if found not in ACCEPTED:
        raise DocumentRefused(
            "只接收PDF、JPEG或PNG文件（按文件内容识别，与文件名无关）"
        )
    content_type, extension = ACCEPTED[found]
    if content_type == "application/pdf":
        if not PDF_START.match(raw):
            # what comes before the first object is not what pikepdf checks (an HTML
            # page behind the header, say): never kept
            raise DocumentRefused(
                "PDF文件须以“%PDF-”文件头开始、紧接其对象，文件头与对象之间不能有其他内容"
            )
        _check_pdf(raw)
        content = raw
    else:
        content = _reencoded(raw, content_type)
    return CheckedFile(
        kind=extension if extension != "jpg" else "jpeg",
        content_type=content_type,
        extension=extension,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        content=content,
        original_name=name,
    )


# --- Images ----------------------------------------------------------------------------
def _reencoded(raw: bytes, content_type: str) -> bytes:
    """The image's pixels saved again, without any metadata; a bomb or an unreadable
    image is refused."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(raw))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise DocumentRefused(
                    f"图片像素过多（{width}×{height}），上限为{MAX_PIXELS // 1_000_000}百万像素"
                )
            expected = "JPEG" if content_type == "image/jpeg" else "PNG"
            if image.format != expected:
                raise DocumentRefused("图片内容与其格式不符，无法读取")
            image.load()
            image = ImageOps.exif_transpose(image) or image
    except DocumentRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DocumentRefused(
            f"图片像素过多，上限为{MAX_PIXELS // 1_000_000}百万像素"
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise DocumentRefused("图片已损坏或无法读取") from None
    out = io.BytesIO()
    if content_type == "image/jpeg":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=90, optimize=True)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
            image = image.convert("RGBA")
        image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# --- PDFs ------------------------------------------------------------------------------
def _check_pdf(raw: bytes) -> None:
    """Refuse a PDF that pikepdf cannot open, that needs a password, or any of whose
    objects carries script, a launch action or an embedded file."""
    try:
        pdf = pikepdf.open(io.BytesIO(raw))
    except pikepdf.PasswordError:
        raise DocumentRefused("PDF文件受密码保护，无法检查，未被接收") from None
    except (pikepdf.PdfError, OSError, ValueError, RuntimeError):
        raise DocumentRefused("PDF文件已损坏或无法读取") from None
    with pdf:
        try:
            problem = _pdf_problem(pdf)
        except RecursionError:
            problem = "结构嵌套过深"
        except (pikepdf.PdfError, ValueError, RuntimeError):
            problem = "结构无法读取"
    if problem is not None:
        raise DocumentRefused(f"PDF文件{problem}，未被接收")


def _pdf_problem(pdf: pikepdf.Pdf) -> str | None:
    """The first refused thing found in the document, or None."""
    seen: set[tuple[int, int]] = set()
    roots: list[Any] = [pdf.Root, pdf.trailer]
    roots.extend(pdf.objects)
    for root in roots:
        problem = _walk(root, seen, 0)
        if problem is not None:
            return problem
    return None


def _walk(obj: Any, seen: set[tuple[int, int]], depth: int) -> str | None:
    if depth > MAX_PDF_DEPTH:
        return "结构嵌套过深"
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        key = obj.objgen
        if key in seen:
            return None
        seen.add(key)
    if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        for name in obj.keys():  # noqa: SIM118 (a pikepdf dictionary)
            if name in PDF_REFUSED_NAMES:
                return PDF_REFUSED_NAMES[name]
        action = obj.get("/S")
        if isinstance(action, pikepdf.Name) and str(action) in PDF_REFUSED_ACTIONS:
            return PDF_REFUSED_ACTIONS[str(action)]
        subtype = obj.get("/Subtype")
        if isinstance(subtype, pikepdf.Name) and str(subtype) in PDF_REFUSED_NAMES:
            return PDF_REFUSED_NAMES[str(subtype)]
        for _, value in _items(obj):
            problem = _walk(value, seen, depth + 1)
            if problem is not None:
                return problem
    elif isinstance(obj, pikepdf.Array):
        for value in obj:
            problem = _walk(value, seen, depth + 1)
            if problem is not None:
                return problem
    return None


def _items(obj: Any) -> Iterator[tuple[str, Any]]:
    for name in obj.keys():  # noqa: SIM118
        yield name, obj.get(name)


# --- The store -------------------------------------------------------------------------
def document_storage() -> Storage:
    """The store of evidence files: ``settings.STORAGES["documents"]`` (the filesystem
    under ``MEDIA_ROOT`` by default, an S3-compatible bucket by settings)."""
    return storages["documents"]


def store(checked: CheckedFile, *, folder: str) -> str:
    """Save ``checked`` under a random name in ``documents/<folder>/``; the stored name
    (never derived from what the uploader called the file)."""
    name = f"documents/{folder}/{uuid.uuid4().hex}.{checked.extension}"
    return document_storage().save(name, ContentFile(checked.content))


def discard(name: str) -> None:
    """Remove a stored file whose record was not written (the transaction failed)."""
    with contextlib.suppress(OSError):  # already gone: nothing to undo
        document_storage().delete(name)


def open_stored(name: str) -> IO[bytes]:
    """The stored file, opened for reading (raises ``FileNotFoundError`` or the
    storage's own error when it is gone)."""
    return document_storage().open(name, "rb")


def stored_sha256(name: str) -> str | None:
    """The SHA-256 of the stored file now, or None when it is missing."""
    try:
        handle = open_stored(name)
    except (FileNotFoundError, OSError):
        return None
    digest = hashlib.sha256()
    with handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()
