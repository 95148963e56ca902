"""The trainee's "was this you?" (issue 17): the code, the SMS sent once from the
outbox through a local HTTP gateway, the answer by API and page, the limits, and the
grievance that holds the money until the unit's finding."""

from __future__ import annotations

import io
import json
import logging
import threading
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

import pytest
from openpyxl import load_workbook

from altay_skills.errors import Conflict, DomainError
from altay_skills.models import OutboxMessage, OutboxStatus
from altay_skills.sms import mask_phones_in
from altay_skills.working_days import is_working_day
from claims import confirmation_codes as codes
from claims import rules
from claims import services as claim_services
from claims.confirmations import (
    SEND_SMS_TASK,
    code_for,
    confirmation_answer,
    confirmation_issue,
    confirmation_shares,
    grievance_find,
    sms_text,
)
from claims.models import (
    Claim,
    ConfirmationEvent,
    ConfirmationStatus,
    TraineeConfirmation,
    TraineeGrievance,
)
from claims.selectors import claim_trail_makers
from claims.tasks import send_confirmation_sms
from classes.models import RosterLine
from finance import services as finance_services
from quarters import services as quarter_services
from reporting import review
from tests.factories import TraineeFactory, UserFactory, send_to_prefecture
from tests.grievance_run import code_of, dispute, last4, refuse_maker_finding
from trainees.log_masking import IdNumberMaskingFilter
from trainees.phones import sms_number, validate_phone

pytestmark = pytest.mark.django_db
PAID_ON = date(2020, 5, 10)
SLIP_INSTRUCTION = (
    "请用手机扫描二维码或打开下方网址，核对以您名义申报的培训信息。"
    "如您没有参加此培训，请选择“我没有参加此培训”。"
)


def submitted(claim_input: Any, clerk: Any, **person: Any) -> Claim:
    trainee = TraineeFactory(**person)
    claim = claim_services.claim_create(
        data=claim_input(trainee_id=trainee.pk), actor=clerk
    )
    return claim_services.claim_submit(claim_id=claim.pk, actor=clerk)


def wrong4(claim: Claim) -> str:
    right = last4(claim)
    return "0000" if right != "0000" else "1111"


# --- The code ------------------------------------------------------------------------------
def test_submitting_a_claim_issues_one_code_not_stored_in_clear(claim_input, clerk):
    claim = submitted(claim_input, clerk)
    confirmation = TraineeConfirmation.objects.get(claim_id=claim.pk)
    code = code_for(confirmation)
    assert codes.normalized(code) == code
    assert confirmation.code_digest == codes.digest_of(code)
    row = TraineeConfirmation.objects.filter(pk=confirmation.pk).values().get()
    assert all(code not in str(value) for value in row.values())


def test_a_typed_code_forgives_case_spaces_and_the_dash():
    assert codes.normalized("abcde-fghjk") == "ABCDEFGHJK"
    assert codes.normalized(" ABCDE FGHJK ") == "ABCDEFGHJK"
    assert codes.normalized("ABCDE0GHJK") is None  # 0 is not in the alphabet


def test_grievance_deadline_skips_the_weekend():
    friday = date(2026, 12, 4)
    assert rules.grievance_due(friday, 5, is_working_day) == date(2026, 12, 11)


def test_grievance_deadline_counts_chinese_working_days_over_national_day_2026():
    """National Day 2026: 1–7 October off, Saturday 10 October worked (调休). Opened on
    Wednesday 30 September, the five working days are 8, 9, 10, 12 and 13 October (plain
    weekdays would have ended on 7 October, in the middle of the holiday)."""
    opened = date(2026, 9, 30)
    assert rules.grievance_due(opened, 5, is_working_day) == date(2026, 10, 13)
    weekdays = rules.grievance_due(opened, 5, lambda d: d.weekday() < 5)
    assert weekdays == date(2026, 10, 7)


def test_a_not_me_during_national_day_is_due_after_the_holiday(
    monkeypatch, claim_input, clerk
):
    """The service counts by the same calendar: a "not me" answered on 30 September
    2026 is due on 13 October."""
    claim = submitted(claim_input, clerk)
    monkeypatch.setattr(
        "claims.confirmations.timezone.localdate", lambda *a: date(2026, 9, 30)
    )
    assert dispute(claim).due_on == date(2026, 10, 13)


