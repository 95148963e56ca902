"""The class pages (issue 16): the list in each role's scope, the forms of each action
through the services, the completion typed or imported from a sheet, and bad input
answered in Chinese (never a 500)."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

from django.test import Client

import pytest
from openpyxl import Workbook

from accounts.models import Role
from claims.models import Claim
from classes import services
from classes.models import ClassDocument, TrainingClass
from tests.claims.test_documents import EXE, png_bytes
from tests.classes.conftest import END, START, class_input
from tests.factories import InstitutionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_staff_land_on_their_class_list_and_see_only_their_institution(
    filed_class, staff, clerk, other_clerk, reviewer, school
):
    other_school = InstitutionFactory(unit_id="654301")
    other_staff = UserFactory(
        username="other_staff",
        role=Role.INSTITUTION_STAFF,
        unit_id=None,
        institution=other_school,
    )
    response = as_user(staff).get("/")
    assert response.status_code == 302 and response["Location"] == "/classes/"
    page = as_user(staff).get("/classes/").content.decode()
    assert f"培训班#{filed_class.pk}" in page and "培训班</a>" in page
    assert (
        f"培训班#{filed_class.pk}"
        not in as_user(other_staff).get("/classes/").content.decode()
    )
    assert as_user(other_staff).get(f"/classes/{filed_class.pk}/").status_code == 404
    assert (
        f"培训班#{filed_class.pk}" in as_user(clerk).get("/classes/").content.decode()
    )
    assert (
        f"培训班#{filed_class.pk}"
        not in as_user(other_clerk).get("/classes/").content.decode()
    )
    assert as_user(other_clerk).get(f"/classes/{filed_class.pk}/").status_code == 404
    assert (
        f"培训班#{filed_class.pk}"
        in as_user(reviewer).get("/classes/").content.decode()
    )


def test_the_staff_draft_a_class_and_set_its_roster_by_id_number(clock, staff, people):
    client = as_user(staff)
    assert client.get("/classes/new/").status_code == 200
    response = client.post(
        "/classes/new/",
        {
            "unit": "654301",
            "program": "9",
            "trade": "4-03-02-01",
            "level": "intermediate",
            "project_based": "on",
            "planned_start": "2020-04-01",
            "planned_end": "2020-05-31",
            "hours": "100",
            "location": "阿勒泰市职业技能培训中心",
            "teachers": "王老师、李老师",
        },
    )
    assert response.status_code == 302, response.content.decode()
    cls = TrainingClass.objects.get()
    assert cls.teachers == ["王老师", "李老师"]
    assert cls.institution_id == staff.institution_id
    numbers = "\n".join(p.id_number for p in people[:2])
    response = client.post(
        f"/classes/{cls.pk}/roster/",
        {"id_numbers": numbers, "trainee": [str(people[2].pk)]},
    )
    assert response.status_code == 302, response.content.decode()
    page = client.get(f"/classes/{cls.pk}/").content.decode()
    assert page.count('data-testid="roster-row"') == 3
    assert "通过" in page


def test_bad_input_is_answered_in_chinese(clock, staff, filed_class):
    client = as_user(staff)
    response = client.post(
        "/classes/new/",
        {
            "unit": "654301",
            "program": "9",
            "planned_start": "2020-05-01",
            "planned_end": "2020-04-01",
            "hours": "-1",
            "location": "",
        },
    )
    assert response.status_code == 400
    assert "计划结业日期不能早于开班日期" in response.content.decode()
    cls = services.class_create(data=class_input(filed_class.institution), actor=staff)
    response = client.post(
        f"/classes/{cls.pk}/roster/", {"id_numbers": "123", "trainee": ["x"]}
    )
    assert response.status_code == 400
    assert "所选人员无效" in response.content.decode()
    response = client.post(
        f"/classes/{cls.pk}/roster/", {"id_numbers": "110101199003071234"}
    )
    assert response.status_code == 400
    # a move the class's state refuses: the page again with the reason
    response = client.post(f"/classes/{filed_class.pk}/start/")
    assert response.status_code == 409
    assert "不能开班" in response.content.decode()
    assert client.post("/classes/999999/file/").status_code == 404


def test_a_roster_s_id_numbers_are_read_a_line_each_and_refused_by_line(
    clock, staff, filed_class, people
):
    """A newcomer's review: an ID number pasted with a space inside was split in two,
    and each part refused masked whole ("***************：…当前为15位") — which line
    was wrong could not be told. A line is one number, spaces inside it ignored (two
    full numbers on a line are two); a refusal names its line."""
    client = as_user(staff)
    cls = services.class_create(data=class_input(filed_class.institution), actor=staff)
    spaced = people[0].id_number[:15] + " " + people[0].id_number[15:]
    two_on_a_line = f"{people[1].id_number}  {people[2].id_number}"

    refused = client.post(
        f"/classes/{cls.pk}/roster/",
        {"id_numbers": f"{spaced}\n12345\n{two_on_a_line}"},
    )

    page = refused.content.decode()
    assert refused.status_code == 400
    assert "第2行" in page and "当前为5位" in page
    assert "第1行" not in page and "第3行" not in page
    saved = client.post(
        f"/classes/{cls.pk}/roster/", {"id_numbers": f"{spaced}\n{two_on_a_line}"}
    )
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    assert (
        client.get(f"/classes/{cls.pk}/")
        .content.decode()
        .count('data-testid="roster-row"')
        == 3
    )


def test_a_refused_session_keeps_what_was_typed(running_class, staff, clock):
    """The new-user review: a session dated outside the class, 8 hours, two of four
    present — refused, and the form came back empty with everyone ticked; fixing the
    date alone recorded all of them present."""
    people = list(running_class.roster.values_list("trainee_id", flat=True))
    clock(END)
    sheet = io.BytesIO(png_bytes())
    sheet.name = "签到表.png"
    response = as_user(staff).post(
        f"/classes/{running_class.pk}/sessions/",
        {
            "date": "2020-06-30",
            "hours": "8",
            "present": [str(people[0])],
            "sign_in_sheet": sheet,
        },
    )
    assert response.status_code in (400, 409)
    form = session_form_of(response.content.decode())
    assert 'name="date" id="session-date"' in form
    assert 'value="2020-06-30"' in form and 'value="8"' in form
    assert ticked_in(form) == {people[0]}
    assert 'data-testid="session-sheet-again"' in form
    # a first visit: everyone ticked, nothing typed
    form = session_form_of(
        as_user(staff).get(f"/classes/{running_class.pk}/").content.decode()
    )
    assert ticked_in(form) == set(people)
    assert 'value="2020-06-30"' not in form


def test_a_refused_roster_keeps_the_boxes_as_they_were_ticked(
    clock, staff, school, people
):
    """The new-user review: three people ticked and a bad ID number typed — the error
    showed and the ticks were gone; fixing the number saved a roster of nobody."""
    cls = services.class_create(data=class_input(school), actor=staff)
    services.class_roster_set(class_id=cls.pk, trainee_ids=[people[0].pk], actor=staff)
    client = as_user(staff)
    response = client.post(
        f"/classes/{cls.pk}/roster/",
        {"trainee": [str(people[1].pk), str(people[2].pk)], "id_numbers": "1234"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert picked_in(page) == {people[1].pk, people[2].pk}  # the first one unticked
    assert ">1234</textarea>" in page
    # a first visit: the roster as it stands
    assert picked_in(client.get(f"/classes/{cls.pk}/roster/").content.decode()) == {
        people[0].pk
    }


def picked_in(page: str) -> set[int]:
    return ticked_in(page, name="trainee")


def session_form_of(page: str) -> str:
    start = page.index('data-testid="session-form"')
    return page[start : page.index("</form>", start)]


def ticked_in(form: str, name: str = "present") -> set[int]:
    """The trainees whose box (出勤, or the roster's ``trainee``) is ticked."""
    boxes = re.findall(rf'<input[^>]*name="{name}"[^>]*>', form)
    return {
        int(re.search(r'value="(\d+)"', box).group(1))
        for box in boxes
        if re.search(r"\schecked[\s>]", box)
    }


def test_the_clerk_accepts_or_returns_with_a_reason(filed_class, clerk, staff):
    client = as_user(clerk)
    page = client.get(f"/classes/{filed_class.pk}/").content.decode()
    assert 'data-testid="accept-class"' in page
    assert (
        'data-testid="accept-class"'
        not in as_user(staff).get(f"/classes/{filed_class.pk}/").content.decode()
    )
    response = client.post(f"/classes/{filed_class.pk}/return/", {"reason": ""})
    assert response.status_code == 400
    assert "退回须填写理由" in response.content.decode()
    response = client.post(
        f"/classes/{filed_class.pk}/return/", {"reason": "授课教师资质未附"}
    )
    assert response.status_code == 302
    filed_class.refresh_from_db()
    assert filed_class.status == "returned"
    assert as_user(staff).post(f"/classes/{filed_class.pk}/file/").status_code == 302
    assert client.post(f"/classes/{filed_class.pk}/accept/").status_code == 302
    filed_class.refresh_from_db()
    assert filed_class.status == "accepted"


def test_a_session_with_its_sheet_then_completion_on_the_page(
    running_class, staff, clerk, clock
):
    people = list(running_class.roster.values_list("trainee_id", flat=True))
    client = as_user(staff)
    clock(END)
    response = client.post(
        f"/classes/{running_class.pk}/sessions/",
        {
            "date": "2020-04-01",
            "hours": "24",
            "present": [str(p) for p in people],
            "sign_in_sheet": io.BytesIO(EXE),
        },
    )
    assert response.status_code == 400
    assert "只接收PDF、JPEG或PNG" in response.content.decode()
    assert not running_class.sessions.exists()
    sheet = io.BytesIO(png_bytes())
    sheet.name = "签到表.png"
    for day in range(1, 6):
        body = {
            "date": f"2020-04-0{day}",
            "hours": "20",
            "present": [str(p) for p in people],
        }
        if day == 1:
            body["sign_in_sheet"] = sheet
        response = client.post(f"/classes/{running_class.pk}/sessions/", body)
        assert response.status_code == 302, response.content.decode()
    link = ClassDocument.objects.get()
    page = client.get(f"/classes/{running_class.pk}/").content.decode()
    assert f'data-testid="sheet-{link.document_id}"' in page
    response = client.post(
        f"/classes/{running_class.pk}/sessions/", {"date": "x", "hours": "1"}
    )
    assert response.status_code == 400
    # the staff may not complete; the clerk may
    assert client.get(f"/classes/{running_class.pk}/complete/").status_code == 403
    clerk_client = as_user(clerk)
    form = {}
    for pk in people:
        form[f"passed_{pk}"] = "yes"
        form[f"certificate_{pk}"] = f"CERT-{pk}"
        form[f"employment_{pk}"] = "employed"
    form[f"passed_{people[0]}"] = ""
    response = clerk_client.post(f"/classes/{running_class.pk}/complete/", form)
    assert response.status_code == 400
    assert "请选择是否合格" in response.content.decode()
    form[f"passed_{people[0]}"] = "no"
    response = clerk_client.post(f"/classes/{running_class.pk}/complete/", form)
    assert response.status_code == 302, response.content.decode()
    assert Claim.objects.filter(roster_line__training_class=running_class).count() == 3


def completion_sheet(rows: list[list[Any]]) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(["身份证号码", "是否合格", "证书编号", "取得等级", "就业情况"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "结业结果.xlsx"
    return out


def test_completion_imported_from_a_sheet_all_or_none(running_class, clerk, clock):
    clock(END)
    lines = list(running_class.roster.select_related("trainee"))
    client = as_user(clerk)
    bad = completion_sheet(
        [[lines[0].trainee.id_number, "也许", "", "", "就业"]]
        + [[line.trainee.id_number, "是", "C1", "", "就业"] for line in lines[1:]]
        + [["110101199003071234", "是", "", "", "就业"]]
    )
    response = client.post(
        f"/classes/{running_class.pk}/complete/import/", {"sheet": bad}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "第2行" in text and "是否合格" in text and "一行也未采用" in text
    assert not Claim.objects.exists()
    response = client.post(
        f"/classes/{running_class.pk}/complete/import/",
        {"sheet": io.BytesIO(b"not a workbook")},
    )
    assert response.status_code == 400
    good = completion_sheet(
        [
            [line.trainee.id_number, "是", f"C{line.pk}", "中级工", "就业"]
            for line in lines
        ]
    )
    response = client.post(
        f"/classes/{running_class.pk}/complete/import/", {"sheet": good}
    )
    assert response.status_code == 302, response.content.decode()
    running_class.refresh_from_db()
    assert running_class.status == "completed"
    assert Claim.objects.count() == len(lines)


def test_cancel_with_a_reason(clock, staff, school):
    cls = services.class_create(
        data=class_input(
            school,
            planned_start=date(2020, 6, 1),
            planned_end=END.replace(month=6, day=30),
        ),
        actor=staff,
    )
    client = as_user(staff)
    assert client.post(f"/classes/{cls.pk}/cancel/", {"reason": ""}).status_code == 400
    assert (
        client.post(
            f"/classes/{cls.pk}/cancel/", {"reason": "报名人数不足"}
        ).status_code
        == 302
    )
    cls.refresh_from_db()
    assert cls.status == "cancelled"
    assert START  # the fixtures' dates


def test_a_superscript_digit_is_a_400_not_a_500(
    client: Any, clerk: Any, running_class: Any, staff: Any
) -> None:
    """The attacker review's requests, each once a 500 (``altay_skills.record_ids``)."""
    client.force_login(staff)
    pk = running_class.pk
    answers = {
        "roster": client.post(f"/classes/{pk}/roster/", {"trainee": "²"}),
        "session": client.post(
            f"/classes/{pk}/sessions/", {"date": "", "hours": "1", "present": "²"}
        ),
        "document": client.post(f"/classes/{pk}/documents/", {"session": "²"}),
        "api document": client.post(f"/api/classes/{pk}/documents/", {"session": "²"}),
    }
    client.force_login(clerk)
    answers["accounts"] = client.get("/finance/accounts/?owner=trainee&owner_id=²")
    answers["account"] = client.post(
        "/finance/accounts/propose/", {"owner": "trainee", "owner_ref": "²"}
    )
    assert {name: a.status_code < 500 for name, a in answers.items()} == {
        name: True for name in answers
    }
    assert answers["api document"]["Content-Type"].startswith("application/json")
