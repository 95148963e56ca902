"""The clerk's and the reviewer's pages: thin views over the same services as the API."""

import re
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest

from claims import services
from claims.models import Claim, ClaimEvent
from quarters import services as quarter_services
from tests.factories import (
    InstitutionFactory,
    TraineeFactory,
    clear_spot_checks,
    make_id_number,
    send_to_prefecture,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def form_data(trainee, institution):
    """The claim form as a browser posts it: the body claim_input() describes."""

    def build(**overrides):
        data = {
            "id_number": trainee.id_number,
            "trainee": "",
            "program": "9",
            "trade": "4-03-02-01",
            "level": "intermediate",
            "institution": str(institution.pk),
            "employer": "",
            "training_start": "2020-03-01",
            "training_end": "2020-03-31",
            "work_in_lieu_months": "0",
            "passed": "on",
            "certificate_number": "CERT-0001",
            "employment": "employed",
            "amount_requested": "1800.00",
        }
        for key, value in overrides.items():
            if value is False:
                data.pop(key, None)
            else:
                data[key] = value
        return data

    return build


@pytest.fixture
def as_clerk(client, clerk):
    client.force_login(clerk)
    return client


def draft(clerk, claim_input, **overrides):
    return services.claim_create(data=claim_input(**overrides), actor=clerk)


def submitted(clerk, claim_input, **overrides):
    claim = draft(clerk, claim_input, **overrides)
    return services.claim_submit(claim_id=claim.pk, actor=clerk)


def reported(clerk, claim_input, *, sampled_by=None, **overrides):
    """Submitted and sent in the unit's quarterly report: ready for review (and, with
    ``sampled_by``, the report's spot checks drawn and cleared: ready for approval)."""
    claim = submitted(clerk, claim_input, **overrides)
    send_to_prefecture(claim, sampled_by=sampled_by)
    return claim


def html_of(response):
    return response.content.decode()


# --- Home ---------------------------------------------------------------------------------
def test_the_clerks_home_counts_by_status_and_lists_what_needs_action(
    as_clerk, clerk, reviewer, claim_input
):
    # given a submitted claim, a refused draft and a returned claim
    submitted(clerk, claim_input)
    draft(clerk, claim_input, employment="none", trade_id="4-07-05-01")
    back = reported(clerk, claim_input, trade_id="6-31-01-03")
    quarter_services.claim_return(
        claim_id=back.pk, actor=reviewer, reason="证书编号与花名册不符"
    )
    # when
    html = html_of(as_clerk.get(reverse("home")))
    # then
    assert 'data-status="submitted">1<' in html
    assert 'data-status="draft">1<' in html
    assert 'data-status="returned">1<' in html
    assert "证书编号与花名册不符" in html
    assert "只对实现就业" in html  # the refused draft's reason
    assert "本季度进度" in html


def test_the_home_page_takes_a_constant_number_of_queries(
    client, clerk, claim_input, django_assert_max_num_queries
):
    for trade in ("4-03-02-01", "4-07-05-01", "6-31-01-03"):
        submitted(clerk, claim_input, trade_id=trade)
    for n in range(5):
        draft(clerk, claim_input, employment="none" if n % 2 else "employed")
    client.force_login(clerk)
    # 13: the unit's overdue "not me" grievances (issue 17) are one count, whatever
    # the number of claims
    with django_assert_max_num_queries(13):
        assert client.get(reverse("home")).status_code == 200


def test_the_reviewers_home_counts_waiting_claims_by_unit(
    client, clerk, reviewer, claim_input
):
    reported(clerk, claim_input)  # waiting: in a submitted report (五(一))
    client.force_login(reviewer)
    html = html_of(client.get(reverse("home")))
    assert "各单位待审核申报（共 1 件" in html
    assert "?status=submitted&amp;unit=654301" in html


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_finance_and_auditor_see_a_summary(
    request, client, clerk, reviewer, role, claim_input
):
    claim = reported(clerk, claim_input, sampled_by=reviewer)
    quarter_services.claim_approve(claim_id=claim.pk, actor=reviewer)
    client.force_login(request.getfixturevalue(role))
    html = html_of(client.get(reverse("home")))
    assert "补贴申报概况" in html
    assert "职业技能提升行动专项资金" in html
    assert "1800.00" in html


# --- The decision panel ------------------------------------------------------------------
def test_the_check_answers_with_the_decision_partial_in_chinese(as_clerk, form_data):
    response = as_clerk.post(
        reverse("claim_check"), form_data(employment="none"), **HTMX
    )
    html = html_of(response)
    assert response.status_code == 200
    assert "<html" not in html
    assert "不符合补贴条件（1 项）" in html
    assert "项目9只对实现就业（含自主创业、灵活就业）的人员给予补贴" in html
    assert "三(二)9" in html
    assert "职业技能提升行动专项资金" in html
    assert Claim.objects.count() == 0


def test_the_check_shows_cap_amount_and_explanation_of_an_eligible_claim(
    as_clerk, form_data
):
    html = html_of(as_clerk.post(reverse("claim_check"), form_data(), **HTMX))
    assert "符合补贴条件" in html
    assert "1800.00 元" in html
    assert "培训人员" in html  # the payee
    assert "未超过上限" in html


def test_over_the_cap_is_explained_with_its_clause(as_clerk, form_data):
    html = html_of(
        as_clerk.post(
            reverse("claim_check"), form_data(amount_requested="2500"), **HTMX
        )
    )
    assert "申请金额2,500.00元超过补贴上限1,800.00元" in html


def test_an_incomplete_form_lists_what_is_missing(as_clerk, form_data):
    response = as_clerk.post(
        reverse("claim_check"), form_data(program="", training_end=""), **HTMX
    )
    html = html_of(response)
    # a form being filled in is the panel's state, not an error (issue 15, item 1)
    assert response.status_code == 200
    assert "尚未填写：补贴项目、培训结束日期" in html


def test_an_unregistered_number_is_explained_in_the_panel(as_clerk, form_data):
    html = html_of(
        as_clerk.post(
            reverse("claim_check"), form_data(id_number=make_id_number()), **HTMX
        )
    )
    assert "该身份证号码尚未登记" in html


def test_a_reviewer_cannot_use_the_claim_form(client, reviewer, form_data):
    client.force_login(reviewer)
    assert client.get(reverse("claim_create")).status_code == 403
    assert client.post(reverse("claim_check"), form_data()).status_code == 403
    assert client.post(reverse("claim_create"), form_data()).status_code == 403
    assert Claim.objects.count() == 0


# --- Create, submit, withdraw ------------------------------------------------------------
def test_the_form_shows_claimable_programs_only(as_clerk):
    html = html_of(as_clerk.get(reverse("claim_create")))
    assert "9. 实施就业重点群体免费职业技能培训计划" in html
    assert '<option value="4"' not in html
    assert "中式烹调师（4-03-02-01）" in html


def test_the_form_is_preselected_for_a_trainee_with_the_number_masked(
    as_clerk, trainee
):
    html = html_of(as_clerk.get(reverse("claim_create") + f"?trainee={trainee.pk}"))
    assert f'name="trainee" value="{trainee.pk}"' in html
    assert trainee.id_number_masked in html
    assert trainee.id_number not in html


def test_a_clerk_saves_a_draft(as_clerk, clerk, form_data, trainee):
    response = as_clerk.post(reverse("claim_create"), form_data(action="draft"))
    claim = Claim.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("claim_detail", args=[claim.pk])
    assert (claim.status, claim.unit_id, claim.created_by, claim.trainee) == (
        "draft",
        "654301",
        clerk,
        trainee,
    )
    assert claim.amount == Decimal("1800.00") and claim.eligible


def test_a_draft_for_a_preselected_trainee_needs_no_number(
    as_clerk, form_data, trainee
):
    as_clerk.post(
        reverse("claim_create"), form_data(id_number="", trainee=str(trainee.pk))
    )
    assert Claim.objects.get().trainee == trainee


def test_save_and_submit(as_clerk, form_data):
    response = as_clerk.post(reverse("claim_create"), form_data(action="submit"))
    claim = Claim.objects.get()
    assert claim.status == "submitted"
    page = html_of(as_clerk.get(response["Location"]))
    assert "已提交，等待地区人社局审核" in page
    assert "已提交" in page


def test_a_refused_submit_keeps_the_draft_and_shows_the_reasons(as_clerk, form_data):
    # when the clerk saves and submits a claim the rules refuse
    response = as_clerk.post(
        reverse("claim_create"), form_data(action="submit", employment="none")
    )
    # then 409, the reasons on the same form, and the draft kept
    claim = Claim.objects.get()
    html = html_of(response)
    assert response.status_code == 409
    assert claim.status == "draft" and not claim.eligible
    assert "申报不符合补贴条件，未能提交" in html
    assert "项目9只对实现就业" in html
    # the form now edits the kept draft instead of creating another
    assert f'action="{reverse("claim_edit", args=[claim.pk])}"' in html


def test_a_clerk_edits_a_draft(as_clerk, clerk, claim_input, form_data):
    claim = draft(clerk, claim_input, employment="none")
    edit = as_clerk.get(reverse("claim_edit", args=[claim.pk]))
    assert edit.status_code == 200
    assert claim.trainee.id_number not in html_of(edit)
    response = as_clerk.post(
        reverse("claim_edit", args=[claim.pk]),
        form_data(id_number="", trainee=str(claim.trainee_id), amount_requested="1500"),
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert (claim.amount_requested, claim.employment, claim.eligible) == (
        Decimal("1500.00"),
        "employed",
        True,
    )
    event = ClaimEvent.objects.filter(claim=claim, action="edit").get()
    assert event.changes["amount_requested"] == ["1800.00", "1500.00"]


def test_a_submitted_claim_cannot_be_edited(as_clerk, clerk, claim_input):
    claim = submitted(clerk, claim_input)
    response = as_clerk.get(reverse("claim_edit", args=[claim.pk]))
    assert response.status_code == 409
    assert "“已提交”状态的申报不能修改" in html_of(response)


def test_submit_and_withdraw_from_the_claim_page(as_clerk, clerk, claim_input):
    claim = draft(clerk, claim_input)
    page = html_of(as_clerk.get(reverse("claim_detail", args=[claim.pk])))
    assert 'data-testid="submit-claim"' in page
    as_clerk.post(reverse("claim_submit", args=[claim.pk]))
    claim.refresh_from_db()
    assert claim.status == "submitted"
    response = as_clerk.post(
        reverse("claim_withdraw", args=[claim.pk]), {"reason": "重复录入"}
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == "withdrawn"
    page = html_of(as_clerk.get(reverse("claim_detail", args=[claim.pk])))
    assert "申报已撤回" in page
    assert "理由：重复录入" in page


def test_a_refused_submit_from_the_claim_page_is_a_409_with_the_reason(
    as_clerk, clerk, claim_input
):
    claim = draft(clerk, claim_input, amount_requested=Decimal("9000"))
    response = as_clerk.post(reverse("claim_submit", args=[claim.pk]))
    assert response.status_code == 409
    html = html_of(response)
    assert "申报不符合补贴条件，未能提交" in html
    assert "超过补贴上限" in html
    claim.refresh_from_db()
    assert claim.status == "draft"


def test_a_refused_submit_shows_and_keeps_the_reasons_judged_now(
    as_clerk, clerk, claim_input
):
    """The new-user review: a draft refused only for its amount; meanwhile the same
    person's claim of the same trade and level was submitted. Submitting the draft
    was refused, but its page still showed only "超过补贴上限" — the fresh decision
    was written in the transaction the refusal rolled back."""
    claim = draft(clerk, claim_input, amount_requested=Decimal("9000"))
    assert [v["code"] for v in claim.violations] == ["over_cap"]
    submitted(clerk, claim_input)

    response = as_clerk.post(reverse("claim_submit", args=[claim.pk]))

    assert response.status_code == 409
    html = html_of(response)
    assert "同一职业同一等级不可重复享受" in html
    claim.refresh_from_db()
    assert claim.status == "draft"
    assert {v["code"] for v in claim.violations} == {
        "over_cap",
        "duplicate_trade_level",
    }
    again = html_of(as_clerk.get(reverse("claim_detail", args=[claim.pk])))
    assert "同一职业同一等级不可重复享受" in again


def test_submitting_twice_is_a_conflict_not_a_500(as_clerk, clerk, claim_input):
    claim = submitted(clerk, claim_input)
    response = as_clerk.post(reverse("claim_submit", args=[claim.pk]))
    assert response.status_code == 409
    assert "“已提交”状态的申报不能提交" in html_of(response)


def test_actions_need_a_post(as_clerk, clerk, claim_input):
    claim = draft(clerk, claim_input)
    assert as_clerk.get(reverse("claim_submit", args=[claim.pk])).status_code == 405


# --- Bad input: 400, nothing stored ------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"training_start": "2020-13-45"}, "输入一个有效的日期"),
        ({"amount_requested": "-1"}, "申请金额应大于0元"),
        ({"amount_requested": "0"}, "申请金额应大于0元"),
        ({"amount_requested": "100.555"}, "申请金额精确到分：小数不超过2位"),
        ({"amount_requested": "abc"}, "申请金额应为数字"),
        ({"training_end": "2020-02-01"}, "培训结束日期不能早于开始日期"),
        ({"program": "4"}, "选择一个有效的选项"),
        ({"id_number": "654301199002300011"}, "出生日期不存在"),
        ({"work_in_lieu_months": "-2"}, "确保该值大于或等于"),
    ],
)
def test_bad_input_is_a_400_in_chinese_and_stores_nothing(
    as_clerk, form_data, overrides, message
):
    response = as_clerk.post(reverse("claim_create"), form_data(**overrides))
    assert response.status_code == 400
    assert message in html_of(response)
    assert Claim.objects.count() == 0
    assert ClaimEvent.objects.count() == 0


def test_an_unknown_institution_is_a_form_error(as_clerk, form_data):
    response = as_clerk.post(reverse("claim_create"), form_data(institution="999999"))
    assert response.status_code == 400
    assert Claim.objects.count() == 0


# --- Unit scope ------------------------------------------------------------------------------
def test_another_units_clerk_gets_404_everywhere(
    client, clerk, other_clerk, claim_input, form_data
):
    claim = draft(clerk, claim_input)
    client.force_login(other_clerk)
    for name in ("claim_detail", "claim_edit"):
        response = client.get(reverse(name, args=[claim.pk]))
        assert response.status_code == 404
        assert "未找到该页面或记录" in html_of(response)
    for name in ("claim_submit", "claim_withdraw", "claim_check_edit", "claim_edit"):
        assert (
            client.post(reverse(name, args=[claim.pk]), form_data()).status_code == 404
        )
    claim.refresh_from_db()
    assert claim.status == "draft"
    assert ClaimEvent.objects.filter(claim=claim).count() == 1


def test_another_units_claims_are_not_listed(client, clerk, other_clerk, claim_input):
    claim = draft(clerk, claim_input)
    client.force_login(other_clerk)
    html = html_of(client.get(reverse("claim_list")))
    assert f'href="{reverse("claim_detail", args=[claim.pk])}"' not in html
    assert "共 0 件" in html


# --- Review ----------------------------------------------------------------------------------
def test_a_reviewer_approves_only_once_the_report_is_sampled(
    client, clerk, reviewer, claim_input
):
    claim = reported(clerk, claim_input)
    client.force_login(reviewer)
    # before the report's spot checks are drawn: rejecting and returning, no approving
    page = html_of(client.get(reverse("claim_detail", args=[claim.pk])))
    assert 'data-testid="review-panel"' in page
    assert 'data-testid="approve"' not in page and 'data-testid="reject"' in page
    refused = client.post(
        reverse("claim_review", args=[claim.pk]), {"action": "approve"}, follow=True
    )
    assert "请先为该报表随机抽查" in html_of(refused)
    claim.refresh_from_db()
    assert claim.status == "submitted"
    clear_spot_checks(claim.report, reviewer)
    page = html_of(client.get(reverse("claim_detail", args=[claim.pk])))
    assert 'data-testid="approve"' in page
    response = client.post(
        reverse("claim_review", args=[claim.pk]), {"action": "approve"}
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert (claim.status, claim.approved_amount, claim.reviewed_by) == (
        "approved",
        Decimal("1800.00"),
        reviewer,
    )


def test_reject_and_return_need_a_reason(client, clerk, reviewer, claim_input):
    claim = submitted(clerk, claim_input)
    client.force_login(reviewer)
    for action in ("reject", "return"):
        response = client.post(
            reverse("claim_review", args=[claim.pk]), {"action": action, "reason": " "}
        )
        assert response.status_code == 400
        assert "驳回或退回须填写理由" in html_of(response)
    claim.refresh_from_db()
    assert claim.status == "submitted"


def test_a_reviewer_rejects_with_a_reason(client, clerk, reviewer, claim_input):
    claim = reported(clerk, claim_input)
    client.force_login(reviewer)
    client.post(
        reverse("claim_review", args=[claim.pk]),
        {"action": "reject", "reason": "培训记录不实"},
    )
    claim.refresh_from_db()
    assert claim.status == "rejected"
    page = html_of(client.get(reverse("claim_detail", args=[claim.pk])))
    assert "理由：培训记录不实" in page
    assert "已提交 → 已驳回" in page


def test_a_returned_claim_goes_back_to_the_clerk_to_correct(
    client, clerk, reviewer, claim_input, form_data
):
    claim = reported(clerk, claim_input)
    client.force_login(reviewer)
    client.post(
        reverse("claim_review", args=[claim.pk]),
        {"action": "return", "reason": "请补充证书编号"},
    )
    claim.refresh_from_db()
    assert claim.status == "returned"
    client.force_login(clerk)
    # the returned claim still counts: editing it does not collide with itself
    check = client.post(
        reverse("claim_check_edit", args=[claim.pk]),
        form_data(id_number="", trainee=str(claim.trainee_id)),
        **HTMX,
    )
    assert "符合补贴条件" in html_of(check) and "重复享受" not in html_of(check)
    response = client.post(
        reverse("claim_edit", args=[claim.pk]),
        form_data(
            id_number="",
            trainee=str(claim.trainee_id),
            certificate_number="CERT-9",
            action="submit",
        ),
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert (claim.status, claim.certificate_number) == ("submitted", "CERT-9")


def test_a_clerk_cannot_review(as_clerk, clerk, claim_input):
    claim = submitted(clerk, claim_input)
    response = as_clerk.post(
        reverse("claim_review", args=[claim.pk]), {"action": "approve"}
    )
    assert response.status_code == 403
    assert "您的角色不能核准申报" in html_of(response)


def test_an_unknown_review_action_is_a_400(client, clerk, reviewer, claim_input):
    claim = submitted(clerk, claim_input)
    client.force_login(reviewer)
    response = client.post(reverse("claim_review", args=[claim.pk]), {"action": "pay"})
    assert response.status_code == 400


def test_the_history_shows_time_in_shanghai_actor_and_changes(
    as_clerk, clerk, claim_input
):
    claim = draft(clerk, claim_input)
    services.claim_update(
        claim_id=claim.pk,
        data=claim_input(amount_requested=Decimal("1700")),
        actor=clerk,
    )
    event = ClaimEvent.objects.filter(claim=claim).first()
    html = html_of(as_clerk.get(reverse("claim_detail", args=[claim.pk])))
    local = event.at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert local.strftime("%Y-%m-%d %H:%M") in html
    assert "创建" in html and "修改" in html and "申请金额" in html
    assert "1800.00" in html and "1700.00" in html


# --- The list -------------------------------------------------------------------------------
def many_drafts(
    clerk,
    institution,
    count,
    *,
    start=0,
    training_start=date(2020, 3, 1),
    training_end=date(2020, 3, 31),
):
    """Drafts straight into the table: the list reads them, it does not judge them."""
    claims = []
    for n in range(start, start + count):
        person = TraineeFactory(name=f"列表人员{n:03d}")
        claims.append(
            Claim(
                trainee=person,
                program_id=9,
                trade_id="4-03-02-01",
                level_id="intermediate",
                institution=institution,
                unit_id=clerk.unit_id,
                training_start=training_start,
                training_end=training_end,
                amount_requested=Decimal("1800.00"),
                created_by=clerk,
            )
        )
    return Claim.objects.bulk_create(claims)


def test_the_list_shows_columns_with_masked_numbers(
    as_clerk, clerk, claim_input, trainee
):
    claim = submitted(clerk, claim_input)
    html = html_of(as_clerk.get(reverse("claim_list")))
    for text in (
        "编号",
        "姓名",
        "身份证号",
        "项目",
        "职业·等级",
        "培训机构",
        "结束日期",
        "申请金额",
        "核定金额",
        "状态",
    ):
        assert f"<th>{text}</th>" in html or f'<th class="text-end">{text}</th>' in html
    assert f"#{claim.pk}" in html
    assert trainee.id_number_masked in html
    assert trainee.id_number not in html
    assert "中式烹调师" in html and "2020-03-31" in html


def test_the_full_number_never_shows_on_list_detail_or_trainee_pages(
    as_clerk, clerk, claim_input, trainee
):
    claim = submitted(clerk, claim_input)
    pages = [
        reverse("claim_list"),
        reverse("claim_detail", args=[claim.pk]),
        reverse("trainee_detail", args=[trainee.pk]),
        reverse("claim_create") + f"?trainee={trainee.pk}",
        reverse("home"),
    ]
    for url in pages:
        html = html_of(as_clerk.get(url))
        assert trainee.id_number not in html, url
    for url in pages[:3]:
        assert trainee.id_number_masked in html_of(as_clerk.get(url)), url


def test_the_list_pages_by_fifty(as_clerk, clerk, institution):
    many_drafts(clerk, institution, 51)
    first = html_of(as_clerk.get(reverse("claim_list")))
    following = re.search(r'href="\?(cursor=[^"]+)" rel="next"', first)
    assert following is not None
    second = html_of(as_clerk.get(reverse("claim_list") + "?" + following[1]))
    assert first.count('class="fw-semibold">#') == 50
    assert second.count('class="fw-semibold">#') == 1
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "共 51 件" in first


def test_paging_keeps_the_filters(as_clerk, clerk, institution):
    many_drafts(clerk, institution, 51)
    html = html_of(as_clerk.get(reverse("claim_list") + "?status=draft"))
    assert re.search(r'href="\?status=draft&amp;cursor=[^"]+" rel="next"', html)


def test_the_list_filters(as_clerk, clerk, institution, claim_input, trainee):
    # given drafts in two quarters, a submitted claim, and a claim elsewhere
    q1 = many_drafts(clerk, institution, 2)
    q2 = many_drafts(clerk, institution, 3, start=10, training_end=date(2020, 5, 31))
    mine = submitted(clerk, claim_input)
    other_inst = InstitutionFactory(unit_id="654301")
    elsewhere = many_drafts(clerk, other_inst, 1, start=20)

    def listed(query):
        html = html_of(as_clerk.get(reverse("claim_list") + query))
        return {
            c.pk
            for c in Claim.objects.all()
            if f'href="{reverse("claim_detail", args=[c.pk])}"' in html
        }

    every = {c.pk for c in [*q1, *q2, mine, *elsewhere]}
    assert listed("") == every
    assert listed("?status=submitted") == {mine.pk}
    assert listed("?quarter=2020Q2") == {c.pk for c in q2}
    assert listed("?quarter=2020q1") == {c.pk for c in [*q1, mine, *elsewhere]}
    assert listed(f"?institution={other_inst.pk}") == {elsewhere[0].pk}
    assert listed(f"?q={trainee.name}") == {mine.pk}
    assert listed(f"?q={trainee.id_number}") == {mine.pk}
    assert listed("?program=3") == set()
    assert listed("?q=列表人员01") == {c.pk for c in q2}


def test_a_malformed_quarter_is_explained(as_clerk):
    html = html_of(as_clerk.get(reverse("claim_list") + "?quarter=2020-1"))
    assert "季度格式应为" in html


def test_the_list_query_count_does_not_grow_with_rows(client, clerk, institution):
    client.force_login(clerk)
    many_drafts(clerk, institution, 5)
    with CaptureQueriesContext(connection) as five:
        assert client.get(reverse("claim_list")).status_code == 200
    many_drafts(clerk, institution, 45, start=5)
    with CaptureQueriesContext(connection) as fifty:
        assert client.get(reverse("claim_list")).status_code == 200
    assert len(fifty.captured_queries) == len(five.captured_queries)


def test_a_reviewer_lists_every_unit_with_the_unit_column(
    client, clerk, other_clerk, reviewer, claim_input
):
    submitted(clerk, claim_input)
    inst_b = InstitutionFactory(unit_id="654322")
    person = TraineeFactory(id_number=make_id_number(date(1991, 1, 1)))
    services.claim_create(
        data=claim_input(
            unit_id="654322", institution_id=inst_b.pk, trainee_id=person.pk
        ),
        actor=other_clerk,
    )
    client.force_login(reviewer)
    html = html_of(client.get(reverse("claim_list")))
    assert "共 2 件" in html and "申报单位" in html and "富蕴县" in html
    assert "共 1 件" in html_of(client.get(reverse("claim_list") + "?unit=654322"))


def test_the_dates_of_the_list_are_training_end_dates(as_clerk, clerk, institution):
    end = date.today() - timedelta(days=3)
    many_drafts(clerk, institution, 1, training_start=end, training_end=end)
    assert end.isoformat() in html_of(as_clerk.get(reverse("claim_list")))


def test_the_panel_counts_the_year_the_training_ends(
    as_clerk, clerk, claim_input, form_data
):
    # given two claims of the person ending in 2020
    for trade in ("6-31-01-03", "4-07-05-01"):
        submitted(clerk, claim_input, trade_id=trade)
    # when a third is checked for a training ending in 2020
    html = html_of(as_clerk.post(reverse("claim_check"), form_data()))
    # then the panel shows 2020's count, not this year's
    assert "2020年已享受" in html


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG=1", "DEBUG=0"])
def test_pages_load_htmx_without_django_htmx_debug_script(as_clerk, settings, debug):
    """django-htmx's debug script replaces the whole page with any 4xx/5xx answer to
    an htmx request (issue 15, item 1): it is never loaded, in either mode."""
    settings.DEBUG = debug
    html = html_of(as_clerk.get(reverse("claim_create")))
    assert "django_htmx/htmx-2.min.js" in html
    assert "django-htmx.js" not in html