# --- SMS through the outbox with a local HTTP gateway ---------------------------------------
class Gateway:
    """A local stand-in for the SMS gateway: answers ``statuses`` in turn (then 200)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[dict[str, Any]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                gateway.received.append(
                    {
                        "body": body,
                        "key": self.headers.get("Idempotency-Key"),
                        "auth": self.headers.get("Authorization"),
                    }
                )
                status = gateway.statuses.pop(0) if gateway.statuses else 200
                answer = json.dumps({"message_id": f"m{len(gateway.received)}"})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def __enter__(self) -> Gateway:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway_settings(settings):
    settings.SMS_BACKEND = "altay_skills.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_KEY = "test-key"
    settings.SMS_SIGN_NAME = "阿勒泰人社"
    settings.SMS_TEMPLATES = {"claim": "TPL_CLAIM", "class_completed": "TPL_CLASS"}
    return settings


def test_the_sms_is_sent_once_and_retried_after_a_5xx(
    claim_input, clerk, gateway_settings, django_capture_on_commit_callbacks
):
    with Gateway([503]) as gateway:
        gateway_settings.SMS_GATEWAY_URL = gateway.url
        with django_capture_on_commit_callbacks(execute=True):
            claim = submitted(claim_input, clerk, phone="13912345678")
        confirmation = TraineeConfirmation.objects.get(claim_id=claim.pk)
        message = OutboxMessage.objects.get(task="claims.tasks.send_confirmation_sms")
        # a second delivery of the same message sends nothing
        send_confirmation_sms(confirmation_id=confirmation.pk, outbox_id=message.pk)
    assert len(gateway.received) == 2  # the 503, then the retry
    first, second = gateway.received
    assert first["key"] == second["key"] == f"confirmation-{confirmation.pk}"
    assert second["auth"] == "Bearer test-key"
    assert second["body"]["template_id"] == "TPL_CLAIM"
    assert second["body"]["sign_name"] == "阿勒泰人社"
    assert second["body"]["phone"] == "+8613912345678"
    assert second["body"]["params"]["code"] == codes.grouped(code_for(confirmation))
    confirmation.refresh_from_db()
    message.refresh_from_db()
    assert confirmation.sms_sent_at is not None
    assert confirmation.sms_reference == "m2"
    assert message.status == OutboxStatus.DONE


def test_the_file_backend_writes_one_line_per_message(
    claim_input, clerk, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "altay_skills.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    with django_capture_on_commit_callbacks(execute=True):
        claim = submitted(claim_input, clerk, phone="13912345678")
    lines = (tmp_path / "sms.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == 1
    assert codes.grouped(code_of(claim)) in json.loads(lines[0])["text"]


@pytest.mark.parametrize(
    ("language", "template", "words"),
    [
        ("ug", "TPL_CLAIM_UG", "جەزملەشتۈرۈش كودىڭىز"),
        ("kk-arab", "TPL_CLAIM", "راستاۋ كودىڭىز"),  # no Kazakh id: the Chinese one
        ("zh-hans", "TPL_CLAIM", "确认码为"),
    ],
)
def test_the_sms_goes_in_the_trainees_language(
    claim_input,
    clerk,
    gateway_settings,
    django_capture_on_commit_callbacks,
    language,
    template,
    words,
):
    """The text, its link (the page opens in that language) and the gateway's
    template are the language the clerk recorded for the person."""
    gateway_settings.SMS_TEMPLATES = {
        "claim": "TPL_CLAIM",
        "claim:ug": "TPL_CLAIM_UG",
        "claim:kk-arab": "",
    }
    with Gateway([]) as gateway:
        gateway_settings.SMS_GATEWAY_URL = gateway.url
        with django_capture_on_commit_callbacks(execute=True):
            claim = submitted(
                claim_input, clerk, phone="13912345678", message_language=language
            )
    [sent] = gateway.received
    assert sent["body"]["template_id"] == template
    assert sent["body"]["language"] == language
    link = sent["body"]["params"]["link"]
    assert link.endswith(
        f"/t/{code_of(claim)}/" if language == "zh-hans" else f"?lang={language}"
    )
    confirmation = TraineeConfirmation.objects.get(claim_id=claim.pk)
    assert words in sms_text(confirmation)
    assert link in sms_text(confirmation)
    # the link opens the trainee's page in that language
    address = urlsplit(link)
    page = Client().get(f"{address.path}?{address.query}")
    assert page.status_code == 200
    assert f'lang="{language}"' in page.content.decode()


def test_no_sms_is_queued_for_a_landline(claim_input, clerk):
    submitted(claim_input, clerk, phone="0906-2123456")
    assert not OutboxMessage.objects.filter(
        task="claims.tasks.send_confirmation_sms"
    ).exists()


def test_phone_numbers_are_validated():
    validate_phone("13912345678")
    validate_phone("0906-2123456")
    with pytest.raises(Exception, match="联系电话无效"):
        validate_phone("12345")
    assert sms_number("139 1234 5678") == "+8613912345678"
    assert sms_number("0906-2123456") is None


def test_phone_numbers_are_masked_in_logs():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "sms to %s", ("13912345678",), None
    )
    IdNumberMaskingFilter().filter(record)
    assert record.getMessage() == "sms to 139****5678"
    assert mask_phones_in("to +8613912345678") == "to 139****5678"


# --- The answer by API ----------------------------------------------------------------------
def test_the_api_shows_only_masked_personal_data(client, claim_input, clerk):
    claim = submitted(claim_input, clerk, name="张三丰")
    response = client.get(f"/api/confirmations/{code_of(claim)}/")
    assert response.status_code == 200
    body = response.json()
    text = json.dumps(body, ensure_ascii=False)
    assert body["name_masked"] == "张*丰"
    # never the last four it asks for: whoever holds the code (the institution prints
    # the slip) could answer for the trainee by reading them off the page
    number = claim.trainee.id_number
    assert body["id_number_masked"] == number[:6] + "*" * 12
    assert claim.trainee.id_number not in text
    assert "张三丰" not in text
    assert claim.trainee.phone not in text
    assert body["amount_claimed"] == "1800.00"


def test_confirming_by_api(client, claim_input, clerk):
    claim = submitted(claim_input, clerk)
    url = f"/api/confirmations/{code_of(claim)}/"
    body = {"answer": "confirmed", "id_last4": last4(claim)}
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"
    again = client.post(url, body, content_type="application/json")
    assert again.status_code == 409
    assert again.json()["code"] == "already_answered"


def test_a_wrong_last4_is_refused_in_chinese_and_repeated_ones_lock_the_code(
    client, claim_input, clerk, settings
):
    settings.CONFIRMATION_MAX_FAILURES = 3
    claim = submitted(claim_input, clerk)
    url = f"/api/confirmations/{code_of(claim)}/"
    wrong = {"answer": "confirmed", "id_last4": wrong4(claim)}
    answers = [
        client.post(url, wrong, content_type="application/json") for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [400, 400, 429]
    assert answers[0].json()["code"] == "id_mismatch"
    assert "身份证号码后四位不正确" in answers[0].json()["message"]
    assert answers[2].json()["code"] == "confirmation_locked"
    right = {"answer": "confirmed", "id_last4": last4(claim)}
    locked = client.post(url, right, content_type="application/json")
    assert locked.status_code == 429
    assert TraineeConfirmation.objects.get(claim_id=claim.pk).status == "pending"


def test_an_unknown_code_is_a_chinese_404(client):
    response = client.get("/api/confirmations/ABCDEFGHJK/")
    assert response.status_code == 404
    assert "确认码无效" in response.json()["message"]


def test_a_loop_of_anonymous_requests_is_rate_limited(client, settings):
    settings.CONFIRMATION_RATE = "5/minute"
    statuses = [
        client.get(f"/api/confirmations/ABCDEFGH{i:02d}/").status_code for i in range(6)
    ]
    assert statuses[:5] == [404] * 5
    assert statuses[5] == 429
    page = client.get("/t/ABCDEFGHJK/")
    assert page.status_code == 429
    assert "请求过于频繁" in page.content.decode()


# --- The dispute and the money --------------------------------------------------------------
@pytest.fixture
def ready(closed_quarter, reviewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        finance_services.rollup_request(quarter="2020Q1", actor=reviewer)
    return closed_quarter


def pay_balance(claim: Claim, finance: Any) -> Any:
    claim.refresh_from_db()
    money = finance_services.money_of(claim.pk)
    return finance_services.payment_record(
        claim_id=claim.pk,
        kind="balance",
        amount=money.due,
        paid_on=PAID_ON,
        status="paid",
        actor=finance,
    )


def dismissed_then_paid(
    grievance: TraineeGrievance, reason: str, actor: Any, finance: Any
) -> None:
    """The finding releases the hold: the balance is paid."""
    grievance_find(
        grievance_id=grievance.pk, outcome="dismissed", reason=reason, actor=actor
    )
    assert pay_balance(grievance.claim, finance).status == "paid"


def hand_claim(quarter: Any) -> Claim:
    return next(c for c in quarter.approved if c.unit_id == "654322")


def test_a_dispute_holds_the_balance_and_a_dismissal_releases_it(ready, finance):
    claim = hand_claim(ready)
    grievance = dispute(claim)
    with pytest.raises(Conflict) as refused:
        pay_balance(claim, finance)
    assert refused.value.code == "trainee_disputed"
    clerk = UserFactory(role="county_clerk", unit_id=claim.unit_id)
    dismissed_then_paid(
        grievance, "经核实本人参加，签到表与本人签名一致", clerk, finance
    )
    finding = ConfirmationEvent.objects.get(action="finding_dismissed")
    assert (finding.actor, finding.reason[:4]) == (clerk, "经核实本")


def test_an_upheld_finding_keeps_the_hold(ready, finance, reviewer):
    claim = hand_claim(ready)
    grievance = dispute(claim)
    grievance_find(
        grievance_id=grievance.pk, outcome="upheld", reason="本人未参加", actor=reviewer
    )
    with pytest.raises(Conflict, match="未参加"):
        pay_balance(claim, finance)


def test_a_code_locked_by_wrong_answers_holds_the_balance_until_a_finding(
    ready, finance, reviewer, settings, client
):
    """The attacker review: whoever holds a code (the institution prints every slip)
    could lock it with wrong last fours, so that the trainee's "not me" was refused
    (429) — and nothing held the balance. A lock now opens the grievance: the balance
    waits for someone who did not make the claim to check with the trainee."""
    settings.CONFIRMATION_MAX_FAILURES = 3
    claim = hand_claim(ready)
    for _ in range(2):
        with pytest.raises(DomainError):
            confirmation_answer(
                code=code_of(claim), answer="confirmed", id_last4=wrong4(claim)
            )
    assert not TraineeGrievance.objects.filter(claim_id=claim.pk).exists()
    with pytest.raises(DomainError) as locked:
        confirmation_answer(
            code=code_of(claim), answer="confirmed", id_last4=wrong4(claim)
        )
    assert locked.value.code == "confirmation_locked"

    grievance = TraineeGrievance.objects.get(claim_id=claim.pk)
    assert (grievance.cause, grievance.outcome) == ("locked", "")
    with pytest.raises(Conflict) as held:
        pay_balance(claim, finance)
    assert held.value.code == "trainee_disputed"
    assert "锁定" in held.value.message
    client.force_login(reviewer)
    page = client.get(reverse("grievance_list")).content.decode()
    assert "身份证号码后四位多次核对失败，确认码被锁定" in page
    # no finding chosen for the finder (the first outcome was pre-selected)
    assert '<option value="" selected>请选择核查结论</option>' in page
    dismissed_then_paid(grievance, "已电话联系本人，确认参加培训", reviewer, finance)


def test_a_dispute_holds_the_remaining_payments_of_its_class(ready, finance):
    first, second = [c for c in ready.approved if c.unit_id == "654301"][:2]
    line = RosterLine.objects.get(claim_id=first.pk)
    # two people on one class's roster
    RosterLine.objects.filter(claim_id=second.pk).update(
        training_class_id=line.training_class_id
    )
    dispute(first)
    with pytest.raises(Conflict) as refused:
        pay_balance(second, finance)
    assert refused.value.code == "trainee_disputed"


def test_who_built_the_report_holding_the_claim_does_not_find_on_its_grievance(
    claim_input, clerk, clerk_same_unit, reviewer
):
    """A colleague who put the claim into the unit's quarterly report made it what it
    is, as the reviewer's maker ≠ checker counts (``quarters.selectors.claim_makers``):
    they were allowed to dismiss the trainee's "not me" on it."""
    claim = submitted(claim_input, clerk)
    quarter_services.report_build(
        unit_id=claim.unit_id, quarter="2020Q1", actor=clerk_same_unit
    )
    grievance = dispute(claim)
    refuse_maker_finding(grievance, clerk_same_unit)
    third = UserFactory(role="county_clerk", unit_id=claim.unit_id)
    found = grievance_find(
        grievance_id=grievance.pk, outcome="upheld", reason="本人未参加", actor=third
    )
    assert found.outcome == "upheld"
    assert reviewer.pk not in claim_trail_makers([claim])[claim.pk]


