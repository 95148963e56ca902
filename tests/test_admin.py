"""The Django admin answers every page for an administrator, in Chinese."""

from django.contrib import admin
from django.urls import reverse

import pytest

from programs.models import PolicyEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_zh(client, administrator):
    client.force_login(administrator)
    return client


def our_models():
    return [
        m
        for m in admin.site._registry
        if m._meta.app_label in {"accounts", "programs", "trainees", "claims"}
    ]


def test_every_model_of_ours_is_in_the_admin():
    labels = {f"{m._meta.app_label}.{m.__name__}" for m in our_models()}
    assert labels >= {
        "accounts.User",
        "programs.Unit",
        "programs.Program",
        "programs.Level",
        "programs.Trade",
        "programs.Institution",
        "programs.PolicyEntry",
        "trainees.Trainee",
    }


def test_every_changelist_answers_in_chinese(admin_client_zh):
    for model in our_models():
        url = reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
        )
        response = admin_client_zh.get(url)
        assert response.status_code == 200, url
        assert "阿勒泰地区职业技能提升补贴管理系统" in response.text


def test_policy_entry_change_page_shows_history(admin_client_zh):
    entry = PolicyEntry.objects.get(program_id=9, kind="cap")
    url = reverse("admin:programs_policyentry_history", args=[entry.pk])
    assert admin_client_zh.get(url).status_code == 200


def test_no_claim_report_or_money_is_in_the_admin():
    """Issue 12 (3): the admin shows administrators reference data and users only."""
    registered = {m._meta.app_label for m in admin.site._registry}
    assert not registered & {"claims", "quarters", "reporting"}
    # issue 18: the bank templates are reference data (a bank's file layout), the
    # only finance model an administrator maintains; no money is registered
    finance = {
        m.__name__ for m in admin.site._registry if m._meta.app_label == "finance"
    }
    assert finance == {"BankTemplate"}


def test_the_bank_templates_answer_in_chinese(admin_client_zh):
    url = reverse("admin:finance_banktemplate_changelist")
    response = admin_client_zh.get(url)
    assert response.status_code == 200
    assert "农信一卡通代发" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/admin/claims/claim/",
        "/admin/claims/claimevent/",
        "/admin/quarters/quarterlyreport/",
        "/admin/finance/payment/",
        "/admin/finance/recovery/",
    ],
)
def test_an_administrator_reaches_no_claim_page_in_the_admin(admin_client_zh, path):
    assert admin_client_zh.get(path).status_code == 404


def test_a_policy_entry_shows_and_takes_its_unit(admin_client_zh):
    """Issue 13, 4: a county's own entry (its uplift decision) names its unit."""
    add = reverse("admin:programs_policyentry_add")
    assert 'name="unit"' in admin_client_zh.get(add).text
    changelist = admin_client_zh.get(reverse("admin:programs_policyentry_changelist"))
    assert "单位" in changelist.text

    response = admin_client_zh.post(
        add,
        {
            "program": "9",
            "unit": "654322",
            "kind": "project_uplift",
            "ratio": "0.3",
            "effective_from": "2020-01-01",
            "clause": "三(二)9",
            "source_document": "富人社发〔2020〕7号",
        },
    )

    assert response.status_code == 302, response.text[-2000:]
    assert PolicyEntry.objects.get(kind="project_uplift", unit_id="654322").ratio == (
        PolicyEntry._meta.get_field("ratio").to_python("0.3")
    )
