"""Issue 15, items 2 and 5: the result copy corrected and uploaded again keeps its masked
ID numbers (参考码), and the template offers the unit's institutions by name."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.urls import reverse
from django.utils import timezone

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from claims import intake
from claims.models import Claim, ImportRowReference
from tests.claims.test_imports import (
    checked,
    good_row,
    newcomer_row,
    results_of,
    save,
    xlsx,
)
from tests.factories import TraineeFactory
from trainees.models import Trainee

pytestmark = pytest.mark.django_db

UNKNOWN_TRADE = "9-99-99-99 不存在的工种"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def clerk_client(client: Any, clerk: Any) -> Any:
    client.force_login(clerk)
    client.user = clerk
    return client


GOOD_TRADE = "4-03-02-01 中式烹调师"


def copy_of(client: Any, token: str, rows: str = "") -> Worksheet:
    url = reverse("claims_import:result_xlsx", args=[token])
    response = client.get(f"{url}?rows={rows}" if rows else url)
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content)).active


def header_of(ws: Worksheet) -> list[Any]:
    return [c.value for c in ws[1]]


def column(ws: Worksheet, header: str) -> int:
    return header_of(ws).index(header) + 1


def as_upload(ws: Worksheet) -> bytes:
    out = io.BytesIO()
    ws.parent.save(out)
    return out.getvalue()


def with_newcomer_refused(institution: Any, trainee: Trainee) -> tuple[bytes, str]:
    """Row 3 passes; row 4, a person new to the registry, is refused for its trade.
    The file and the newcomer's ID number."""
    newcomer = newcomer_row(institution, trade=UNKNOWN_TRADE)
    return xlsx([good_row(trainee, institution), newcomer]), newcomer["id_number"]


# --- Item 2: fix and re-upload ---------------------------------------------------------
def test_a_refused_row_corrected_in_its_copy_is_accepted_with_its_original_number(
    clerk_client, trainee, institution
):
    # given a file whose row 4 (a newcomer) is refused for its trade
    data, newcomer = with_newcomer_refused(institution, trainee)
    token, _ = checked(clerk_client, data)
    assert [r.ok for r in results_of(clerk_client, token).values()] == [True, False]

    # when the clerk downloads the refused rows, saves the passing one, corrects the
    # refused row's trade in the copy (its ID number masked) and uploads it again
    ws = copy_of(clerk_client, token, rows="failing")
    assert ws.max_row == 2  # the header and the refused row: nothing else
    assert ws.cell(row=2, column=1).value == f"{newcomer[:6]}********{newcomer[-4:]}"
    assert header_of(ws)[-3:] == ["结果", "原因", "参考码"]
    assert ws.cell(row=2, column=column(ws, "参考码")).value
    assert save(clerk_client, token, "submit").status_code == 302
    ws.cell(row=2, column=column(ws, "职业(工种)")).value = GOOD_TRADE
    again, _ = checked(clerk_client, as_upload(ws))

    # then the row passes and saving registers the person under the original number
    (result,) = results_of(clerk_client, again).values()
    assert result.ok, result.problems
    assert result.registers
    assert save(clerk_client, again, "draft").status_code == 302
    person = Trainee.objects.get(id_number=newcomer)
    assert person.name == "新学员"
    assert Claim.objects.filter(trainee=person, status="draft").count() == 1
    assert Claim.objects.count() == 2


def test_the_whole_copy_uploaded_again_passes_and_gets_fresh_references(
    clerk_client, trainee, institution
):
    data, newcomer = with_newcomer_refused(institution, trainee)
    token, _ = checked(clerk_client, data)
    ws = copy_of(clerk_client, token)
    first_references = [
        ws.cell(row=r, column=column(ws, "参考码")).value for r in (3, 4)
    ]
    ws.cell(row=4, column=column(ws, "职业(工种)")).value = GOOD_TRADE

    again, _ = checked(clerk_client, as_upload(ws))

    assert [r.ok for r in results_of(clerk_client, again).values()] == [True, True]
    second = copy_of(clerk_client, again)
    header = header_of(second)
    # the old result columns are not repeated: one 结果, one 原因, one 参考码, at the end
    assert [header.count(h) for h in ("结果", "原因", "参考码")] == [1, 1, 1]
    assert header[-3:] == ["结果", "原因", "参考码"]
    refs = [second.cell(row=r, column=len(header)).value for r in (3, 4)]
    assert all(refs) and not set(refs) & set(first_references)
    assert second.cell(row=3, column=1).value == trainee.id_number_masked
    assert save(clerk_client, again, "submit").status_code == 302
    assert sorted(Claim.objects.values_list("trainee__id_number", flat=True)) == sorted(
        [trainee.id_number, newcomer]
    )


@pytest.mark.parametrize("stranger", ["clerk_same_unit", "other_clerk"])
def test_another_clerk_s_reference_does_not_resolve(
    clerk_client, client, request, stranger, trainee, institution
):
    # given clerk A's copy of a refused row, corrected
    data, newcomer = with_newcomer_refused(institution, trainee)
    token, _ = checked(clerk_client, data)
    ws = copy_of(clerk_client, token, rows="failing")
    ws.cell(row=2, column=column(ws, "职业(工种)")).value = GOOD_TRADE

    # when another clerk (of the same unit, or of another) uploads it
    other = request.getfixturevalue(stranger)
    client.force_login(other)
    client.user = other
    again, _ = checked(client, as_upload(ws))

    # then the reference gives them nothing: the row is refused, saying why
    (result,) = results_of(client, again).values()
    assert not result.ok
    assert "参考码" in result.reasons and "未能找回" in result.reasons
    assert result.id_masked == ws.cell(row=2, column=1).value
    assert result.id_masked == f"{newcomer[:6]}********{newcomer[-4:]}"