def test_the_finding_api_records_once_and_only_in_scope(
    client, claim_input, clerk, clerk_same_unit, other_clerk
):
    claim = submitted(claim_input, clerk)
    grievance = dispute(claim)
    url = f"/api/trainee-grievances/{grievance.pk}/finding/"
    body = {"outcome": "dismissed", "reason": "经核实本人参加"}
    client.force_login(other_clerk)
    assert client.post(url, body, content_type="application/json").status_code == 404
    # the clerk who entered and submitted the claim may not clear the trainee's "not
    # me" on it (maker ≠ checker, issue 12)
    client.force_login(clerk)
    own = client.post(url, body, content_type="application/json")
    assert own.status_code == 403
    assert "经办与审核须分离" in own.json()["message"]
    grievance.refresh_from_db()
    assert grievance.outcome == ""
    page = client.get(reverse("grievance_list")).content.decode()
    assert reverse("grievance_finding", args=[grievance.pk]) not in page
    client.force_login(clerk_same_unit)
    page = client.get(reverse("grievance_list")).content.decode()
    assert reverse("grievance_finding", args=[grievance.pk]) in page
    done = client.post(url, body, content_type="application/json")
    assert done.status_code == 200
    assert done.json()["outcome"] == "dismissed"
    again = client.post(url, body, content_type="application/json")
    assert (again.status_code, again.json()["code"]) == (409, "already_found")


