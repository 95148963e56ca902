"""Evidence documents (issue 16): checked by content, stored out of any public URL,
downloaded through the claim's scope and audited, their SHA-256 a link of the claim's
chain that ``verify_audit`` holds the stored file to."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import subprocess
import sys
import zlib
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

import pikepdf
import pytest
from PIL import Image
from rest_framework.test import APIClient

from claims import evidence, services
from claims.evidence import DocumentRefused, DocumentTooLarge, checked_upload
from claims.models import ClaimEvent, Document, DocumentDownload
from quarters import services as quarter_services
from tests.factories import send_to_prefecture

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent


# --- Files to upload ---------------------------------------------------------------------
def png_bytes(size: tuple[int, int] = (40, 30), **info: str) -> bytes:
    from PIL import PngImagePlugin

    meta = PngImagePlugin.PngInfo()
    for key, value in info.items():
        meta.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, format="PNG", pnginfo=meta)
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = Image.Exif()
    exif[0x013B] = "张三"  # Artist
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (47.0, 50.0, 0.0)}  # GPS: latitude of Altay
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG whose header declares 10 gigapixels; its data is a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def pdf_bytes(
    *,
    javascript: str = "",
    names_javascript: bool = False,
    launch: bool = False,
    embedded: bool = False,
    object_streams: bool = False,
    padding: int = 0,
) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    if javascript:
        pdf.Root.OpenAction = pdf.make_indirect(
            pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String(javascript))
        )
    if names_javascript:
        action = pdf.make_indirect(
            pikepdf.Dictionary(
                S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")
            )
        )
        pdf.Root.Names = pikepdf.Dictionary(
            JavaScript=pikepdf.Dictionary(Names=pikepdf.Array(["a", action]))
        )
    if launch:
        annotation = pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Link,
            Rect=pikepdf.Array([0, 0, 100, 100]),
            A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")),
        )
        pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([annotation]))
    if embedded:
        pdf.attachments["payload.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00")
    if padding:
        pdf.Root.Padding = pdf.make_stream(os.urandom(padding))
    out = io.BytesIO()
    mode = (
        pikepdf.ObjectStreamMode.generate
        if object_streams
        else pikepdf.ObjectStreamMode.preserve
    )
    pdf.save(out, object_stream_mode=mode, compress_streams=True)
    return out.getvalue()


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def upload(name: str, data: bytes, content_type: str = "application/pdf") -> Any:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def verify_audit() -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def post_document(user: Any, claim_id: int, kind: str, name: str, data: bytes) -> Any:
    return api(user).post(
        f"/api/claims/{claim_id}/documents/",
        {"kind": kind, "file": upload(name, data)},
        format="multipart",
    )


# --- The checker: by content, not by name --------------------------------------------------
def test_a_png_named_pdf_and_sent_as_pdf_is_a_png():
    checked = checked_upload(upload("签到表.pdf", png_bytes()))
    assert (checked.kind, checked.content_type, checked.extension) == (
        "png",
        "image/png",
        "png",
    )
    assert checked.sha256 == hashlib.sha256(checked.bytes).hexdigest()
    assert checked.size == len(checked.bytes)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("花名册.pdf", EXE),
        ("证书.png", b"GIF89a" + b"\x00" * 100),
        ("合同.pdf", b"PK\x03\x04" + b"\x00" * 100),  # a zip (an Office file)
        ("说明.pdf", "这是一段文字".encode()),
    ],
)
def test_anything_but_a_pdf_jpeg_or_png_is_refused_whatever_its_name(name, data):
    with pytest.raises(DocumentRefused, match="只接收PDF、JPEG或PNG"):
        checked_upload(upload(name, data))


def test_an_empty_file_is_refused():
    with pytest.raises(DocumentRefused, match="文件为空"):
        checked_upload(upload("a.pdf", b""))


def test_a_file_over_10_mb_is_refused_by_its_declared_size_and_by_what_is_read():
    data = b"%PDF-1.4\n" + b"0" * evidence.MAX_BYTES
    with pytest.raises(DocumentTooLarge, match="10 MB"):
        checked_upload(upload("big.pdf", data))

    class Undeclared(io.BytesIO):
        name = "big.pdf"

    with pytest.raises(DocumentTooLarge):
        checked_upload(Undeclared(data))


def test_a_jpeg_is_re_encoded_without_its_exif():
    original = jpeg_with_exif()
    assert Image.open(io.BytesIO(original)).getexif()  # the test's file has EXIF
    checked = checked_upload(upload("photo.jpg", original, "image/jpeg"))
    stored = Image.open(io.BytesIO(checked.bytes))
    assert stored.format == "JPEG"
    assert stored.size == (64, 48)
    assert not stored.getexif()
    assert b"PhoneMaker" not in checked.bytes
    assert checked.sha256 != hashlib.sha256(original).hexdigest()


def test_a_png_loses_its_text_chunks():
    original = png_bytes(Author="张三", Comment="GPS 47.8N")
    assert b"GPS" in original
    checked = checked_upload(upload("a.png", original, "image/png"))
    assert b"GPS" not in checked.bytes
    assert Image.open(io.BytesIO(checked.bytes)).size == (40, 30)


def test_a_decompression_bomb_is_refused_from_its_header():
    bomb = png_bomb()
    assert len(bomb) < 200
    with pytest.raises(DocumentRefused, match="像素过多"):
        checked_upload(upload("bomb.png", bomb, "image/png"))


def test_a_truncated_image_is_refused():
    with pytest.raises(DocumentRefused, match="损坏"):
        checked_upload(upload("a.png", png_bytes()[:60], "image/png"))


def test_a_plain_pdf_is_stored_byte_for_byte():
    data = pdf_bytes()
    checked = checked_upload(upload("roster.pdf", data))
    assert checked.content_type == "application/pdf"
    assert checked.bytes == data


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"javascript": "app.alert('x')"}, "JavaScript"),
        ({"javascript": "app.alert('x')", "object_streams": True}, "JavaScript"),
        ({"names_javascript": True}, "JavaScript"),
        ({"launch": True}, "Launch"),
        ({"embedded": True}, "嵌入文件"),
    ],
)
def test_a_pdf_with_script_a_launch_action_or_an_embedded_file_is_refused(
    kwargs, reason
):
    with pytest.raises(DocumentRefused, match=reason):
        checked_upload(upload("x.pdf", pdf_bytes(**kwargs)))


def _pdf_with(**root: Any) -> bytes:
    """A blank page whose catalogue carries ``root`` (built in the document)."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    for key, build in root.items():
        pdf.Root[f"/{key}"] = build(pdf)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("root", "reason"),
    [
        # an XFA form's scripts live in its XML, out of sight of any key name
        (
            {
                "AcroForm": lambda pdf: pikepdf.Dictionary(
                    Fields=pikepdf.Array(),
                    XFA=pdf.make_stream(
                        b'<xdp:xdp><script contentType="application/x-javascript">'
                        b"app.alert(1)</script></xdp:xdp>"
                    ),
                )
            },
            "XFA",
        ),
        # opening the file sends the form to a server
        (
            {
                "OpenAction": lambda pdf: pikepdf.Dictionary(
                    S=pikepdf.Name.SubmitForm,
                    F=pikepdf.Dictionary(
                        FS=pikepdf.Name.URL, F=pikepdf.String("http://evil.example/")
                    ),
                )
            },
            "提交表单",
        ),
        (
            {
                "OpenAction": lambda pdf: pikepdf.Dictionary(
                    S=pikepdf.Name.URI, URI=pikepdf.String("http://evil.example/")
                )
            },
            "网络地址",
        ),
        (
            {
                "OpenAction": lambda pdf: pikepdf.Dictionary(
                    S=pikepdf.Name.GoToR, F=pikepdf.String("other.pdf")
                )
            },
            "其他文件",
        ),
    ],
)
def test_a_pdf_that_reaches_out_of_itself_is_refused(root, reason):
    with pytest.raises(DocumentRefused, match=reason):
        checked_upload(upload("x.pdf", _pdf_with(**root)))


