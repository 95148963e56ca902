"""Issue 18's staff pages, in Chinese: build a batch, download it, mark it sent, upload
the bank's result; the reconciliation page and its workbook; an account entered by a
clerk and confirmed by finance; masked accounts for the auditor."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

import pytest

from finance import payouts
from finance.models import BankTemplate, PayeeAccountChange, PaymentBatch
from tests.bank_run import CSV_TEMPLATE, card, give_account, proposed_for, result_file
from tests.factories import UserFactory, make_id_number
from tests.grievance_run import dispute

pytestmark = pytest.mark.django_db


def built_on_the_page(client: Any, finance: Any, rollup: Any) -> PaymentBatch:
    """``finance`` logged in builds the rollup's balances in a CSV batch on the page."""
    client.force_login(finance)
    template = BankTemplate.objects.get(name=CSV_TEMPLATE)
    client.post(
        "/finance/batches/build/",
        {"rollup": rollup.pk, "kind": "balance", "bank_template": template.pk},
    )
    return PaymentBatch.objects.get()


def test_the_batch_loop_through_the_pages(
    ready: Any, finance: Any, auditor: Any, client: Any
) -> None:
    _, rollup = ready
    client.force_login(finance)
    template = BankTemplate.objects.get(name=CSV_TEMPLATE)
    built = client.post(
        "/finance/batches/build/",
        {"rollup": rollup.pk, "kind": "balance", "bank_template": template.pk},
    )
    batch = PaymentBatch.objects.get()
    assert (
        built.status_code == 302
        and built["Location"] == f"/finance/batches/{batch.pk}/"
    )
    page = client.get(f"/finance/batches/{batch.pk}/")
    assert "下载银行文件" in page.text and "标记已报送银行" in page.text
    line = batch.lines.order_by("seq").first()
    assert line.account in page.text  # finance sees the whole number
    download = client.get(f"/finance/batches/{batch.pk}/download/")
    assert download.content == bytes(batch.content)
    assert client.post(f"/finance/batches/{batch.pk}/sent/").status_code == 302
    upload = client.post(
        f"/finance/batches/{batch.pk}/result/",
        {"file": SimpleUploadedFile("r.csv", result_file(batch))},
        follow=True,
    )
    assert "回盘已登记" in upload.text
    reconciliation = client.get(f"/rollups/{rollup.pk}/reconciliation/")
    assert "合计" in reconciliation.text
    workbook = client.get(f"/rollups/{rollup.pk}/reconciliation/xlsx/")
    assert workbook.status_code == 200

    client.force_login(auditor)
    masked = client.get(f"/finance/batches/{batch.pk}/")
    assert line.account not in masked.text
    assert "****" + line.account[-4:] in masked.text
    assert "标记已报送银行" not in masked.text


def test_who_decided_a_batch_s_claims_is_offered_neither_send_nor_answer(
    ready: Any, finance: Any, reviewer: Any, client: Any
) -> None:
    """The reviewer of the quarter, moved to finance, sees why instead of the buttons;
    a post anyway is a Chinese 403 on the page and a JSON 403 on the API, and the
    batch stays as it was."""
    _, rollup = ready
    batch = built_on_the_page(client, finance, rollup)
    reviewer.role = "finance_officer"
    reviewer.save()
    client.force_login(reviewer)
    page = client.get(f"/finance/batches/{batch.pk}/")
    assert "标记已报送银行" not in page.text
    assert "请由其他财政人员办理" in page.text and "作废" in page.text
    refused = client.post(f"/finance/batches/{batch.pk}/sent/")
    assert refused.status_code == 403 and "不能由本人报送银行" in refused.text
    api = client.post(f"/api/payment-batches/{batch.pk}/sent/")
    assert api.status_code == 403 and "其他财政人员" in api.json()["message"]
    assert PaymentBatch.objects.get(pk=batch.pk).status == "built"

    client.force_login(finance)
    assert "不能由本人" not in client.get(f"/finance/batches/{batch.pk}/").text
    client.post(f"/finance/batches/{batch.pk}/sent/")
    client.force_login(reviewer)
    page = client.get(f"/finance/batches/{batch.pk}/")
    assert 'data-testid="batch-result"' not in page.text
    assert "不能由本人登记银行回盘" in page.text