def test_an_overdue_grievance_shows_on_the_clerk_home(
    client, claim_input, clerk, reviewer
):
    claim = submitted(claim_input, clerk)
    grievance = dispute(claim)
    TraineeGrievance.objects.filter(pk=grievance.pk).update(due_on=date(2020, 1, 1))
    for user in (clerk, reviewer):
        client.force_login(user)
        page = client.get("/").content.decode()
        assert 'data-testid="overdue-grievances"' in page


# --- The page and the slip ------------------------------------------------------------------
def test_the_page_confirms_and_shows_masked_data_only(client, claim_input, clerk):
    claim = submitted(claim_input, clerk, name="李小明", phone="13912345678")
    url = reverse("trainee_confirmation", args=[code_of(claim)])
    page = client.get(url).content.decode()
    assert "是我本人参加" in page and "我没有参加此培训" in page
    for secret in (claim.trainee.id_number, "李小明", "13912345678"):
        assert secret not in page
    assert claim.trainee.id_number[:6] + "*" * 12 in page
    assert claim.trainee.id_number_masked not in page  # its last four are the answer
    answered = client.post(url, {"answer": "confirmed", "id_last4": last4(claim)})
    assert answered.status_code == 200
    assert 'data-testid="confirmation-done"' in answered.content.decode()
    status = TraineeConfirmation.objects.get(claim_id=claim.pk).status
    assert status == ConfirmationStatus.CONFIRMED


