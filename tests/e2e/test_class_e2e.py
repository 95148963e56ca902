"""A training class in a real browser (issue 16, Done when), under the settings ``make
run`` uses (DEBUG=1) and the production ones (DEBUG=0), on the filesystem storage:

the institution's staff draft a class and set its roster by ID numbers — one person
already holds three claims this year, and the roster shows it before filing — and file
it; the unit's clerk (not the drafter) accepts it; the staff start it and record its
sessions, the first with a sign-in sheet; the clerk completes it; the claims appear in
the clerk's list, judged; the reviewer's spot check of one of them opens the class's
sign-in sheet."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import timezone

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from accounts.models import Role, User
from claims import services as claim_services
from claims.models import Claim, DocumentDownload
from classes.models import ClassDocument, TrainingClass
from quarters import services as quarter_services
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
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """ "Today" for the services and rules, in this process (the live server's thread
    too): the notice's plan runs 2019—2021."""

    def set_today(day: date) -> None:
        monkeypatch.setattr(timezone, "localdate", lambda *a, **k: day)

    set_today(date(2020, 2, 1))
    return set_today


@pytest.fixture
def world(db: object, settings: Any, tmp_path: Path, clock: Any) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path / "media"
    clerk = UserFactory(
        username="liming", first_name="李明", role=Role.COUNTY_CLERK, unit_id="654301"
    )
    UserFactory(username="zhaojun", first_name="赵军", role=Role.PREFECTURE_REVIEWER)
    school = InstitutionFactory(name="阿勒泰市职业技能培训学校", unit_id="654301")
    UserFactory(
        username="school",
        first_name="王芳",
        role=Role.INSTITUTION_STAFF,
        unit_id=None,
        institution=school,
    )
    people = [
        TraineeFactory(
            name=name, groups=["poor_labour"], registered_by_unit_id="654301"
        )
        for name in ("阿依古丽", "巴特尔", "陈静")
    ]
    # 阿依古丽 already holds three submitted claims of 2020 (五(二): 3 a year)
    busy = people[0]
    other_school = InstitutionFactory(unit_id="654301")
    for n, trade in enumerate(["4-03-02-01", "4-10-01-01", "4-10-01-05"]):
        made = claim_services.claim_create(
            data=claim_services.ClaimInput(
                trainee_id=busy.pk,
                program_id=9,
                institution_id=other_school.pk,
                unit_id="654301",
                training_start=date(2020, 1, 1 + n),
                training_end=date(2020, 1, 20 + n),
                amount_requested=Decimal("1000.00"),
                trade_id=trade,
                level_id="primary",
                passed=True,
                certificate_number=f"PRIOR-{n}",
                employment="employed",
            ),
            actor=clerk,
        )
        claim_services.claim_submit(claim_id=made.pk, actor=clerk)
    for user in User.objects.all():
        user.set_password(PASSWORD)
        user.save()
    return {"people": people, "busy": busy, "clerk": clerk}


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()


def sheet_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (240, 240, 230)).save(out, format="PNG")
    return out.getvalue()


