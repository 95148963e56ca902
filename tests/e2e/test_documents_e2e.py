"""Evidence in a real browser (issue 16), under the settings ``make run`` uses (DEBUG=1)
and the production ones: the clerk uploads a sign-in sheet on the claim page (a photo
with EXIF, named .pdf) and sees it listed; the reviewer's spot check shows it beside the
record, downloads it (the stored file, without its EXIF) and records it as examined."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from accounts.models import Role
from claims import services
from claims.models import Document, DocumentDownload
from quarters import services as quarter_services
from quarters.models import SpotCheck
from tests.factories import InstitutionFactory, TraineeFactory, UserFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-Altay-2019"


@pytest.fixture(params=[True, False], ids=["DEBUG=1", "DEBUG=0"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    """pytest-django forces DEBUG off unless a test sets it."""
    settings.DEBUG = request.param
    return bool(request.param)


@pytest.fixture
def draft(db: object, settings: Any, tmp_path: Path) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    clerk = UserFactory(
        username="liming", first_name="李明", role=Role.COUNTY_CLERK, unit_id="654301"
    )
    UserFactory(username="zhaojun", first_name="赵军", role=Role.PREFECTURE_REVIEWER)
    school = InstitutionFactory(name="阿勒泰市职业技能培训学校", unit_id="654301")
    person = TraineeFactory(groups=["poor_labour"], registered_by_unit_id="654301")
    return services.claim_create(
        data=services.ClaimInput(
            trainee_id=person.pk,
            program_id=9,
            institution_id=school.pk,
            unit_id="654301",
            training_start=date(2020, 3, 1),
            training_end=date(2020, 3, 31),
            amount_requested=Decimal("1800.00"),
            trade_id="4-03-02-01",
            level_id="intermediate",
            passed=True,
            certificate_number="654301-2020-001",
            employment="employed",
        ),
        actor=clerk,
    )


def photo_with_exif(path: Path) -> Path:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (240, 240, 230)).save(out, format="JPEG", exif=exif)
    path.write_bytes(out.getvalue())
    return path


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()


def test_a_sign_in_sheet_from_upload_to_the_spot_check(
    live_server, debug, draft, page: Page, screenshot, tmp_path
):
    from accounts.models import User

    for user in User.objects.all():
        user.set_password(PASSWORD)
        user.save()
    base = live_server.url
    tag = "debug" if debug else "production"

    # The clerk uploads the sign-in sheet on the claim page.
    sign_in(page, base, "liming")
    page.goto(f"{base}/claims/{draft.pk}/")
    panel = page.get_by_test_id("documents")
    expect(panel.get_by_test_id("no-documents")).to_be_visible()
    panel.get_by_label("材料类别").select_option("attendance")
    # by content: Chromium here drops a local path with Chinese in it (test_import_e2e)
    page.set_input_files(
        "#document-file",
        files=[
            {
                "name": "签到表.pdf",  # a photo named .pdf, sent as a PDF
                "mimeType": "application/pdf",
                "buffer": photo_with_exif(tmp_path / "sheet.jpg").read_bytes(),
            }
        ],
    )
    panel.get_by_test_id("upload-document").click()
    expect(page.locator(".alert-success")).to_contain_text("已记入审计链")
    document = Document.objects.get()
    expect(page.get_by_test_id("documents")).to_contain_text(f"材料#{document.pk}")
    expect(page.get_by_test_id("documents")).to_contain_text("JPEG图片")
    screenshot(page, f"documents-claim-page-{tag}")

    # The claim goes to the prefecture and is drawn for a spot check.
    clerk = User.objects.get(username="liming")
    services.claim_submit(claim_id=draft.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    reviewer = User.objects.get(username="zhaojun")
    quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=Decimal("1")
    )
    check = SpotCheck.objects.get(report=report)

    # The reviewer sees the sheet beside the record, downloads it, and records it.
    page.context.clear_cookies()
    sign_in(page, base, "zhaojun")
    page.goto(f"{base}/reports/{report.pk}/")
    cell = page.get_by_test_id(f"spot-check-{draft.pk}")
    with page.expect_download() as download:
        cell.get_by_test_id(f"spot-download-{document.pk}").click()
    body = Path(download.value.path()).read_bytes()
    assert hashlib.sha256(body).hexdigest() == document.sha256
    assert b"PhoneMaker" not in body  # stored without the camera's EXIF
    assert DocumentDownload.objects.filter(actor=reviewer).count() == 1
    cell.get_by_test_id(f"examine-{document.pk}").check()
    cell.get_by_test_id(f"spot-result-{draft.pk}").select_option("consistent")
    cell.get_by_test_id(f"spot-note-{draft.pk}").fill("签到表与花名册相符")
    screenshot(page, f"documents-spot-check-form-{tag}")
    cell.get_by_test_id(f"spot-record-{draft.pk}").click()
    recorded = page.get_by_test_id(f"spot-check-{draft.pk}")
    expect(recorded).to_contain_text("抽查 · 材料相符")
    expect(recorded.get_by_test_id(f"examined-{document.pk}")).to_be_visible()
    screenshot(page, f"documents-spot-check-recorded-{tag}")
    check.refresh_from_db()
    assert list(check.documents_examined.all()) == [document]