@pytest.mark.parametrize("lang", ["zh-hans", "ug", "kk-arab"])
def test_the_page_does_not_claim_to_hold_no_personal_data(
    client, claim_input, clerk, lang
):
    """The new-user review: the page shows the person's masked name and number, the
    training and the amount, and its footer said "本页只公开汇总数据，不含任何个人信息"
    (so did the Uyghur and Kazakh)."""
    claim = submitted(claim_input, clerk)
    url = reverse("trainee_confirmation", args=[code_of(claim)])
    with translation.override(lang):
        said = translation.gettext("本页只公开汇总数据，不含任何个人信息")
        note = translation.gettext(
            "本页只向本人显示其培训信息，姓名和身份证号码已部分隐去"
        )
    page = client.get(f"{url}?lang={lang}").content.decode()
    assert said not in page
    assert note in page
    assert (
        lang == "zh-hans"
        or note != "本页只向本人显示其培训信息，姓名和身份证号码已部分隐去"
    )


def test_the_page_disputes_and_opens_a_grievance(client, claim_input, clerk):
    claim = submitted(claim_input, clerk)
    url = reverse("trainee_confirmation", args=[code_of(claim)])
    client.post(url, {"answer": "disputed", "id_last4": last4(claim)})
    assert TraineeGrievance.objects.filter(claim_id=claim.pk, outcome="").exists()


def test_the_page_refuses_a_wrong_last4_in_chinese(client, claim_input, clerk):
    claim = submitted(claim_input, clerk)
    url = reverse("trainee_confirmation", args=[code_of(claim)])
    answered = client.post(url, {"answer": "confirmed", "id_last4": wrong4(claim)})
    assert answered.status_code == 400
    assert "身份证号码后四位不正确" in answered.content.decode()


def test_the_slip_carries_the_code_and_a_qr(client, claim_input, clerk):
    claim = submitted(claim_input, clerk)
    client.force_login(clerk)
    page = client.get(f"/claims/{claim.pk}/confirmation-slip/").content.decode()
    assert codes.grouped(code_of(claim)) in page
    assert "<svg" in page
    assert claim.trainee.id_number not in page


def test_the_page_speaks_uyghur_with_the_program_and_unit_named_in_uyghur(
    client, claim_input, clerk
):
    claim = submitted(claim_input, clerk)
    page = client.get(f"/t/{code_of(claim)}/?lang=ug").content.decode()
    assert 'dir="rtl"' in page
    assert claim.program.name_ug in page and claim.unit.name_ug in page
    assert claim.program.name not in page


def test_a_wrong_last4_is_refused_in_kazakh_on_the_kazakh_page(
    client, claim_input, clerk
):
    claim = submitted(claim_input, clerk)
    answer = client.post(
        f"/t/{code_of(claim)}/?lang=kk-arab",
        {"answer": "confirmed", "id_last4": wrong4(claim)},
    )
    assert answer.status_code == 400
    assert (
        "جەكە كۋالىك ٴنومىرىنىڭ سوڭعى ٴتورت تاڭباسى دۇرىس ەمەس"
        in answer.content.decode()
    )


# --- Shares ---------------------------------------------------------------------------------
def test_the_shares_of_confirmed_disputed_and_unanswered(claim_input, clerk):
    claims = [submitted(claim_input, clerk) for _ in range(4)]
    confirmation_answer(
        code=code_of(claims[0]), answer="confirmed", id_last4=last4(claims[0])
    )
    dispute(claims[1])
    shares = confirmation_shares(Claim.objects.all())
    assert (shares["asked"], shares["confirmed"], shares["disputed"]) == (4, 1, 1)
    assert shares["unanswered_share"] == Decimal("50.00")