def test_an_account_in_another_name_is_flagged_on_the_batch(
    ready: Any, finance: Any, client: Any
) -> None:
    """The second review: nothing compared the account's holder with the payee; only
    the second person on the account change could see it. The batch page counts and
    marks each line whose holder is not the trainee or institution paid."""
    quarter, rollup = ready
    claim = next(c for c in quarter.approved if c.payee == "trainee")
    give_account(claim, finance, n=90, holder="另一个人")
    batch = built_on_the_page(client, finance, rollup)
    page = client.get(f"/finance/batches/{batch.pk}/").text
    assert 'data-testid="other-holders">1笔，请核实' in page
    assert page.count('data-testid="other-holder"') == 1
    assert batch.lines.get(claim_id=claim.pk).holder == "另一个人"


def test_a_batch_changed_since_it_was_built_says_so_and_offers_both_ways(
    ready: Any, finance: Any, client: Any
) -> None:
    """Before the file goes to the bank the page lists what changed since it was
    built; the plain 标记已报送银行 gives way to 作废 (the file not yet at the bank)
    or 文件已交银行 (it is: marked sent, the bank's answer recorded)."""
    _, rollup = ready
    batch = built_on_the_page(client, finance, rollup)
    disputed = batch.lines.select_related("claim").order_by("seq").first().claim
    dispute(disputed)

    page = client.get(f"/finance/batches/{batch.pk}/").text
    assert 'data-testid="batch-changed"' in page and f"申报#{disputed.pk}" in page
    assert "标记已报送银行</button>" not in page and "作废</button>" in page
    api = f"/api/payment-batches/{batch.pk}/sent/"
    refused = client.post(api)
    assert refused.status_code == 409 and refused.json()["code"] == "batch_stale"
    bad = client.post(
        api, {"already_at_bank": "maybe"}, content_type="application/json"
    )
    assert bad.status_code == 400
    sent = client.post(f"/finance/batches/{batch.pk}/sent/", {"already_at_bank": "1"})
    assert sent.status_code == 302
    assert PaymentBatch.objects.get(pk=batch.pk).status == "sent"


def test_a_bad_result_file_lists_its_problems_on_the_page(
    ready: Any, finance: Any, client: Any
) -> None:
    _, rollup = ready
    batch = built_on_the_page(client, finance, rollup)
    client.post(f"/finance/batches/{batch.pk}/sent/")
    content = result_file(batch).replace(b"P0000", b"X0000", 1)
    answer = client.post(
        f"/finance/batches/{batch.pk}/result/",
        {"file": SimpleUploadedFile("r.csv", content)},
    )
    assert answer.status_code == 409
    assert "未登记任何拨付" in answer.text
    assert "与批次中的任何一笔都不对应" in answer.text


def test_an_account_entered_by_a_clerk_is_confirmed_by_finance_on_the_page(
    clerk: Any, finance: Any, trainee: Any, client: Any
) -> None:
    from trainees.models import Trainee

    Trainee.objects.filter(pk=trainee.pk).update(registered_by_unit_id="654301")
    client.force_login(clerk)
    entered = client.post(
        "/finance/accounts/propose/",
        {
            "owner": "trainee",
            "owner_id": trainee.pk,
            "bank": "xjnx",
            "number": card(31),
            "holder": trainee.name,
        },
    )
    assert entered.status_code == 302
    change = PayeeAccountChange.objects.get()
    listing = client.get("/finance/accounts/")
    assert card(31) not in listing.text and change.new_masked in listing.text
    client.force_login(finance)
    # the checker compares the whole number and the bank with the signed request (the
    # review of session 25: finance confirmed a number it saw only as ****8005)
    waiting = client.get("/finance/accounts/").text
    assert f'data-testid="account-full-{change.pk}"' in waiting
    assert card(31) in waiting and "新疆农村信用社（一卡通）" in waiting
    confirmed = client.post(f"/finance/accounts/{change.pk}/confirm/")
    assert confirmed.status_code == 302
    change.refresh_from_db()
    assert change.status == "confirmed" and change.decided_by == finance
    # once decided, the record keeps the number masked like every other page
    assert card(31) not in client.get("/finance/accounts/").text