def test_nothing_before_the_pdf_header_is_kept():
    # the review's file: a header, an HTML page, then a whole PDF — pikepdf reads the
    # PDF, the stored bytes would carry the page
    polyglot = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n" + pdf_bytes()
    with pytest.raises(DocumentRefused, match="%PDF-"):
        checked_upload(upload("x.pdf", polyglot))
    # a plain PDF, with its binary comment line, starts as it should
    assert checked_upload(upload("x.pdf", pdf_bytes())).content_type == (
        "application/pdf"
    )


def test_a_broken_pdf_is_refused():
    with pytest.raises(DocumentRefused, match="PDF"):
        checked_upload(upload("x.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50))


# --- Attaching to a claim: the API, the chain, the scope -------------------------------------
def test_the_clerk_uploads_and_the_sha256_is_a_link_of_the_claims_chain(
    clerk, claim_input
):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    response = post_document(clerk, claim.pk, "attendance", "签到表.pdf", png_bytes())
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "kind", "sha256", "size", "content_type"}
    assert body["kind"] == "attendance"
    assert body["content_type"] == "image/png"
    document = Document.objects.get(pk=body["id"])
    assert document.claim_id == claim.pk
    assert document.unit_id == claim.unit_id
    assert not document.stored_as.endswith(".pdf")  # named by content, randomly
    assert "签到表" not in document.stored_as
    stored = (Path(evidence.document_storage().path(document.stored_as))).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == body["sha256"]
    event = ClaimEvent.objects.filter(claim=claim).order_by("-id").first()
    assert event.action == "attach_document"
    assert event.from_status == event.to_status == "draft"
    assert event.changes["document"] == document.pk
    assert event.changes["sha256"] == body["sha256"]
    assert event.changes["kind"] == "attendance"
    code, output = verify_audit()
    assert code == 0, output
    assert "证明材料与存储文件、审计链一致：1 份材料" in output


def test_the_api_answers_a_refusal_in_chinese_json(clerk, claim_input):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    response = post_document(clerk, claim.pk, "roster", "花名册.pdf", EXE)
    assert response.status_code == 400
    assert response.json()["code"] == "document_refused"
    assert "只接收PDF、JPEG或PNG" in response.json()["message"]
    response = post_document(
        clerk, claim.pk, "roster", "x.pdf", pdf_bytes(javascript="app.alert(1)")
    )
    assert response.status_code == 400
    assert "JavaScript" in response.json()["message"]
    response = post_document(clerk, claim.pk, "passport", "x.png", png_bytes())
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_kind"
    assert not Document.objects.exists()
    assert not ClaimEvent.objects.filter(action="attach_document").exists()


def test_an_upload_over_10_mb_is_a_json_413(clerk, claim_input, client):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    response = post_document(
        clerk, claim.pk, "roster", "big.pdf", b"%PDF-1.4\n" + b"0" * evidence.MAX_BYTES
    )
    assert response.status_code == 413
    assert "10 MB" in response.json()["message"]
    # a body far over the file's limit is refused unread by the body-size middleware
    client.force_login(clerk)
    response = client.post(
        f"/api/claims/{claim.pk}/documents/",
        {"kind": "roster", "file": upload("big.pdf", b"0" * (12 * 1024 * 1024))},
    )
    assert response.status_code == 413
    assert response.json()["message"] == "文件超过10 MB的上限，未被接收"


def test_a_file_of_a_few_mb_passes_the_api_body_limit(clerk, claim_input, client):
    """The API's 1 MB body limit does not apply to the upload route."""
    claim = services.claim_create(data=claim_input(), actor=clerk)
    data = pdf_bytes(padding=3 * 1024 * 1024)
    client.force_login(clerk)
    response = client.post(
        f"/api/claims/{claim.pk}/documents/",
        {"kind": "roster", "file": upload("roster.pdf", data)},
    )
    assert response.status_code == 201, response.content
    assert response.json()["size"] == len(data)


def test_another_units_clerk_can_neither_upload_nor_download(
    clerk, other_clerk, claim_input
):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    document_id = post_document(clerk, claim.pk, "roster", "a.png", png_bytes()).json()[
        "id"
    ]
    assert (
        post_document(other_clerk, claim.pk, "roster", "a.png", png_bytes()).status_code
        == 404
    )
    response = api(other_clerk).get(f"/api/documents/{document_id}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not DocumentDownload.objects.exists()
    assert Document.objects.count() == 1


def test_a_download_is_the_stored_file_and_is_recorded(
    clerk, reviewer, auditor, claim_input
):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    data = pdf_bytes()
    document_id = post_document(
        clerk, claim.pk, "certificate", "证书.pdf", data
    ).json()["id"]
    for user in (clerk, reviewer, auditor):
        response = api(user).get(f"/api/documents/{document_id}/")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment")
        assert "no-store" in response["Cache-Control"]
        assert b"".join(response.streaming_content) == data
    downloads = list(DocumentDownload.objects.order_by("id"))
    assert [(d.actor_id, d.actor_role) for d in downloads] == [
        (clerk.pk, "county_clerk"),
        (reviewer.pk, "prefecture_reviewer"),
        (auditor.pk, "auditor"),
    ]


def test_the_administrator_sees_no_document(clerk, administrator, claim_input):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    document_id = post_document(clerk, claim.pk, "roster", "a.png", png_bytes()).json()[
        "id"
    ]
    assert api(administrator).get(f"/api/documents/{document_id}/").status_code == 404


def test_only_the_clerk_uploads_and_never_after_a_decision(
    clerk, reviewer, claim_input
):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    assert (
        post_document(reviewer, claim.pk, "roster", "a.png", png_bytes()).status_code
        == 403
    )
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    # under review a missing paper may still be added
    assert (
        post_document(clerk, claim.pk, "roster", "a.png", png_bytes()).status_code
        == 201
    )
    send_to_prefecture(claim, sampled_by=reviewer)
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    response = post_document(clerk, claim.pk, "roster", "b.png", png_bytes((5, 5)))
    assert response.status_code == 409
    assert response.json()["code"] == "documents_closed"
    assert Document.objects.count() == 1


def test_a_failed_record_leaves_no_stored_file(
    clerk, claim_input, monkeypatch, settings
):
    claim = services.claim_create(data=claim_input(), actor=clerk)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "_record", broken)
    with pytest.raises(RuntimeError):
        services.claim_attach_document(
            claim_id=claim.pk,
            kind="roster",
            upload=upload("a.png", png_bytes()),
            actor=clerk,
        )
    assert not Document.objects.exists()
    assert [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()] == []


# --- verify_audit holds the stored files to the chain -----------------------------------------
def test_verify_audit_names_a_replaced_file(clerk, claim_input):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    document_id = post_document(
        clerk, claim.pk, "attendance", "a.png", png_bytes()
    ).json()["id"]
    document = Document.objects.get(pk=document_id)
    path = Path(evidence.document_storage().path(document.stored_as))
    path.write_bytes(png_bytes((41, 30)))  # another sign-in sheet in its place
    code, output = verify_audit()
    assert code == 1
    assert (
        f"申报 #{claim.pk} 的材料 #{document_id}（签到表）的文件已被替换或改动"
        in output
    )
    assert document.sha256 in output


def test_verify_audit_names_a_missing_file(clerk, claim_input):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    document_id = post_document(clerk, claim.pk, "roster", "a.png", png_bytes()).json()[
        "id"
    ]
    document = Document.objects.get(pk=document_id)
    Path(evidence.document_storage().path(document.stored_as)).unlink()
    code, output = verify_audit()
    assert code == 1
    assert f"材料 #{document_id}（花名册）的文件缺失" in output
    # and the download says so instead of failing
    response = api(clerk).get(f"/api/documents/{document_id}/")
    assert response.status_code == 404
    assert "不在存储中" in response.json()["message"]


def test_verify_audit_names_a_record_rewritten_to_a_replaced_files_hash(
    clerk, claim_input
):
    """Replacing the file and rewriting the row's hash to match still disagrees with
    the chain (where the database lets anyone rewrite the row: SQLite)."""
    from django.db import DatabaseError, connection, transaction

    claim = services.claim_create(data=claim_input(), actor=clerk)
    document_id = post_document(clerk, claim.pk, "roster", "a.png", png_bytes()).json()[
        "id"
    ]
    document = Document.objects.get(pk=document_id)
    replacement = png_bytes((7, 7))
    Path(evidence.document_storage().path(document.stored_as)).write_bytes(replacement)
    rewrite = "UPDATE claims_document SET sha256 = %s WHERE id = %s"
    params = [hashlib.sha256(replacement).hexdigest(), document_id]
    if connection.vendor == "postgresql":
        # the trigger of claims 0018 refuses the rewrite, even as raw SQL
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(rewrite, params)
        code, output = verify_audit()  # and the replaced file is still named
        assert code == 1
        assert "已被替换或改动" in output
        return
    with connection.cursor() as cursor:
        cursor.execute(rewrite, params)
    code, output = verify_audit()
    assert code == 1
    assert f"材料 #{document_id}（花名册）的记录与审计链不符" in output


def test_documents_and_downloads_cannot_be_rewritten_or_deleted(clerk, claim_input):
    from claims.models import RecordIsFinal

    claim = services.claim_create(data=claim_input(), actor=clerk)
    document_id = post_document(clerk, claim.pk, "roster", "a.png", png_bytes()).json()[
        "id"
    ]
    document = Document.objects.get(pk=document_id)
    with pytest.raises(RecordIsFinal):
        document.save()
    with pytest.raises(RecordIsFinal):
        document.delete()
    with pytest.raises(RecordIsFinal):
        Document.objects.filter(pk=document_id).update(sha256="0" * 64)
    with pytest.raises(RecordIsFinal):
        Document.objects.all().delete()


# --- Never a public URL; the storage by settings ---------------------------------------------
def test_no_stored_document_is_served_under_media(clerk, claim_input, client, settings):
    settings.DEBUG = True  # make run's settings: still no media route
    claim = services.claim_create(data=claim_input(), actor=clerk)
    document_id = post_document(clerk, claim.pk, "roster", "a.png", png_bytes()).json()[
        "id"
    ]
    name = Document.objects.get(pk=document_id).stored_as
    client.force_login(clerk)
    for url in (f"/media/{name}", f"/{name}", f"/.data/media/{name}"):
        assert client.get(url).status_code == 404, url
    assert not settings.MEDIA_URL or settings.MEDIA_URL == "/"


def storage_backend(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DOCUMENT_") and k not in {"DATABASE_URL"}
    }
    clean.update(env, DEBUG="1", DJANGO_SETTINGS_MODULE="altay_skills.settings")
    code = (
        "import django; django.setup(); "
        "from django.core.files.storage import storages; "
        "s = storages['documents']; "
        "print(type(s).__module__ + '.' + type(s).__name__, "
        "getattr(s, 'bucket_name', '-'), getattr(s, 'default_acl', '-'), "
        "getattr(s, 'endpoint_url', '-'))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_documents_storage_is_the_filesystem_by_default_and_s3_by_settings():
    result = storage_backend()
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.split()[0]
        == "django.core.files.storage.filesystem.FileSystemStorage"
    )
    result = storage_backend(
        DOCUMENT_STORAGE="s3",
        DOCUMENT_S3_BUCKET="altay-evidence",
        DOCUMENT_S3_ENDPOINT_URL="https://minio.altay.example:9000",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "storages.backends.s3.S3Storage",
        "altay-evidence",
        "private",
        "https://minio.altay.example:9000",
    ]
    result = storage_backend(DOCUMENT_STORAGE="ftp")
    assert result.returncode != 0
    assert "DOCUMENT_STORAGE" in result.stderr