def test_the_shares_are_on_the_dashboards_and_the_review(
    client, claim_input, clerk, reviewer
):
    claim = submitted(claim_input, clerk)
    dispute(claim)
    client.force_login(clerk)
    unit_page = client.get("/dashboards/unit/?year=2020").content.decode()
    assert 'data-testid="confirmation-shares"' in unit_page
    client.force_login(reviewer)
    for url in ("/dashboards/prefecture/?year=2020", "/dashboards/review/2020/"):
        page = client.get(url).content.decode()
        assert 'data-testid="confirmation-shares"' in page
        assert "否认参加" in page


def test_the_november_review_workbook_carries_each_units_shares(claim_input, clerk):
    """The review counts the trainees' answers per unit and in total, and its
    workbook prints them: a column each on the summary, a block on the unit's sheet."""
    claims = [submitted(claim_input, clerk) for _ in range(4)]
    confirmation_answer(
        code=code_of(claims[0]), answer="confirmed", id_last4=last4(claims[0])
    )
    dispute(claims[1])
    r = review.review_figures(2020)
    unit = r.unit(clerk.unit_id)
    assert unit is not None
    assert (unit.confirmations.confirmed, unit.confirmations.disputed) == (1, 1)
    assert unit.confirmations.unanswered_share == Decimal("50.00")
    assert r.total.confirmations == unit.confirmations  # the only unit with claims
    out = io.BytesIO()
    review.write_review_workbook(r, out)
    out.seek(0)
    wb = load_workbook(out)
    summary = [[c.value for c in row] for row in wb["汇总"].iter_rows()]
    header = summary[2]
    assert header[-3:] == ["学员本人确认", "本人否认参加", "学员未答复"]
    row = next(v for v in summary if v[0] == clerk.unit_id)
    assert row[-3:] == [0.25, 0.25, 0.5]
    other = next(v for v in summary if v[0] and v[0] != clerk.unit_id and v[2] == 0)
    assert other[-3:] == ["—", "—", "—"]  # nobody asked: no share, not 0%
    sheet = next(ws for ws in wb.worksheets if ws.title.startswith(clerk.unit_id))
    values = [[c.value for c in row][:3] for row in sheet.iter_rows()]
    block = values.index(["学员本人确认（是否本人参加培训）", None, None])
    assert values[block + 1 : block + 5] == [
        ["本人确认参加", 1, 0.25],
        ["本人否认参加", 1, 0.25],
        ["未答复", 2, 0.5],
        ["已发出确认", 4, None],
    ]


def test_a_completed_class_prints_its_peoples_slips(closed_quarter, client):
    claim = next(c for c in closed_quarter.approved if c.unit_id == "654301")
    line = RosterLine.objects.select_related("training_class").get(claim_id=claim.pk)
    confirmation = TraineeConfirmation.objects.get(claim_id=claim.pk)
    assert confirmation.hours_attended is not None  # the class recorded them
    staff = UserFactory(
        role="institution_staff",
        unit_id=None,
        institution_id=line.training_class.institution_id,
    )
    client.force_login(staff)
    page = client.get(f"/classes/{line.training_class_id}/confirmation-slips/")
    assert page.status_code == 200
    html = page.content.decode()
    assert codes.grouped(code_for(confirmation)) in html
    # the staff page is Chinese; each slip tells the trainee in the other two as well
    for language in ("ug", "kk-arab"):
        with translation.override(language):
            told = translation.gettext(SLIP_INSTRUCTION)
        assert told != SLIP_INSTRUCTION
        assert f'lang="{language}" dir="rtl"' in html and told in html


def test_repeated_locks_lengthen_the_lock(client, claim_input, clerk, settings):
    """Five tries an hour for ever would let a patient guesser through the 11,000
    possible last fours; each lock after the first lasts twice the one before."""
    settings.CONFIRMATION_MAX_FAILURES = 2
    settings.CONFIRMATION_LOCK_MINUTES = 60
    claim = submitted(claim_input, clerk)
    code = code_of(claim)
    lengths = []
    for _ in range(3):
        for _ in range(2):
            with pytest.raises(DomainError):
                confirmation_answer(
                    code=code, answer="confirmed", id_last4=wrong4(claim)
                )
        confirmation = TraineeConfirmation.objects.get(claim_id=claim.pk)
        lengths.append(
            round((confirmation.locked_until - timezone.now()).total_seconds() / 60)
        )
        # the lock runs out
        TraineeConfirmation.objects.filter(pk=confirmation.pk).update(
            locked_until=timezone.now() - timedelta(seconds=1)
        )
    assert lengths == [60, 120, 240]
    assert ConfirmationEvent.objects.filter(action="locked").count() == 3


