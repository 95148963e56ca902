"""The bank loop in Chromium (issue 18), under the settings ``make run`` uses (DEBUG=1)
and the production ones: finance builds a balance batch from a ready rollup in the
bank's CSV template, downloads the file byte for byte, marks it sent, uploads the
bank's answer with one failure; the failed payee's account is entered by the unit's
clerk with the signed request and confirmed by a second person of finance; the failure
is paid again in the next batch, and the reconciliation closes to the fen.

The screenshots of the DEBUG=1 run are the README's walk through the loop
(``docs/screenshots/bank-*.png``, copied from ``test-artifacts/screenshots/``)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from finance import payouts
from finance import services as finance_services
from finance.models import BankTemplate, PayeeAccountChange, PaymentBatch
from finance.selectors import reconciliation
from tests.bank_run import CSV_TEMPLATE, card, give_account, result_file
from tests.claims.test_documents import pdf_bytes
from tests.e2e.test_quarter_journey import accept_confirmations, sign_in
from tests.factories import UserFactory
from tests.grievance_run import dispute
from tests.quarter_run import run_quarter

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(params=[True, False], ids=["DEBUG=1", "DEBUG=0"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.DEBUG = request.param
    return bool(request.param)


@pytest.fixture
def ready(claim_input: Any, reviewer: Any, settings: Any, tmp_path: Path) -> Any:
    """A closed quarter whose rollup is ready, every payee with an account."""
    settings.MEDIA_ROOT = tmp_path
    quarter = run_quarter(claim_input, reviewer)
    rollup = finance_services.rollup_request(quarter="2020Q1", actor=reviewer)
    rollup = finance_services.rollup_build(rollup_id=rollup.pk)
    first = UserFactory(username="qianli", role="finance_officer")
    for i, claim in enumerate(quarter.approved, start=1):
        give_account(claim, first, n=i)
    return rollup


def test_finance_pays_a_quarter_through_the_banks_files(
    live_server: Any,
    page: Page,
    ready: Any,
    debug: bool,
    screenshot: Any,
    tmp_path: Path,
) -> None:
    suffix = "" if debug else "-prod"
    accept_confirmations(page)
    second = UserFactory(username="zhaowen", role="finance_officer")
    sign_in(page, live_server.url, second.username)

    # 1. a balance batch in the bank's CSV template
    page.goto(f"{live_server.url}/finance/batches/")
    form = page.get_by_test_id("batch-build")
    form.locator("select[name=rollup]").select_option(str(ready.pk))
    form.locator("select[name=kind]").select_option("balance")
    template = BankTemplate.objects.get(name=CSV_TEMPLATE)
    form.locator("select[name=bank_template]").select_option(str(template.pk))
    form.get_by_role("button", name="生成批次").click()
    expect(page.get_by_test_id("batch-lines")).to_be_visible()
    batch = PaymentBatch.objects.get()
    assert page.url.endswith(f"/finance/batches/{batch.pk}/")
    screenshot(page, f"bank-1-batch{suffix}")

    # the file downloads byte for byte
    with page.expect_download() as download:
        page.get_by_role("link", name="下载银行文件").click()
    saved = tmp_path / "batch.csv"
    download.value.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == batch.sha256

    # 2. sent, then the bank's answer: every line paid but one (a name mismatch)
    page.get_by_role("button", name="标记已报送银行").click()
    expect(page.get_by_test_id("batch-result")).to_be_visible()
    failed_line = batch.lines.order_by("seq").first()
    answer = tmp_path / "result.csv"
    answer.write_bytes(
        result_file(batch, failures={failed_line.reference: "户名与账号不符"})
    )
    page.get_by_test_id("batch-result").locator("input[type=file]").set_input_files(
        str(answer)
    )
    page.get_by_role("button", name="上传并登记").click()
    expect(page.locator("body")).to_contain_text("回盘已登记")
    expect(page.get_by_test_id("batch-lines")).to_contain_text("户名与账号不符")
    screenshot(page, f"bank-2-result{suffix}")

    # 3. the account corrected: the unit's clerk enters it with the signed request,
    # a second person of finance confirms it
    claim = failed_line.claim
    clerk = UserFactory(
        username="county_clerk_x", role="county_clerk", unit_id=claim.unit_id
    )
    page.context.clear_cookies()  # signed out
    sign_in(page, live_server.url, clerk.username)
    page.goto(f"{live_server.url}/finance/accounts/")
    propose = page.get_by_test_id("account-propose")
    owner = "institution" if claim.payee == "institution" else "trainee"
    propose.locator("select[name=owner]").select_option(owner)
    # named as the signed request names them: the ID number or the credit code
    propose.locator("input[name=owner_ref]").fill(
        claim.institution.credit_code
        if owner == "institution"
        else claim.trainee.id_number
    )
    propose.locator("select[name=bank]").select_option("xjnx")
    propose.locator("input[name=number]").fill(card(901))
    propose.locator("input[name=holder]").fill(failed_line.holder)
    propose.locator("input[name=reason]").fill("户名与账号不符，本人更换银行卡")
    # the person's signed request, named as a clerk names it
    propose.locator("input[name=request_file]").set_input_files(
        {"name": "签字申请.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}
    )
    propose.get_by_role("button", name="录入").click()
    expect(page.locator("body")).to_contain_text("待财政另一人确认")
    change = PayeeAccountChange.objects.order_by("-pk").first()
    assert change is not None and change.document_id is not None
    page.context.clear_cookies()
    sign_in(page, live_server.url, second.username)
    page.goto(f"{live_server.url}/finance/accounts/")
    expect(page.get_by_test_id("account-request").first).to_be_visible()
    screenshot(page, f"bank-3-account{suffix}")
    page.get_by_role("button", name="确认生效").first.click()
    expect(page.locator("body")).to_contain_text("已确认生效")

    # 4. the failure paid again in the next batch, linked to it
    page.goto(f"{live_server.url}/finance/batches/")
    form = page.get_by_test_id("batch-build")
    form.locator("select[name=rollup]").select_option(str(ready.pk))
    form.locator("select[name=kind]").select_option("balance")
    form.locator("select[name=bank_template]").select_option(str(template.pk))
    form.get_by_role("button", name="生成批次").click()
    expect(page.get_by_test_id("batch-lines")).to_be_visible()
    again = PaymentBatch.objects.order_by("-pk").first()
    assert again is not None and again.pk != batch.pk
    [line] = list(again.lines.all())
    failed_line.refresh_from_db()
    assert (line.claim_id, line.reissue_of_id) == (
        claim.pk,
        failed_line.payment_id,
    )
    page.get_by_role("button", name="标记已报送银行").click()
    expect(page.get_by_test_id("batch-result")).to_be_visible()
    answer.write_bytes(result_file(again))
    page.get_by_test_id("batch-result").locator("input[type=file]").set_input_files(
        str(answer)
    )
    page.get_by_role("button", name="上传并登记").click()
    expect(page.locator("body")).to_contain_text("回盘已登记")

    # 5. the reconciliation: everything owed paid, nothing failed, nothing due
    page.goto(f"{live_server.url}/rollups/{ready.pk}/reconciliation/")
    expect(page.locator("body")).to_contain_text("合计")
    screenshot(page, f"bank-4-reconciliation{suffix}")
    total = reconciliation(ready)[-1]
    assert total.paid == total.owed > Decimal("0")
    assert total.failed == total.due == total.in_open_batches == Decimal("0")


def test_a_batch_changed_since_it_was_built_is_shown_before_the_file_goes(
    live_server: Any, page: Page, ready: Any, debug: bool, screenshot: Any
) -> None:
    """A trainee says "not me" after the batch was built: its page lists the claim
    and why, offers no plain 标记已报送银行, and the officer whose file is already at
    the bank says so — the batch is marked sent and waits for the bank's answer."""
    accept_confirmations(page)
    officer = UserFactory(username="zhaowen", role="finance_officer")
    batch = payouts.batch_build(
        rollup_id=ready.pk,
        kind="balance",
        template_id=BankTemplate.objects.get(name=CSV_TEMPLATE).pk,
        actor=officer,
    )
    disputed = batch.lines.select_related("claim").order_by("seq").first().claim
    dispute(disputed)
    sign_in(page, live_server.url, officer.username)

    page.goto(f"{live_server.url}/finance/batches/{batch.pk}/")
    changed = page.get_by_test_id("batch-changed")
    expect(changed).to_contain_text(f"申报#{disputed.pk}")
    expect(changed).to_contain_text("表示未参加")
    expect(page.get_by_role("button", name="标记已报送银行")).to_have_count(0)
    screenshot(page, "bank-5-changed" + ("" if debug else "-prod"))
    changed.get_by_role("button", name="文件已交银行，标记已报送").click()

    expect(page.get_by_test_id("batch-result")).to_be_visible()
    expect(page.get_by_test_id("sent-changed")).to_contain_text("已有1笔变化")
    assert PaymentBatch.objects.get(pk=batch.pk).status == "sent"