def test_a_class_from_filing_to_the_spot_check(
    live_server, debug, world, clock, page: Page, screenshot
):
    base = live_server.url
    tag = "debug" if debug else "production"
    people, busy = world["people"], world["busy"]

    # The institution's staff land on their class list and draft a class.
    sign_in(page, base, "school")
    expect(page).to_have_url(f"{base}/classes/")
    expect(page.get_by_test_id("nav-classes")).to_be_visible()
    page.get_by_test_id("new-class").click()
    page.get_by_test_id("class-unit").select_option("654301")
    page.get_by_test_id("class-program").select_option("9")
    page.get_by_test_id("class-trade").select_option("4-03-02-01")
    page.get_by_test_id("class-level").select_option("intermediate")
    page.get_by_test_id("class-project_based").check()
    page.get_by_test_id("class-planned_start").fill("2020-04-01")
    page.get_by_test_id("class-planned_end").fill("2020-04-10")
    page.get_by_test_id("class-hours").fill("40")
    page.get_by_test_id("class-location").fill("阿勒泰市职业技能培训学校实训楼")
    page.get_by_test_id("class-teachers").fill("王老师、李老师")
    screenshot(page, f"class-form-{tag}")
    page.get_by_test_id("save-class").click()
    cls = TrainingClass.objects.get()

    # The roster by ID numbers: the busy person's fourth claim shows before filing.
    page.get_by_test_id("roster-id-numbers").fill(
        "\n".join(p.id_number for p in people)
    )
    page.get_by_test_id("save-roster").click()
    expect(page).to_have_url(f"{base}/classes/{cls.pk}/")
    rows = page.get_by_test_id("roster-row")
    expect(rows).to_have_count(3)
    busy_row = rows.filter(has_text=busy.name)
    expect(busy_row.get_by_test_id("precheck")).to_contain_text("不通过")
    expect(busy_row.get_by_test_id("precheck-violation")).to_contain_text("3")
    for person in people[1:]:
        expect(
            rows.filter(has_text=person.name).get_by_test_id("precheck")
        ).to_contain_text("通过")
    expect(page.get_by_test_id("accept-class")).to_have_count(0)  # never the drafter's
    screenshot(page, f"class-roster-precheck-{tag}")
    page.get_by_test_id("file-class").click()
    expect(page.get_by_test_id("class-status")).to_contain_text("已报备")

    # The unit's clerk accepts the filing.
    sign_in(page, base, "liming")
    page.get_by_test_id("nav-classes").click()
    page.get_by_role("link", name=f"培训班#{cls.pk}").click()
    page.get_by_test_id("accept-class").click()
    expect(page.get_by_test_id("class-status")).to_contain_text("已备案")

    # The staff start it on its day and record its sessions (no session before the
    # day it started), the first with its sheet.
    clock(date(2020, 4, 1))
    sign_in(page, base, "school")
    page.goto(f"{base}/classes/{cls.pk}/")
    page.get_by_test_id("start-class").click()
    expect(page.get_by_test_id("class-status")).to_contain_text("培训中")
    clock(date(2020, 4, 10))
    for day in range(1, 6):
        page.get_by_test_id("session-date").fill(f"2020-04-0{day}")
        page.get_by_test_id("session-hours").fill("8")
        if day == 1:
            page.set_input_files(
                "#session-sheet",
                files=[
                    {
                        "name": "sheet.png",
                        "mimeType": "image/png",
                        "buffer": sheet_png(),
                    }
                ],
            )
        page.get_by_test_id("record-session").click()
        expect(page.locator(".alert-success")).to_contain_text("已记录")
    expect(page.get_by_test_id("session-row")).to_have_count(5)
    sheet = ClassDocument.objects.get(training_class=cls, session__isnull=False)
    expect(page.get_by_test_id(f"sheet-{sheet.document_id}")).to_be_visible()
    expect(page.get_by_test_id("class-documents")).to_contain_text("签到表")
    screenshot(page, f"class-sessions-{tag}")

    # The clerk completes it: the claims are created, judged.
    sign_in(page, base, "liming")
    page.goto(f"{base}/classes/{cls.pk}/")
    page.get_by_test_id("complete-class").click()
    for n, person in enumerate(people):
        page.get_by_test_id(f"passed-{person.pk}").select_option("yes")
        page.get_by_test_id(f"certificate-{person.pk}").fill(f"654301-2020-{n:03d}")
        page.get_by_test_id(f"employment-{person.pk}").select_option("employed")
    screenshot(page, f"class-complete-{tag}")
    page.get_by_test_id("submit-completion").click()
    expect(page.locator(".alert-success")).to_contain_text("生成申报3笔")
    expect(page.get_by_test_id("class-status")).to_contain_text("已结业")
    claims = {
        c.trainee_id: c for c in Claim.objects.filter(roster_line__training_class=cls)
    }
    assert not claims[busy.pk].eligible
    assert all(claims[p.pk].eligible for p in people[1:])
    screenshot(page, f"class-completed-{tag}")

    page.goto(f"{base}/claims/")
    table = page.get_by_test_id("claim-table")
    for claim in claims.values():
        expect(
            table.get_by_role("link", name=f"#{claim.pk}", exact=True)
        ).to_be_visible()
    expect(table.get_by_test_id(f"not-decided-{claims[busy.pk].pk}")).to_be_visible()
    screenshot(page, f"class-claims-in-list-{tag}")

    # The eligible claims go to the prefecture; the reviewer's spot check opens the
    # class's sign-in sheet.
    clerk = world["clerk"]
    for person in people[1:]:
        claim_services.claim_submit(claim_id=claims[person.pk].pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q2", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    reviewer = User.objects.get(username="zhaojun")
    quarter_services.report_draw_spot_checks(
        report_id=report.pk, actor=reviewer, share=Decimal("1")
    )
    sampled = claims[people[1].pk]
    sign_in(page, base, "zhaojun")
    page.goto(f"{base}/reports/{report.pk}/")
    cell = page.get_by_test_id(f"spot-check-{sampled.pk}")
    with page.expect_download() as download:
        cell.get_by_test_id(f"spot-download-{sheet.document_id}").click()
    body = Path(download.value.path()).read_bytes()
    assert hashlib.sha256(body).hexdigest() == sheet.document.sha256
    assert DocumentDownload.objects.filter(
        actor=reviewer, document_id=sheet.document_id
    ).exists()
    screenshot(page, f"class-spot-check-{tag}")