# --- A claim that ended, or whose facts changed ---------------------------------------------
@pytest.mark.parametrize("ending", ["withdraw", "reject", "delete"])
def test_a_claim_that_ended_is_not_answered(
    client, claim_input, clerk, reviewer, ending
):
    """Withdrawn, rejected or deleted: there is nothing left to confirm, and a "not me"
    would open a grievance on a claim nobody will pay."""
    trainee = TraineeFactory()
    claim = claim_services.claim_create(
        data=claim_input(trainee_id=trainee.pk), actor=clerk
    )
    if ending == "delete":
        # a class's completion issues the code with the draft
        confirmation_issue(claim=claim, actor=clerk)
        claim_services.claim_delete(claim_id=claim.pk, actor=clerk)
    else:
        claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
        if ending == "withdraw":
            claim_services.claim_withdraw(
                claim_id=claim.pk, actor=clerk, reason="重复录入"
            )
        else:
            send_to_prefecture(claim)
            quarter_services.claim_reject(
                claim_id=claim.pk, actor=reviewer, reason="证书不符"
            )
    url = f"/api/confirmations/{code_of(claim)}/"
    shown = client.get(url).json()
    assert shown["claim_closed"] is True
    body = {"answer": "disputed", "id_last4": last4(claim)}
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "claim_closed"
    assert "无需" in refused.json()["message"]
    assert not TraineeGrievance.objects.filter(claim_id=claim.pk).exists()
    assert TraineeConfirmation.objects.get(claim_id=claim.pk).status == "pending"
    page = client.get(reverse("trainee_confirmation", args=[code_of(claim)]))
    text = page.content.decode()
    assert 'data-testid="confirmation-closed"' in text
    assert 'data-testid="confirmation-form"' not in text


def test_changed_facts_ask_the_trainee_again_with_a_new_code(
    client, claim_input, clerk, reviewer, django_capture_on_commit_callbacks
):
    """Confirmed, then returned and changed (another amount, another person): the
    answer was to other facts. The old code stops working; the resubmission sends a
    new one, and the trainee is asked again."""
    claim = claim_services.claim_create(data=claim_input(), actor=clerk)
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    old_code = code_of(claim)
    confirmation_answer(code=old_code, answer="confirmed", id_last4=last4(claim))
    send_to_prefecture(claim)
    quarter_services.claim_return(claim_id=claim.pk, actor=reviewer, reason="金额有误")
    other = TraineeFactory(phone="13912345670")
    claim_services.claim_update(
        claim_id=claim.pk,
        data=claim_input(trainee_id=other.pk, amount_requested=Decimal("1500.00")),
        actor=clerk,
    )
    confirmation = TraineeConfirmation.objects.get(claim_id=claim.pk)
    assert confirmation.status == "pending"
    assert confirmation.answered_at is None
    assert client.get(f"/api/confirmations/{old_code}/").status_code == 404
    reissued = ConfirmationEvent.objects.get(
        confirmation=confirmation, action="reissue"
    )
    assert set(reissued.changes) >= {"trainee_id", "amount_requested"}
    assert reissued.changes["status"] == "confirmed"
    queued = OutboxMessage.objects.filter(task=SEND_SMS_TASK).count()
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    assert OutboxMessage.objects.filter(task=SEND_SMS_TASK).count() == queued + 1
    claim.refresh_from_db()
    new_code = code_of(claim)
    assert new_code != old_code
    answered = confirmation_answer(
        code=new_code, answer="confirmed", id_last4=other.id_number[-4:]
    )
    assert answered.status == "confirmed"


def test_a_change_the_trainee_is_not_shown_keeps_the_answer(
    claim_input, clerk, reviewer
):
    claim = claim_services.claim_create(data=claim_input(), actor=clerk)
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    code = code_of(claim)
    confirmation_answer(code=code, answer="confirmed", id_last4=last4(claim))
    send_to_prefecture(claim)
    quarter_services.claim_return(
        claim_id=claim.pk, actor=reviewer, reason="证书编号有误"
    )
    claim_services.claim_update(
        claim_id=claim.pk,
        data=claim_input(certificate_number="CERT-0001"),
        actor=clerk,
    )
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    assert code_of(claim) == code
    assert TraineeConfirmation.objects.get(claim_id=claim.pk).status == "confirmed"


def test_a_not_me_after_a_confirmation_still_opens_a_grievance(
    client, claim_input, clerk
):
    """The attacker review: the institution prints the slips (it holds every code)
    and rostered each person by their full ID number, so it could answer "confirmed"
    for them all, and the trainee's own "not me" was then refused. A "not me" always
    stands: it replaces a confirmation and opens the grievance; a "not me" is final."""
    claim = submitted(claim_input, clerk)
    url = f"/api/confirmations/{code_of(claim)}/"
    yes = {"answer": "confirmed", "id_last4": last4(claim)}
    no = {"answer": "disputed", "id_last4": last4(claim)}
    assert client.post(url, yes, content_type="application/json").status_code == 200
    page = client.get(reverse("trainee_confirmation", args=[code_of(claim)]))
    assert 'data-testid="answer-disputed"' in page.content.decode()
    assert 'data-testid="answer-confirmed"' not in page.content.decode()
    disputed = client.post(url, no, content_type="application/json")
    assert disputed.status_code == 200
    assert disputed.json()["status"] == "disputed"
    assert TraineeGrievance.objects.filter(claim_id=claim.pk, outcome="").exists()
    actions = list(
        ConfirmationEvent.objects.filter(confirmation__claim_id=claim.pk).values_list(
            "action", flat=True
        )
    )
    assert actions[-2:] == ["confirmed", "disputed"]
    for body in (yes, no):
        again = client.post(url, body, content_type="application/json")
        assert (again.status_code, again.json()["code"]) == (409, "already_answered")


