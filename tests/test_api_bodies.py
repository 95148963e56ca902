"""Bodies and error answers under ``/api/`` (issue 14, item 5), with DEBUG off.

Before: a JSON body nested 1,000 levels deep (2 KB) was a 500 ``RecursionError`` — also
anonymous, on ``POST /api/auth/token/``; a 6 MB body answered Django's English HTML
"Bad Request (400)"; a POST with a valid token to an API path that does not exist
answered Django's English CSRF page (403, HTML). Every answer under ``/api/`` is now the
API's JSON error — ``code`` and a Chinese ``message`` — with 400, 404 or 413.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tokens import token_create

# This module is also a urlconf (a view that fails): with the site's error handlers.
from altay_skills.urls import (  # noqa: F401
    handler400,
    handler403,
    handler404,
    handler500,
)
from claims.models import Claim

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"
MB = 1024 * 1024


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug with a secret in its message: 654301199001011234")


urlpatterns = [
    path("api/boom/", boom),
    path("boom/", boom),
    path("", include("altay_skills.urls")),
]


@pytest.fixture(autouse=True)
def production(settings: Any) -> None:
    """DEBUG off, as the server runs (a SuspiciousOperation is then handler400's)."""
    settings.DEBUG = False


@pytest.fixture
def anonymous() -> Client:
    """A script without a session: CSRF enforced, exceptions answered, not raised."""
    return Client(enforce_csrf_checks=True, raise_request_exception=False)


@pytest.fixture
def script(clerk: User) -> Client:
    """A county script signed in with a token, CSRF enforced as in production."""
    return Client(
        enforce_csrf_checks=True,
        raise_request_exception=False,
        headers={"Authorization": f"Token {token_create(user=clerk)}"},
    )


def json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response.content[
        :300
    ]
    body = response.json()
    assert body["code"] and body["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body
    return body


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [1000, 5000, 100])
def test_a_deeply_nested_body_is_a_400_even_anonymous(anonymous, depth) -> None:
    response = anonymous.post(TOKEN, nested(depth), content_type="application/json")

    body = json_error(response, 400)
    assert body["code"] == "parse_error"


def test_a_deeply_nested_object_under_a_field_is_a_400(script) -> None:
    deep: Any = "x"
    for _ in range(64):
        deep = {"a": deep}
    payload = json.dumps({"trainee": deep, "amount_requested": "1800.00"})

    response = script.post("/api/claims/", payload, content_type="application/json")

    assert json_error(response, 400)["code"] == "parse_error"
    assert not Claim.objects.exists()


def test_a_body_nested_as_real_bodies_are_is_read(script) -> None:
    """The limit leaves room: the deepest real body (a class's results) is 3 levels."""
    payload = json.dumps({"results": [{"trainee": 1, "passed": True}]})

    response = script.post(
        "/api/claims/check/", payload, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"  # read, then refused field by field


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", json.dumps({"username": "x" * 6 * MB, "password": "y"})),
        ("application/x-www-form-urlencoded", "username=" + "x" * 6 * MB),
        ("text/plain", "x" * 6 * MB),
    ],
)
def test_a_6_mb_body_is_a_json_413(anonymous, content_type, body) -> None:
    response = anonymous.post(TOKEN, body, content_type=content_type)

    assert json_error(response, 413)["code"] == "request_too_large"


def test_a_6_mb_body_with_a_token_is_a_json_413_and_stores_nothing(script) -> None:
    payload = json.dumps({"certificate_number": "x" * 6 * MB})

    response = script.post("/api/claims/", payload, content_type="application/json")

    assert json_error(response, 413)["code"] == "request_too_large"
    assert not Claim.objects.exists()


def test_too_many_form_fields_is_a_json_400(anonymous) -> None:
    body = "&".join(f"f{i}=1" for i in range(1500))

    response = anonymous.post(
        TOKEN, body, content_type="application/x-www-form-urlencoded"
    )

    json_error(response, 400)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_write_with_a_token_to_a_missing_api_path_is_a_json_404(
    script, method
) -> None:
    response = getattr(script, method)(
        "/api/no-such-thing/", "{}", content_type="application/json"
    )

    assert json_error(response, 404)["code"] == "not_found"


def test_a_write_without_a_slash_is_a_json_404_not_a_redirect(script) -> None:
    response = script.post("/api/claims", "{}", content_type="application/json")

    assert json_error(response, 404)["code"] == "not_found"