def test_a_bad_account_number_on_the_page_is_refused_in_chinese(
    finance: Any, trainee: Any, client: Any
) -> None:
    client.force_login(finance)
    answer = client.post(
        "/finance/accounts/propose/",
        {
            "owner": "trainee",
            "owner_id": trainee.pk,
            "bank": "xjnx",
            "number": "6228480000000001",
            "holder": trainee.name,
        },
    )
    assert answer.status_code == 400
    assert "校验位不正确" in answer.text


def test_a_refused_account_keeps_what_was_typed(
    finance: Any, trainee: Any, client: Any
) -> None:
    """The new-user review: a wrong check digit, and every field came back blank —
    the payee, the holder, the reason; the file cannot come back, and the page says
    so."""
    from tests.claims.test_documents import pdf_bytes

    client.force_login(finance)
    answer = client.post(
        "/finance/accounts/propose/",
        {
            "owner": "trainee",
            "owner_ref": trainee.id_number,
            "bank": "icbc",
            "number": "6228480000000001",
            "holder": trainee.name,
            "reason": "本人换卡",
            "request_file": SimpleUploadedFile(
                "申请.pdf", pdf_bytes(), content_type="application/pdf"
            ),
        },
    )
    assert answer.status_code == 400
    page = answer.text
    assert "校验位不正确" in page
    for typed in (trainee.id_number, "6228480000000001", trainee.name, "本人换卡"):
        assert f'value="{typed}"' in page, typed
    assert '<option value="icbc" selected>' in page
    assert 'data-testid="request-file-again"' in page
    assert not PayeeAccountChange.objects.exists()


def test_the_payee_is_named_by_id_number_or_credit_code(
    clerk: Any, trainee: Any, institution: Any, client: Any
) -> None:
    """The form asked for an "编号" no page shows (the row's id): a clerk has the
    person's ID number on the signed request, an institution's credit code."""
    from trainees.models import Trainee

    Trainee.objects.filter(pk=trainee.pk).update(registered_by_unit_id="654301")
    client.force_login(clerk)
    body = {"bank": "xjnx", "number": card(34), "holder": trainee.name}
    entered = client.post(
        "/finance/accounts/propose/",
        body | {"owner": "trainee", "owner_ref": trainee.id_number},
    )
    assert entered.status_code == 302
    assert PayeeAccountChange.objects.get().trainee_id == trainee.pk
    unknown = client.post(
        "/finance/accounts/propose/",
        body | {"owner": "trainee", "owner_ref": make_id_number(date(1990, 1, 2))},
    )
    assert unknown.status_code == 400 and "尚未登记" in unknown.text
    bad = client.post(
        "/finance/accounts/propose/",
        body | {"owner": "trainee", "owner_ref": "65430119900102123X"},
    )
    assert bad.status_code == 400 and "身份证" in bad.text
    entered = client.post(
        "/finance/accounts/propose/",
        body
        | {
            "owner": "institution",
            "owner_ref": institution.credit_code.lower(),
            "number": card(35),
            "holder": institution.name,
        },
    )
    assert entered.status_code == 302, entered.text[-3000:]
    assert PayeeAccountChange.objects.filter(institution=institution).exists()
    # linked from a person's page: the form opens with them
    link = f"/finance/accounts/?owner=trainee&amp;owner_id={trainee.pk}"
    assert link in client.get(f"/trainees/{trainee.pk}/").text
    page = client.get(f"/finance/accounts/?owner=trainee&owner_id={trainee.pk}").text
    assert f'value="{trainee.pk}"' in page