def returned_and_changed(
    claim: Claim, clerk: Any, reviewer: Any, claim_input: Any
) -> str:
    """The claim returned, its amount changed (a new code) and submitted again."""
    send_to_prefecture(claim)
    quarter_services.claim_return(claim_id=claim.pk, actor=reviewer, reason="金额有误")
    claim_services.claim_update(
        claim_id=claim.pk,
        data=claim_input(trainee_id=claim.trainee_id, amount_requested=Decimal("1500")),
        actor=clerk,
    )
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    return code_of(claim)


@pytest.mark.parametrize("first_finding", ["", "dismissed"])
def test_a_second_not_me_after_new_facts_reopens_the_grievance(
    client, claim_input, clerk, clerk_same_unit, reviewer, first_finding
):
    """The second review: a "not me", the claim returned and changed (a new code),
    then "not me" again was a 500 — one grievance per confirmation. The grievance
    opens again with a new date, its earlier finding kept in the trail."""
    claim = submitted(claim_input, clerk)
    grievance = dispute(claim)
    if first_finding:
        grievance_find(
            grievance_id=grievance.pk,
            outcome=first_finding,
            reason="经核实本人参加",
            actor=clerk_same_unit,
        )
    new_code = returned_and_changed(claim, clerk, reviewer, claim_input)
    answer = client.post(
        f"/api/confirmations/{new_code}/",
        {"answer": "disputed", "id_last4": last4(claim)},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    grievance.refresh_from_db()
    assert (grievance.outcome, grievance.found_by) == ("", None)
    assert TraineeGrievance.objects.filter(claim_id=claim.pk).count() == 1
    actions = ConfirmationEvent.objects.filter(
        confirmation__claim_id=claim.pk
    ).values_list("action", flat=True)
    assert list(actions).count("disputed") == 2


def test_a_new_code_is_texted_under_a_key_of_its_own(
    claim_input, clerk, reviewer, settings, tmp_path
):
    """The second review: the new code's message went under the first one's
    idempotency key, which a gateway honouring it drops as a repeat."""
    from altay_skills.sms import SmsMessage

    sent: list[SmsMessage] = []

    class Recording:
        def send(self, message: SmsMessage) -> str:
            sent.append(message)
            return f"ref-{len(sent)}"

    from claims import confirmations

    claim = submitted(claim_input, clerk, phone="13912345678")
    original = confirmations.sms_backend
    confirmations.sms_backend = lambda: Recording()  # type: ignore[assignment]
    try:
        confirmation = TraineeConfirmation.objects.get(claim_id=claim.pk)
        confirmations.confirmation_sms_send(confirmation_id=confirmation.pk)
        returned_and_changed(claim, clerk, reviewer, claim_input)
        confirmations.confirmation_sms_send(confirmation_id=confirmation.pk)
    finally:
        confirmations.sms_backend = original
    assert len(sent) == 2
    assert sent[0].idempotency_key != sent[1].idempotency_key
    assert sent[0].params["code"] != sent[1].params["code"]


def test_the_claim_page_says_a_not_me_waits_for_its_finding(
    client: Any, reviewer: Any, clerk: Any, claim_input: Any
) -> None:
    """The review of session 25: a claim whose trainee answered "not me" said nothing
    of it on its page; the list was reachable from no menu until the deadline passed."""
    claim = claim_services.claim_create(data=claim_input(), actor=clerk)
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    dispute(claim)
    for user in (reviewer, clerk):
        client.force_login(user)
        page = client.get(f"/claims/{claim.pk}/").content.decode()
        assert 'data-testid="open-grievance"' in page
        assert "我没有参加" in page and "/grievances/" in page


def test_a_submitted_claim_in_no_report_says_why_the_reviewer_cannot_decide_it(
    client: Any, reviewer: Any, clerk: Any, claim_input: Any
) -> None:
    claim = claim_services.claim_create(data=claim_input(), actor=clerk)
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    client.force_login(reviewer)
    page = client.get(f"/claims/{claim.pk}/").content.decode()
    assert 'data-testid="approval-hint"' in page
    assert "尚未随本单位季度报表报送" in page
    client.force_login(clerk)  # the clerk is told nothing of the reviewer's buttons
    assert 'data-testid="approval-hint"' not in (
        client.get(f"/claims/{claim.pk}/").content.decode()
    )
