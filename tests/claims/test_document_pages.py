"""Evidence on the pages (issue 16): the claim page lists its documents with download
links and, for the unit's clerk while the claim is a draft, returned or submitted, an
upload form; the reviewer's spot check shows the claim's documents beside the record
and names those examined."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

import pytest
from PIL import Image

from claims import services
from claims.models import ClaimEvent, Document
from quarters import services as quarter_services
from quarters.models import ReportEvent, SpotCheck
from tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def png(size: tuple[int, int] = (8, 6)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (0, 90, 0)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def attach(claim: Any, clerk: Any, kind: str = "attendance", size=(8, 6)) -> Document:
    return services.claim_attach_document(
        claim_id=claim.pk,
        kind=kind,
        upload=SimpleUploadedFile(
            "sheet.pdf", png(size), content_type="application/pdf"
        ),
        actor=clerk,
    )


def test_the_clerk_uploads_from_the_claim_page_and_sees_it_listed(
    client, clerk, claim_input
):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    client.force_login(clerk)
    page = client.get(reverse("claim_detail", args=[claim.pk])).content.decode()
    assert 'data-testid="document-upload"' in page
    assert 'data-testid="no-documents"' in page
    response = client.post(
        reverse("claim_document_upload", args=[claim.pk]),
        {"kind": "certificate", "file": SimpleUploadedFile("证书.jpg", png())},
        follow=True,
    )
    html = response.content.decode()
    document = Document.objects.get()
    assert f"材料#{document.pk}（证书）已上传" in html
    assert reverse("api-document", args=[document.pk]) in html
    assert "PNG图片" in html  # recognised by content, not by the name 证书.jpg
    # the trail shows the document and its hash
    assert f"材料#{document.pk} 证书，SHA-256 {document.sha256}" in html


def test_a_refused_upload_says_why_on_the_page(client, clerk, claim_input):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    client.force_login(clerk)
    response = client.post(
        reverse("claim_document_upload", args=[claim.pk]),
        {
            "kind": "roster",
            "file": SimpleUploadedFile("花名册.pdf", b"MZ\x90\x00" * 50),
        },
    )
    assert response.status_code == 400
    assert "只接收PDF、JPEG或PNG" in response.content.decode()
    assert not Document.objects.exists()


def test_no_upload_form_after_approval_nor_for_the_reviewer(
    client, clerk, reviewer, claim_input
):
    from tests.factories import send_to_prefecture

    claim = services.claim_create(data=claim_input(), actor=clerk)
    attach(claim, clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    client.force_login(reviewer)
    html = client.get(reverse("claim_detail", args=[claim.pk])).content.decode()
    assert 'data-testid="document-upload"' not in html
    assert 'data-testid="document-row"' in html  # but the reviewer sees the document
    send_to_prefecture(claim, sampled_by=reviewer)
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    client.force_login(clerk)
    html = client.get(reverse("claim_detail", args=[claim.pk])).content.decode()
    assert 'data-testid="document-upload"' not in html
    assert 'data-testid="document-row"' in html


def sampled_claim(clerk, reviewer, claim_input):
    """A submitted report of one claim with two documents, the claim drawn."""
    person = TraineeFactory(groups=["poor_labour"], registered_by_unit_id="654301")
    claim = services.claim_create(data=claim_input(trainee_id=person.pk), actor=clerk)
    sheet = attach(claim, clerk, "attendance")
    roster = attach(claim, clerk, "roster", size=(9, 9))
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    from decimal import Decimal

    quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=Decimal("1")
    )
    return claim, report, SpotCheck.objects.get(report=report), sheet, roster


def test_the_spot_check_shows_the_documents_and_records_those_examined(
    client, clerk, reviewer, claim_input
):
    claim, report, check, sheet, roster = sampled_claim(clerk, reviewer, claim_input)
    client.force_login(reviewer)
    html = client.get(reverse("report_detail", args=[report.pk])).content.decode()
    for document in (sheet, roster):
        assert f'data-testid="examine-{document.pk}"' in html
        assert reverse("api-document", args=[document.pk]) in html
    # the reviewer opens the sheet from the page (the audited download), then records
    assert client.get(reverse("api-document", args=[sheet.pk])).status_code == 200
    response = client.post(
        reverse("spot_check_record", args=[check.pk]),
        {"result": "consistent", "documents": [str(sheet.pk)]},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-testid="examined-{sheet.pk}"' in html
    assert f'data-testid="examined-{roster.pk}"' not in html
    check.refresh_from_db()
    assert list(check.documents_examined.values_list("pk", flat=True)) == [sheet.pk]
    event = ClaimEvent.objects.filter(claim=claim, action="spot_check").get()
    assert event.changes["documents"] == [
        {"document": sheet.pk, "sha256": sheet.sha256}
    ]
    trail = ReportEvent.objects.filter(report=report, action="record_spot_check").get()
    assert trail.changes["documents"] == [
        {"document": sheet.pk, "sha256": sheet.sha256}
    ]


def test_a_spot_check_cannot_name_another_claims_document(
    client, clerk, reviewer, claim_input
):
    _, _, check, _, _ = sampled_claim(clerk, reviewer, claim_input)
    elsewhere = services.claim_create(
        data=claim_input(
            trainee_id=TraineeFactory(groups=["poor_labour"]).pk,
            trade_id="6-31-01-03",
        ),
        actor=clerk,
    )
    stranger = attach(elsewhere, clerk, size=(3, 3))
    response = api_record(reviewer, check, [stranger.pk])
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_document"
    check.refresh_from_db()
    assert check.result == "pending"
    assert not check.documents_examined.exists()


def api_record(user, check, documents):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client.post(
        f"/api/spot-checks/{check.pk}/",
        {"result": "consistent", "documents": documents},
        format="json",
    )


def test_the_api_records_the_documents_examined(client, clerk, reviewer, claim_input):
    _, _, check, sheet, roster = sampled_claim(clerk, reviewer, claim_input)
    opened(reviewer, sheet, roster)
    response = api_record(reviewer, check, [roster.pk, sheet.pk])
    assert response.status_code == 200, response.content
    assert sorted(response.json()["documents_examined"]) == sorted(
        [sheet.pk, roster.pk]
    )


# --- 材料相符 names documents the reviewer opened (the trust review: a reviewer could
# record 材料相符 on a claim without a single document, or tick one never opened) ------
def opened(reviewer, *documents: Document) -> None:
    """The reviewer opens each document through the audited download."""
    for document in documents:
        services.document_download(document_id=document.pk, actor=reviewer)


def test_documents_match_needs_a_document_named(client, clerk, reviewer, claim_input):
    _, report, check, sheet, _ = sampled_claim(clerk, reviewer, claim_input)
    opened(reviewer, sheet)
    response = api_record(reviewer, check, [])
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "nothing_examined"
    assert "勾选" in body["message"]
    check.refresh_from_db()
    assert check.result == "pending"
    assert not ReportEvent.objects.filter(
        report=report, action="record_spot_check"
    ).exists()


def test_documents_match_cannot_be_recorded_on_a_claim_without_documents(
    clerk, reviewer, claim_input
):
    from quarters.services import spot_check_record
    from tests.factories import send_to_prefecture

    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = send_to_prefecture(claim)
    quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=__import__("decimal").Decimal("1")
    )
    check = SpotCheck.objects.get(report=report)
    from altay_skills.errors import DomainError

    with pytest.raises(DomainError) as refused:
        spot_check_record(spot_check_id=check.pk, actor=reviewer, result="consistent")
    assert refused.value.code == "nothing_examined"
    assert "没有任何证明材料" in refused.value.message
    # 材料不符 with its reason is what such a claim can be found
    recorded = spot_check_record(
        spot_check_id=check.pk,
        actor=reviewer,
        result="inconsistent",
        note="未上传花名册",
    )
    assert recorded.result == "inconsistent"


def test_a_document_named_as_examined_must_have_been_opened_by_the_reviewer(
    clerk, reviewer, claim_input
):
    from tests.factories import UserFactory

    _, _, check, sheet, roster = sampled_claim(clerk, reviewer, claim_input)
    colleague = UserFactory(role="prefecture_reviewer", unit=None)
    opened(colleague, roster)  # another reviewer's download is not this one's look
    opened(reviewer, sheet)
    response = api_record(reviewer, check, [sheet.pk, roster.pk])
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "not_opened"
    assert f"#{roster.pk}" in body["message"] and f"#{sheet.pk}" not in body["message"]
    check.refresh_from_db()
    assert check.result == "pending"
    opened(reviewer, roster)
    assert api_record(reviewer, check, [sheet.pk, roster.pk]).status_code == 200


def test_the_spot_check_form_says_what_documents_match_needs(
    client, clerk, reviewer, claim_input
):
    _, report, check, sheet, _ = sampled_claim(clerk, reviewer, claim_input)
    client.force_login(reviewer)
    html = client.get(reverse("report_detail", args=[report.pk])).content.decode()
    assert "须先打开并勾选" in html
    response = client.post(
        reverse("spot_check_record", args=[check.pk]),
        {"result": "consistent", "documents": [str(sheet.pk)]},
        **HTMX,
    )
    html = response.content.decode()
    assert "未经您打开查看" in html
    assert f'data-testid="examine-{sheet.pk}"' in html  # the form stays to retry


def test_a_download_in_another_role_or_a_head_request_is_no_look(
    clerk, reviewer, claim_input
):
    """The review of session 25's fixes: a clerk's download, made before the clerk
    became a reviewer, and a body-less HEAD request both counted as opened."""
    from rest_framework.test import APIClient

    from claims.models import DocumentDownload
    from tests.factories import UserFactory
    from tests.quarters.test_segregation import make_reviewer

    _, _, check, sheet, _ = sampled_claim(clerk, reviewer, claim_input)
    colleague = UserFactory(username="clerk_b", role="county_clerk", unit_id="654301")
    services.document_download(document_id=sheet.pk, actor=colleague)
    admins = (
        UserFactory(username="admin_1", role="administrator", is_staff=True),
        UserFactory(username="admin_2", role="administrator", is_staff=True),
    )
    now_reviewer = make_reviewer(colleague, admins)
    response = api_record(now_reviewer, check, [sheet.pk])
    assert response.status_code == 400
    assert response.json()["code"] == "not_opened"
    head = APIClient()
    head.force_authenticate(reviewer)
    answer = head.head(f"/api/documents/{sheet.pk}/")
    assert answer.status_code == 405
    assert not DocumentDownload.objects.filter(actor=reviewer).exists()
    assert api_record(reviewer, check, [sheet.pk]).json()["code"] == "not_opened"
