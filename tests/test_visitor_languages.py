"""Which language a page answers in (issues 17 and 19): the staff pages in Chinese
whatever the browser prefers; the pages trainees and the public read in the visitor's
choice among 简体中文, ئۇيغۇرچە and قازاقشا (the switcher, remembered in a cookie, else
the browser's Accept-Language), right to left for the last two."""

from __future__ import annotations

import re

from django.conf import settings
from django.test import Client
from django.utils import translation

import pytest

from altay_skills.languages import is_visitor_path
from altay_skills.plain_text import plain_text_problem
from programs.models import Level, Program, Trade, Unit, name_field

pytestmark = pytest.mark.django_db

UYGHUR_TITLE = "ياردەم پۇلى بېرىلىدىغان تەربىيە تۈرلىرى مۇندەرىجىسى"
KAZAKH_TITLE = "دەمەۋ قارجىسى بەرىلەتىن وقىتۋ جوبالارىنىڭ ٴتىزىمى"
CHINESE_TITLE = "补贴性培训项目目录"


def html_tag(response) -> str:
    return re.search(r"<html[^>]*>", response.content.decode()).group(0)


@pytest.mark.parametrize("preferred", ["ug", "kk-Arab", "kk", "ug,zh;q=0.5", "en"])
def test_a_staff_page_is_chinese_whatever_the_browser_prefers(preferred, clerk):
    client = Client(HTTP_ACCEPT_LANGUAGE=preferred)
    client.force_login(clerk)
    response = client.post("/claims/new/", {})
    assert response["Content-Language"] == "zh-hans"
    assert 'lang="zh-hans"' in html_tag(response) and "rtl" not in html_tag(response)
    assert "该字段是必填项" in response.content.decode()


def test_a_staff_page_ignores_the_visitor_language_cookie_and_switcher(clerk):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ug"
    client.force_login(clerk)
    response = client.get("/", {"lang": "kk-arab"})
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    login = Client(HTTP_ACCEPT_LANGUAGE="ug").get("/accounts/login/")
    assert login["Content-Language"] == "zh-hans"


@pytest.mark.parametrize(
    ("preferred", "language", "title", "direction"),
    [
        ("ug", "ug", UYGHUR_TITLE, "rtl"),
        ("ug-CN,zh;q=0.5", "ug", UYGHUR_TITLE, "rtl"),
        ("kk-Arab", "kk-arab", KAZAKH_TITLE, "rtl"),
        ("kk-CN", "kk-arab", KAZAKH_TITLE, "rtl"),
        ("zh-CN", "zh-hans", CHINESE_TITLE, "ltr"),
        ("en", "zh-hans", CHINESE_TITLE, "ltr"),
    ],
)
def test_a_public_page_follows_the_browser(preferred, language, title, direction):
    response = Client(HTTP_ACCEPT_LANGUAGE=preferred).get("/public/programs/")
    assert response.status_code == 200
    assert response["Content-Language"] == language
    assert html_tag(response) == f'<html lang="{language}" dir="{direction}">'
    assert title in response.content.decode()
    assert "Accept-Language" in response["Vary"] and "Cookie" in response["Vary"]


def test_the_switcher_chooses_and_the_cookie_remembers_over_the_browser():
    client = Client(HTTP_ACCEPT_LANGUAGE="ug")
    chosen = client.get("/public/programs/", {"lang": "kk-arab"})
    assert chosen["Content-Language"] == "kk-arab"
    cookie = chosen.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "kk-arab" and cookie["samesite"] == "Lax"
    # the next page, without the parameter: the cookie beats Accept-Language
    later = client.get("/public/institutions/")
    assert later["Content-Language"] == "kk-arab"
    back = client.get("/public/institutions/", {"lang": "zh-hans"})
    assert back["Content-Language"] == "zh-hans"
    assert client.get("/public/programs/")["Content-Language"] == "zh-hans"


def test_an_unknown_language_asked_for_is_ignored():
    response = Client(HTTP_ACCEPT_LANGUAGE="ug").get(
        "/public/programs/", {"lang": "kk"}
    )
    assert response["Content-Language"] == "ug"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    odd = Client().get("/public/programs/", {"lang": "<script>"})
    assert odd.status_code == 200 and odd["Content-Language"] == "zh-hans"


