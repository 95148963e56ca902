"""What a newcomer meets besides the pages themselves (issue 15, item 12): the API
docs' title, tags and examples in Chinese or real values, nothing fetched from outside,
a favicon, and the Chinese 404 page under DEBUG as well."""

import json
import re

from django.test import Client

import pytest
from rest_framework.test import APIClient

from altay_skills import assets

pytestmark = pytest.mark.django_db
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def schema():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_api_docs_title_and_tags_are_chinese(schema):
    assert HAN.search(schema["info"]["title"])
    tags = [
        tag
        for operations in schema["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for tag in operation.get("tags", [])
    ]
    assert tags and all(HAN.search(t) for t in tags)
    assert all(HAN.search(t["description"]) for t in schema["tags"])


def scalar_properties(node, found):
    if isinstance(node, list):
        for item in node:
            scalar_properties(item, found)
    elif isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            if isinstance(prop, dict) and prop.get("type") in (
                "string",
                "integer",
                "number",
                "boolean",
            ):
                found.append((name, prop))
        for key, value in node.items():
            if key != "example":
                scalar_properties(value, found)
    return found


def test_every_field_of_the_schema_has_a_real_example(schema):
    """Swagger UI made up "program": 9223372036854776000 and "cap": "-307832430."."""
    found = scalar_properties(schema, [])
    assert len(found) > 200
    missing = [name for name, prop in found if "example" not in prop]
    assert not missing
    for name, prop in found:
        example = prop["example"]
        if prop["type"] == "integer":
            assert isinstance(example, int) and 0 <= example < 10**6, name
        if prop.get("format") == "decimal":
            assert re.fullmatch(r"\d{1,9}\.\d{2}", example), (name, example)
    programs = {
        p["example"] for n, p in found if n == "program" and p["type"] == "integer"
    }
    assert programs == {9}


def test_redoc_fetches_nothing_from_outside():
    page = Client().get("/api/redoc/").content.decode()
    assert "/api/redoc/redoc.standalone.js" in page
    response = Client().get("/api/redoc/redoc.standalone.js")
    assert response.status_code == 200
    bundle = response.content.decode()
    assert "cdn.redoc.ly" not in bundle and "Redoc" in bundle
    assert assets.REDOC_LOGO.startswith("https://")  # the address it had


def test_the_favicon_is_served():
    response = Client().get("/favicon.ico", follow=True)
    assert response.status_code == 200
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file


@pytest.mark.parametrize("debug", [True, False])
def test_a_missing_page_is_the_chinese_404_even_under_debug(settings, debug, clerk):
    settings.DEBUG = debug
    client = Client()
    client.force_login(clerk)
    for path in ("/no-such-page/", "/claims/999999999/"):
        response = client.get(path)
        assert response.status_code == 404
        html = response.content.decode()
        assert "未找到该页面或记录" in html, path
        assert "Page not found" not in html and "URLconf" not in html
    # the API keeps its JSON 404, and a path missing its slash is still redirected
    answer = client.get("/api/no-such-thing/")
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert client.get("/dashboards").status_code == 301


def test_the_compiled_translations_match_their_source():
    """locale/zh_Hans: django.mo is compiled from django.po (msgfmt) and committed."""
    import gettext
    from pathlib import Path

    from django.conf import settings

    folder = Path(settings.BASE_DIR) / "locale/zh_Hans/LC_MESSAGES"
    source = (folder / "django.po").read_text(encoding="utf-8")
    pairs = re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', source, flags=re.M)
    assert len(pairs) > 30
    with (folder / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    for msgid, msgstr in pairs:
        msgid = msgid.replace('\\"', '"')  # the .po's escaped quotes
        assert catalogue.gettext(msgid) == msgstr, msgid


def test_the_admin_shows_staff_what_they_maintain_in_chinese():
    from tests.factories import UserFactory

    admin_user = UserFactory(
        username="admin_x", role="administrator", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(admin_user)
    html = client.get("/admin/").content.decode()
    assert "登录保护" in html and "登录尝试" in html
    for hidden in (
        "django_celery_results",
        "django_celery_beat",
        "accesslog",
        "/group/",
    ):
        assert hidden not in html
    assert "Model name" not in html and "模型名称" in html


@pytest.mark.parametrize("preferred", ["en", "en-US,en;q=0.9", "fr", "ru,en;q=0.5"])
def test_the_staff_pages_answer_in_chinese_whatever_the_browser_prefers(
    preferred, clerk
):
    # a clerk whose browser prefers English sends the claim form empty
    client = Client(HTTP_ACCEPT_LANGUAGE=preferred)
    client.force_login(clerk)
    response = client.post("/claims/new/", {})
    # then the form's own messages are Chinese, not "This field is required."
    body = response.content.decode()
    assert response.status_code == 400
    assert "This field is required" not in body
    assert "该字段是必填项" in body
    assert response["Content-Language"] == "zh-hans"


def test_the_api_answers_in_chinese_whatever_the_client_prefers(clerk):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(clerk)
    response = client.post("/api/claims/", {}, format="json")
    assert response.status_code == 400
    text = json.dumps(response.json(), ensure_ascii=False)
    assert "This field is required" not in text
    assert "该字段是必填项" in text