def test_a_mistyped_payee_number_is_refused_in_the_form_that_keeps_what_was_typed(
    clerk: Any, trainee: Any, institution: Any, client: Any
) -> None:
    """A newcomer's review: a truncated ID number (or an institution's row number)
    typed as the payee was read as a record's number — a 404 page replaced the form
    and everything typed was lost."""
    client.force_login(clerk)
    body = {
        "bank": "xjnx",
        "number": card(36),
        "holder": "艾合买提",
        "reason": "本人换卡",
    }
    for owner, ref, said in (
        ("trainee", "65430119", "身份证号码"),
        ("institution", "7", "统一社会信用代码"),
        ("institution", str(institution.pk), "统一社会信用代码"),
    ):
        answer = client.post(
            "/finance/accounts/propose/", body | {"owner": owner, "owner_ref": ref}
        )
        assert answer.status_code == 400, (ref, answer.status_code)
        assert said in answer.text, ref
        for typed in (ref, card(36), "艾合买提", "本人换卡"):
            assert f'value="{typed}"' in answer.text, (ref, typed)
    assert not PayeeAccountChange.objects.exists()


def test_a_payee_from_a_link_is_shown_and_one_not_found_keeps_the_form(
    clerk: Any, trainee: Any, client: Any
) -> None:
    from trainees.models import Trainee

    Trainee.objects.filter(pk=trainee.pk).update(registered_by_unit_id="654301")
    client.force_login(clerk)
    page = client.get(f"/finance/accounts/?owner=trainee&owner_id={trainee.pk}").text
    assert 'name="owner_pk"' in page and trainee.id_number_masked in page
    assert f'name="owner_ref" id="account-owner-ref" value="{trainee.pk}"' not in page

    missing = client.post(
        "/finance/accounts/propose/",
        {
            "owner": "trainee",
            "owner_pk": "987654",
            "bank": "xjnx",
            "number": card(37),
            "holder": "某人",
        },
    )
    assert missing.status_code == 400
    assert "未找到该收款人" in missing.text and f'value="{card(37)}"' in missing.text


def test_the_account_form_names_no_person_outside_the_clerk_s_scope(
    client: Any, other_clerk: Any
) -> None:
    """The second review: the link's number named anyone — a clerk of another unit
    read a person's masked name and ID number by walking ids."""
    from claims.confirmations import mask_name
    from tests.factories import TraineeFactory

    someone = TraineeFactory(name="买买提明", registered_by_unit_id="654301")
    client.force_login(other_clerk)

    page = client.get(f"/finance/accounts/?owner=trainee&owner_id={someone.pk}").text

    assert someone.id_number_masked not in page and mask_name(someone.name) not in page
    assert 'name="owner_pk"' not in page and 'name="owner_ref"' in page


def test_a_linked_person_is_never_entered_as_an_institution_of_that_number(
    client: Any, clerk: Any, trainee: Any
) -> None:
    """The second review: beside the linked person the kind stayed a select; switched
    to 培训机构, the person's number entered the account of that institution."""
    from trainees.models import Trainee

    Trainee.objects.filter(pk=trainee.pk).update(registered_by_unit_id="654301")
    client.force_login(clerk)
    page = client.get(f"/finance/accounts/?owner=trainee&owner_id={trainee.pk}").text
    assert 'name="owner_linked" value="trainee"' in page
    assert 'disabled id="account-owner"' in page

    switched = client.post(
        "/finance/accounts/propose/",
        {
            "owner": "institution",
            "owner_linked": "trainee",
            "owner_pk": str(trainee.pk),
            "bank": "xjnx",
            "number": card(41),
            "holder": "某人",
        },
    )

    assert switched.status_code == 400 and "收款人类别" in switched.text
    assert not PayeeAccountChange.objects.exists()


def test_finance_sends_back_a_change_and_a_superseded_one_offers_no_confirmation(
    finance: Any, trainee: Any, client: Any
) -> None:
    """A newcomer's review: confirming a change entered before a newer one confirmed
    said 请退回 — and the page had no 退回, so it stayed 待财政确认 for ever."""
    second = UserFactory(username="fin_second_page", role="finance_officer")

    def propose(n: int) -> Any:
        return proposed_for(trainee, finance, n)

    older, newer = propose(81), propose(82)
    payouts.account_change_confirm(change_id=newer.pk, actor=second)
    client.force_login(second)

    page = client.get("/finance/accounts/").text

    assert f"/finance/accounts/{older.pk}/confirm/" not in page
    assert f"/finance/accounts/{older.pk}/refuse/" in page
    assert "已过时" in page
    sent_back = client.post(f"/finance/accounts/{older.pk}/refuse/")
    assert sent_back.status_code == 302
    older.refresh_from_db()
    assert (older.status, older.decided_by) == ("refused", second)
    again = client.post(f"/finance/accounts/{older.pk}/refuse/")
    assert again.status_code == 409 and "已处理" in again.text
    client.force_login(finance)  # who entered it never decides it
    mine = propose(83)
    refused = client.post(f"/finance/accounts/{mine.pk}/refuse/")
    assert refused.status_code == 409
    assert PayeeAccountChange.objects.get(pk=mine.pk).status == "proposed"