@pytest.mark.urls(__name__)
def test_a_bug_under_the_api_is_a_json_500_without_its_message(anonymous) -> None:
    response = anonymous.get("/api/boom/")

    body = json_error(response, 500)
    assert body["code"] == "server_error"
    assert "654301199001011234" not in response.content.decode()


@pytest.mark.urls(__name__)
def test_pages_outside_the_api_keep_their_chinese_html_pages(anonymous) -> None:
    broken = anonymous.get("/boom/")
    missing = anonymous.get("/no-such-page/")
    bad = anonymous.post(
        "/accounts/login/",
        "&".join(f"f{i}=1" for i in range(1500)),
        content_type="application/x-www-form-urlencoded",
    )

    assert (broken.status_code, missing.status_code, bad.status_code) == (
        500,
        404,
        400,
    )
    assert broken["Content-Type"].startswith("text/html")
    assert "系统出现错误" in broken.content.decode()
    assert "未找到该页面或记录" in missing.content.decode()
    assert "请求无效" in bad.content.decode()


def test_a_csrf_failure_under_the_api_is_json(clerk: User) -> None:
    """A browser session without its CSRF token, on an API view: JSON, in Chinese."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(clerk)

    response = client.post("/api/claims/check/", {}, format="json")

    assert json_error(response, 403)["code"] == "permission_denied"


def test_a_csrf_failure_on_a_page_is_the_html_page(clerk: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(clerk)

    response = client.post("/accounts/logout/")

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("debug", [True, False], ids=["make run", "production"])
def test_a_form_refused_for_its_token_is_a_chinese_page_keeping_what_was_typed(
    clerk: User, settings: Any, debug: bool
) -> None:
    # a form left open while the clerk logged in again in another tab: Django's page
    # in English ("Reason given for failure: CSRF token from POST incorrect"), and
    # everything typed was lost
    settings.DEBUG = debug
    client = Client(enforce_csrf_checks=True)
    client.force_login(clerk)
    client.get("/claims/new/")

    response = client.post(
        "/claims/new/",
        {
            "csrfmiddlewaretoken": "x" * 64,
            "name": "阿依古丽·吐尔逊",
            "certificate_number": "S000012345",
            "password": "never-shown",
        },
    )

    assert response.status_code == 403
    html = response.content.decode()
    assert "页面已过期，本次提交未保存" in html
    assert "阿依古丽·吐尔逊" in html and "S000012345" in html
    assert "never-shown" not in html and "x" * 64 not in html
    assert "Reason given" not in html and "CSRF verification failed" not in html
    assert not Claim.objects.exists()


@pytest.mark.parametrize("charset", ["rot13", "hex", "base64", "zlib"])
def test_a_charset_that_is_no_text_encoding_is_a_json_400(anonymous, charset) -> None:
    # Django accepts any name the codecs module knows; rot13 and the like are not text
    # encodings, and decoding with them raised LookupError: a 500
    response = anonymous.generic(  # the bytes as sent, not encoded again
        "POST",
        TOKEN,
        b'{"username": "a", "password": "b"}',
        content_type=f"application/json; charset={charset}",
    )

    assert json_error(response, 400)["code"] == "parse_error"


def test_a_body_in_a_declared_text_encoding_is_read(script) -> None:
    payload = json.dumps({"trainee": "张三"}, ensure_ascii=False).encode("gb18030")

    response = script.generic(
        "POST",
        "/api/claims/check/",
        payload,
        content_type="application/json; charset=gb18030",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"  # read, then refused field by field


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1E999999"])
def test_a_number_past_a_float_is_a_json_400_not_a_404(script, number) -> None:
    # JSON has no infinity, but 1e400 parsed to one and an id field then raised
    # OverflowError, answered as 404
    payload = '{"trainee": ' + number + ', "amount_requested": "1800.00"}'

    response = script.post("/api/claims/", payload, content_type="application/json")

    assert json_error(response, 400)["code"] == "parse_error"
    assert not Claim.objects.exists()


@pytest.mark.parametrize(
    "path", ["/api/claims/", "/api/claims/check/", "/api/trainees/"]
)
def test_a_null_body_is_a_chinese_400(script, path) -> None:
    # DRF answered {"non_field_errors": ["No data provided"]}: English
    response = script.post(path, "null", content_type="application/json")

    body = json_error(response, 400)
    assert body["code"] == "parse_error"
    assert "No data" not in response.content.decode()
