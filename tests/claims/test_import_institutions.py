"""Issue 15, item 5: the template offers the unit's admitted institutions by name, the
code beside it, and the import reads a name, "名称（代码）" or the code."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.urls import reverse

import pytest
from openpyxl import load_workbook

from claims import intake
from claims.models import Claim
from tests.claims.test_imports import (
    TEMPLATE,
    checked,
    good_row,
    results_of,
    save,
    xlsx,
)
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def clerk_client(client: Any, clerk: Any) -> Any:
    client.force_login(clerk)
    client.user = clerk
    return client


def test_the_template_offers_the_unit_s_admitted_institutions_with_their_codes(
    clerk_client, institution
):
    proposed = InstitutionFactory(name="待认定学校", unit_id="654301", admitted=False)
    elsewhere = InstitutionFactory(name="富蕴县学校", unit_id="654322")

    wb = load_workbook(io.BytesIO(clerk_client.get(TEMPLATE).content))

    offered = [c.value for c in wb[intake.LISTS_SHEET]["H"][1:] if c.value]
    assert offered == [f"{institution.name}（{institution.credit_code}）"]
    ws = wb[intake.DATA_SHEET]
    letter = chr(ord("A") + [c.key for c in intake.COLUMNS].index("institution"))
    (dv,) = [
        dv
        for dv in ws.data_validations.dataValidation
        if dv.type == "list" and str(dv.sqref).startswith(f"{letter}2")
    ]
    assert dv.formula1.startswith("lists!$H$2:")
    assert dv.errorStyle == "warning"  # another unit's institution is typed by code
    listed = [
        [c.value for c in row] for row in wb[intake.INSTITUTIONS_SHEET].iter_rows()
    ]
    assert listed[0][:2] == ["名称", "统一社会信用代码"]
    assert [institution.name, institution.credit_code] in [r[:2] for r in listed]
    names = {r[0] for r in listed}
    assert proposed.name not in names and elsewhere.name not in names


@pytest.mark.parametrize(
    "cell",
    [
        lambda i: i.credit_code,
        lambda i: i.credit_code.lower(),
        lambda i: f"{i.name}（{i.credit_code}）",
        lambda i: f"{i.name}({i.credit_code})",
        lambda i: i.name,
    ],
    ids=["code", "lower-case code", "name（code）", "name(code)", "name"],
)
def test_the_institution_is_read_by_code_name_or_both(
    clerk_client, trainee, institution, cell
):
    token, _ = checked(
        clerk_client,
        xlsx([good_row(trainee, institution, institution=cell(institution))]),
    )

    (result,) = results_of(clerk_client, token).values()
    assert result.ok, result.problems
    assert save(clerk_client, token, "draft").status_code == 302
    assert Claim.objects.get().institution == institution


def test_a_name_shared_by_institutions_prefers_the_unit_s_admitted_one(
    clerk_client, trainee, institution
):
    InstitutionFactory(name=institution.name, unit_id="654322")

    token, _ = checked(
        clerk_client,
        xlsx([good_row(trainee, institution, institution=institution.name)]),
    )

    assert results_of(clerk_client, token)[3].ok
    assert save(clerk_client, token, "draft").status_code == 302
    assert Claim.objects.get().institution == institution


def test_an_ambiguous_or_unknown_name_is_refused_saying_what_to_type(
    clerk_client, trainee
):
    InstitutionFactory(name="同名学校", unit_id="654322")
    InstitutionFactory(name="同名学校", unit_id="654321")
    token, _ = checked(
        clerk_client,
        xlsx(
            [
                good_row(trainee, InstitutionFactory(), institution="同名学校"),
                good_row(trainee, InstitutionFactory(), institution="没有这个学校"),
            ]
        ),
    )

    results = results_of(clerk_client, token)
    assert "有2个" in results[3].reasons and "统一社会信用代码" in results[3].reasons
    assert "未找到名为“没有这个学校”" in results[4].reasons


def test_the_import_page_lists_the_unit_s_institutions_with_their_codes(
    clerk_client, institution
):
    elsewhere = InstitutionFactory(name="富蕴县学校", unit_id="654322")

    html = clerk_client.get(reverse("claims_import:start")).content.decode()

    assert institution.name in html and institution.credit_code in html
    assert elsewhere.credit_code not in html


def test_an_old_file_with_the_code_header_still_imports(
    clerk_client, trainee, institution
):
    headers = [
        "培训机构统一社会信用代码" if c.key == "institution" else c.header
        for c in intake.COLUMNS
    ]
    token, _ = checked(
        clerk_client, xlsx([good_row(trainee, institution)], headers=headers)
    )

    assert results_of(clerk_client, token)[3].ok