def test_a_masked_number_typed_without_a_reference_is_refused_saying_what_to_do(
    clerk_client, institution
):
    masked = f"{'654301'}********{'1234'}"
    token, page = checked(
        clerk_client, xlsx([newcomer_row(institution, id_number=masked)])
    )

    (result,) = results_of(clerk_client, token).values()
    assert not result.ok
    assert result.problems[0]["message"].startswith(
        "【身份证号码】是检查结果中遮盖的号码"
    )
    assert "参考码" in result.reasons
    assert "前17位须为半角数字" not in result.reasons
    assert "参考码" in page.content.decode()


def test_an_expired_reference_does_not_resolve_and_beat_deletes_it(
    clerk_client, trainee, institution
):
    from altay_skills.celery import app
    from claims.tasks import PURGE_IMPORTS_TASK

    token, _ = checked(clerk_client, with_newcomer_refused(institution, trainee)[0])
    ws = copy_of(clerk_client, token, rows="failing")
    ws.cell(row=2, column=column(ws, "职业(工种)")).value = GOOD_TRADE
    ImportRowReference.objects.update(
        created_at=timezone.now() - intake.PAYLOAD_TTL - timedelta(seconds=1)
    )

    again, _ = checked(clerk_client, as_upload(ws))

    (result,) = results_of(clerk_client, again).values()
    assert not result.ok and "参考码" in result.reasons
    stale = ImportRowReference.objects.filter(
        created_at__lt=timezone.now() - intake.PAYLOAD_TTL
    )
    assert stale.exists()
    checked(clerk_client, xlsx([good_row(trainee, institution)]))  # a fresh check
    app.loader.import_default_modules()
    app.tasks[PURGE_IMPORTS_TASK].delay()
    assert not stale.exists()
    assert ImportRowReference.objects.exists()  # the fresh check's references stay


def test_a_reference_does_not_resolve_a_masked_number_that_was_edited(
    clerk_client, trainee, institution
):
    token, _ = checked(clerk_client, with_newcomer_refused(institution, trainee)[0])
    ws = copy_of(clerk_client, token, rows="failing")
    ws.cell(row=2, column=column(ws, "职业(工种)")).value = GOOD_TRADE
    masked = ws.cell(row=2, column=1).value
    ws.cell(row=2, column=1).value = masked[:-4] + (
        "0000" if masked[-4:] != "0000" else "1111"
    )

    again, _ = checked(clerk_client, as_upload(ws))

    (result,) = results_of(clerk_client, again).values()
    assert not result.ok and "未能找回" in result.reasons


def test_a_full_number_typed_over_the_mask_wins_over_the_reference(
    clerk_client, trainee, institution
):
    token, _ = checked(clerk_client, with_newcomer_refused(institution, trainee)[0])
    ws = copy_of(clerk_client, token, rows="failing")
    ws.cell(row=2, column=column(ws, "职业(工种)")).value = GOOD_TRADE
    someone = TraineeFactory(name="另一人")
    ws.cell(row=2, column=1).value = someone.id_number
    ws.cell(row=2, column=2).value = "另一人"

    again, _ = checked(clerk_client, as_upload(ws))

    (result,) = results_of(clerk_client, again).values()
    assert result.ok, result.problems
    assert result.id_masked == someone.id_number_masked


def test_the_server_keeps_neither_the_reference_nor_the_number_in_the_clear(
    clerk_client, trainee, institution
):
    data, newcomer = with_newcomer_refused(institution, trainee)
    token, _ = checked(clerk_client, data)
    ws = copy_of(clerk_client, token)
    references = {ws.cell(row=r, column=column(ws, "参考码")).value for r in (3, 4)}

    kept = list(ImportRowReference.objects.values())
    assert len(kept) == 2
    numbers = {trainee.id_number, newcomer}
    for row in kept:
        text = " ".join(str(v) for v in row.values())
        assert not any(n in text for n in numbers)
        assert not any(r in text for r in references)
        assert row["user_id"] == clerk_client.user.pk and row["unit_id"] == "654301"


def test_rows_without_a_valid_number_get_no_reference(clerk_client, institution):
    token, _ = checked(
        clerk_client, xlsx([newcomer_row(institution, id_number="65430119950203001")])
    )

    ws = copy_of(clerk_client, token)

    assert ws.cell(row=3, column=column(ws, "参考码")).value is None
    assert not ImportRowReference.objects.exists()


def test_the_result_page_explains_how_to_fix_and_upload_again(
    clerk_client, trainee, institution
):
    _token, page = checked(clerk_client, with_newcomer_refused(institution, trainee)[0])

    html = page.content.decode()
    assert "下载不通过的行" in html and "?rows=failing" in html
    assert "参考码" in html and "无需重新填写" in html


def test_a_masked_cell_holding_a_full_number_is_still_shown_masked(
    clerk_client, institution
):
    number = newcomer_row(institution)["id_number"]

    token, page = checked(
        clerk_client, xlsx([newcomer_row(institution, id_number=f"{number}*")])
    )

    (result,) = results_of(clerk_client, token).values()
    assert not result.ok and number not in result.id_masked
    assert number not in page.content.decode()