def test_the_signed_request_is_uploaded_with_the_change_and_opened_by_finance(
    clerk: Any, finance: Any, trainee: Any, client: Any, settings: Any, tmp_path: Any
) -> None:
    """The clerk attaches the person's signed request to the change on the page; the
    file is checked and stored like any evidence, and the finance officer who is to
    confirm the change opens it from the list."""
    from claims.models import Document
    from tests.claims.test_documents import pdf_bytes
    from trainees.models import Trainee

    settings.MEDIA_ROOT = tmp_path / "media"
    Trainee.objects.filter(pk=trainee.pk).update(registered_by_unit_id="654301")
    signed = pdf_bytes()
    client.force_login(clerk)
    entered = client.post(
        "/finance/accounts/propose/",
        {
            "owner": "trainee",
            "owner_id": trainee.pk,
            "bank": "xjnx",
            "number": card(32),
            "holder": trainee.name,
            "reason": "本人换卡",
            "request_file": SimpleUploadedFile(
                "申请.pdf", signed, content_type="application/pdf"
            ),
        },
    )
    assert entered.status_code == 302
    change = PayeeAccountChange.objects.get()
    document = Document.objects.get(pk=change.document_id)
    assert (document.claim_id, document.unit_id, document.kind) == (
        None,
        "654301",
        "other",
    )
    client.force_login(finance)
    listing = client.get("/finance/accounts/")
    assert f'href="/api/documents/{document.pk}/"' in listing.text
    opened = client.get(f"/api/documents/{document.pk}/")
    assert opened.status_code == 200
    assert b"".join(opened.streaming_content) == signed


def test_a_refused_request_file_writes_nothing(
    clerk: Any, trainee: Any, client: Any, settings: Any, tmp_path: Any
) -> None:
    from pathlib import Path

    from claims.models import Document
    from trainees.models import Trainee

    settings.MEDIA_ROOT = tmp_path / "media"
    Trainee.objects.filter(pk=trainee.pk).update(registered_by_unit_id="654301")
    client.force_login(clerk)
    answer = client.post(
        "/finance/accounts/propose/",
        {
            "owner": "trainee",
            "owner_id": trainee.pk,
            "bank": "xjnx",
            "number": card(33),
            "holder": trainee.name,
            "request_file": SimpleUploadedFile(
                "申请.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"
            ),
        },
    )
    assert answer.status_code == 400
    assert not PayeeAccountChange.objects.exists()
    assert not Document.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_a_built_batch_says_which_claims_it_left_out_and_why(
    ready: Any, finance: Any, client: Any
) -> None:
    """The review of session 25: a batch of one line said "1笔，共1,800.00元" and
    nothing of the two claims it left out (no account; a failure awaiting a corrected
    account) — they were named only when nothing at all was payable."""
    from finance.models import PayeeAccount

    quarter, rollup = ready
    left = quarter.approved[0]
    owner = (
        {"institution_id": left.institution_id}
        if left.payee == "institution"
        else {"trainee_id": left.trainee_id}
    )
    PayeeAccount.objects.filter(**owner).delete()
    client.force_login(finance)
    template = BankTemplate.objects.get(name=CSV_TEMPLATE)
    built = client.post(
        "/finance/batches/build/",
        {"rollup": rollup.pk, "kind": "balance", "bank_template": template.pk},
        follow=True,
    )
    batch = PaymentBatch.objects.get()
    assert not batch.lines.filter(claim_id=left.pk).exists()
    assert "未列入" in built.text and "无收款账户" in built.text
    assert f"#{left.pk}" in built.text
