"""A training class's documents (issue 16): the same checks and store as a claim's,
downloaded through the class's scope and audited, each SHA-256 a link of the class's
chain that ``verify_audit`` holds the stored file to; a sign-in sheet tied to its
session; one sheet for two sessions or classes is an anomaly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Role
from claims import evidence
from claims.models import Document, DocumentDownload
from classes import services
from classes.models import ClassDocument, ClassEvent
from classes.selectors import class_documents, shared_class_sign_in_sheets
from tests.claims.test_documents import (
    EXE,
    api,
    pdf_bytes,
    png_bytes,
    upload,
    verify_audit,
)
from tests.classes.conftest import START, class_input
from tests.factories import InstitutionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def post_class_document(user: Any, class_id: int, kind: str, data: bytes, **extra):
    return api(user).post(
        f"/api/classes/{class_id}/documents/",
        {"kind": kind, "file": upload("签到表.pdf", data), **extra},
        format="multipart",
    )


def test_the_staff_upload_a_roster_and_its_hash_is_a_link_of_the_class_chain(
    filed_class, staff
):
    response = post_class_document(staff, filed_class.pk, "roster", pdf_bytes())
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "kind", "sha256", "size", "content_type"}
    assert body["kind"] == "roster"
    assert body["content_type"] == "application/pdf"
    document = Document.objects.get(pk=body["id"])
    assert document.unit_id == filed_class.unit_id and document.claim_id is None
    assert ClassDocument.objects.get(document=document).training_class == filed_class
    event = ClassEvent.objects.filter(training_class=filed_class).latest("id")
    assert event.action == "attach_document"
    assert event.changes["document"] == document.pk
    assert event.changes["sha256"] == body["sha256"]
    code, output = verify_audit()
    assert code == 0, output


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (EXE, "只接收PDF、JPEG或PNG"),
        (pdf_bytes(javascript="app.alert(1)"), "JavaScript"),
    ],
)
def test_a_wrong_type_or_a_pdf_with_javascript_is_refused_in_chinese(
    filed_class, staff, data, message
):
    response = post_class_document(staff, filed_class.pk, "roster", data)
    assert response.status_code == 400
    assert response.json()["code"] == "document_refused"
    assert message in response.json()["message"]
    assert not ClassDocument.objects.exists()


def test_a_bad_kind_or_session_is_a_400(filed_class, staff):
    response = post_class_document(staff, filed_class.pk, "selfie", pdf_bytes())
    assert response.status_code == 400
    assert "材料类别无效" in response.json()["message"]
    response = post_class_document(
        staff, filed_class.pk, "attendance", pdf_bytes(), session="abc"
    )
    assert response.status_code == 400
    response = post_class_document(
        staff, filed_class.pk, "attendance", pdf_bytes(), session="99999"
    )
    assert response.status_code == 400
    assert "不属于本培训班" in response.json()["message"]


def test_download_in_the_class_scope_and_audited(
    filed_class, staff, clerk, other_clerk, reviewer
):
    document_id = post_class_document(
        staff, filed_class.pk, "roster", pdf_bytes()
    ).json()["id"]
    for user in (staff, clerk, reviewer):
        response = api(user).get(f"/api/documents/{document_id}/")
        assert response.status_code == 200, user.role
        assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert DocumentDownload.objects.filter(document_id=document_id).count() == 3
    other_school = UserFactory(
        username="other_school",
        role=Role.INSTITUTION_STAFF,
        unit_id=None,
        institution=InstitutionFactory(unit_id="654301"),
    )
    for stranger in (other_clerk, other_school):
        assert api(stranger).get(f"/api/documents/{document_id}/").status_code == 404
        response = post_class_document(stranger, filed_class.pk, "roster", pdf_bytes())
        assert response.status_code == 404
    assert DocumentDownload.objects.filter(document_id=document_id).count() == 3


def test_verify_audit_names_a_replaced_class_document(filed_class, staff):
    document_id = post_class_document(
        staff, filed_class.pk, "attendance", png_bytes()
    ).json()["id"]
    document = Document.objects.get(pk=document_id)
    path = Path(evidence.document_storage().path(document.stored_as))
    path.write_bytes(png_bytes((41, 30)))
    code, output = verify_audit()
    assert code == 1
    assert (
        f"培训班 #{filed_class.pk} 的材料 #{document_id}（签到表）的文件已被替换或改动"
        in output
    )


def test_a_session_with_its_sign_in_sheet_uploaded_or_named(
    running_class, staff, clock
):
    people = list(running_class.roster.values_list("trainee_id", flat=True))
    with_file = services.class_session_record(
        class_id=running_class.pk,
        on=START,
        hours=Decimal(8),
        present=people,
        actor=staff,
        sign_in_sheet=upload("a.png", png_bytes()),
    )
    link = ClassDocument.objects.get(session=with_file)
    assert link.document.kind == "attendance"
    # a sheet uploaded first, then named by the session
    clock(date(2020, 4, 2))
    sheet = post_class_document(
        staff, running_class.pk, "attendance", png_bytes((42, 30))
    ).json()["id"]
    response = api(staff).post(
        f"/api/classes/{running_class.pk}/sessions/",
        {"date": "2020-04-02", "hours": "8", "present": people, "sign_in_sheet": sheet},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert ClassDocument.objects.get(document_id=sheet).session is not None
    # the same sheet for another session is refused (it is tied already)
    response = api(staff).post(
        f"/api/classes/{running_class.pk}/sessions/",
        {"date": "2020-04-02", "hours": "2", "present": people, "sign_in_sheet": sheet},
        format="json",
    )
    assert response.status_code == 400
    assert "已用于另一课次" in response.json()["message"]
    # a refused file records no session
    before = running_class.sessions.count()
    with pytest.raises(evidence.DocumentRefused):
        services.class_session_record(
            class_id=running_class.pk,
            on=date(2020, 4, 2),
            hours=Decimal(1),
            present=people,
            actor=staff,
            sign_in_sheet=upload("x.pdf", EXE),
        )
    assert running_class.sessions.count() == before
    assert [d.pk for d in class_documents(staff, running_class.pk)] == [
        link.document_id,
        sheet,
    ]
    code, output = verify_audit()
    assert code == 0, output


def test_one_sheet_for_two_sessions_is_an_anomaly(running_class, staff, clock):
    people = list(running_class.roster.values_list("trainee_id", flat=True))
    assert shared_class_sign_in_sheets() == []
    for day in (1, 2):
        clock(date(2020, 4, day))
        services.class_session_record(
            class_id=running_class.pk,
            on=date(2020, 4, day),
            hours=Decimal(4),
            present=people,
            actor=staff,
            sign_in_sheet=upload("same.png", png_bytes()),
        )
    [found] = shared_class_sign_in_sheets()
    assert len(found.uploads) == 2
    assert {u[1] for u in found.uploads} == {running_class.pk}


def test_a_cancelled_class_takes_no_document(filed_class, staff):
    services.class_cancel(class_id=filed_class.pk, actor=staff, reason="取消")
    response = post_class_document(staff, filed_class.pk, "roster", pdf_bytes())
    assert response.status_code == 409


def test_one_sheet_for_two_classes_is_an_anomaly(filed_class, staff, school):
    other = services.class_create(
        data=class_input(
            school, planned_start=date(2020, 6, 1), planned_end=date(2020, 6, 30)
        ),
        actor=staff,
    )
    for cls in (filed_class, other):
        post_class_document(staff, cls.pk, "attendance", png_bytes())
    [found] = shared_class_sign_in_sheets()
    assert {u[1] for u in found.uploads} == {filed_class.pk, other.pk}