def test_the_switcher_names_each_language_in_its_own_script_and_keeps_the_query():
    html = Client().get("/public/disclosure/", {"quarter": "all"}).content.decode()
    switcher = re.search(r'data-testid="language-switcher".*?</ul>', html, re.S).group(
        0
    )
    for code, name in (
        ("zh-hans", "简体中文"),
        ("ug", "ئۇيغۇرچە"),
        ("kk-arab", "قازاقشا"),
    ):
        assert f'hreflang="{code}" lang="{code}"' in switcher and name in switcher
        assert f"/public/disclosure/?lang={code}&amp;quarter=all" in switcher
    assert 'aria-current="true" data-language="zh-hans"' in switcher


def test_the_visitor_paths_are_the_public_and_trainee_pages_and_their_apis():
    for path in (
        "/public/programs/",
        "/t/ABC123/",
        "/api/public/disclosure/",
        "/api/confirmations/ABC123/",
    ):
        assert is_visitor_path(path)
    for path in ("/", "/claims/", "/api/claims/", "/admin/", "/publication/", "/tx/"):
        assert not is_visitor_path(path)


def test_the_public_api_follows_the_visitor_and_the_staff_api_does_not(clerk):
    from rest_framework.test import APIClient

    public = APIClient(HTTP_ACCEPT_LANGUAGE="ug").get("/api/public/programs/")
    assert public.status_code == 200 and public["Content-Language"] == "ug"
    staff = APIClient(HTTP_ACCEPT_LANGUAGE="ug")
    staff.force_authenticate(clerk)
    assert staff.get("/api/institutions/")["Content-Language"] == "zh-hans"


def test_kazakh_in_arabic_script_is_known_to_django_as_right_to_left():
    info = translation.get_language_info("kk-arab")
    assert info["name_local"] == "قازاقشا" and info["bidi"] is True
    assert translation.get_language_info("ug")["bidi"] is True
    assert translation.to_locale("kk-arab") == "kk_Arab"
    with translation.override("kk-arab"):
        assert translation.get_language_bidi()
    with translation.override("zh-hans"):
        assert not translation.get_language_bidi()


# --- reference data in the visitor's language -----------------------------------------
def test_every_reference_row_a_public_page_names_has_both_translations():
    rows = [
        *Unit.objects.all(),
        *Level.objects.all(),
        *Program.objects.filter(claimable=True),
        *Trade.objects.filter(active=True),
    ]
    assert len(rows) > 90
    missing = [str(r) for r in rows if not (r.name_ug and r.name_kk_arab)]
    assert not missing


def test_the_translated_names_are_plain_arabic_script_text():
    han = re.compile(r"[\u4e00-\u9fff]")
    arabic = re.compile(r"[\u0600-\u06ff]")
    for model in (Unit, Level, Program, Trade):
        for row in model.objects.exclude(name_ug=""):
            for name in (row.name_ug, row.name_kk_arab):
                assert plain_text_problem(name) is None, name
                assert arabic.search(name) and not han.search(name), name


def test_a_reference_name_falls_back_to_the_chinese():
    unit = Unit.objects.get(code="654301")
    assert unit.local_name("ug") == "ئالتاي شەھىرى"
    assert unit.local_name("kk-arab") == "التاي قالاسى"
    assert unit.local_name("zh-hans") == "阿勒泰市"
    unit.name_ug = ""
    assert unit.local_name("ug") == "阿勒泰市"
    assert name_field("en") == "name"


def test_the_programs_page_shows_program_names_and_fund_labels_translated():
    program = Program.objects.filter(claimable=True).order_by("number").first()
    html = Client().get("/public/programs/", {"lang": "ug"}).content.decode()
    assert program.name_ug in html and program.name not in html
    assert "مەبلىغى" in html or "فوندى" in html  # a fund's label, in Uyghur
    zh = Client().get("/public/programs/").content.decode()
    assert program.name in zh and program.name_ug not in zh


def test_the_institutions_page_names_units_and_kinds_in_the_visitor_language():
    from tests.factories import InstitutionFactory

    institution = InstitutionFactory(unit_id="654301")
    html = Client().get("/public/institutions/", {"lang": "kk-arab"}).content.decode()
    assert "التاي قالاسى" in html
    # the registered name stays Chinese, and says so
    assert f'<td lang="zh-hans">{institution.name}</td>' in html
    assert f'<td class="id-number">{institution.credit_code}</td>' in html
