"""Every answer under ``/api/`` is JSON, and ``OPTIONS`` speaks Chinese.

A browser opening an API address (``Accept: text/html``) was given DRF's browsable
page, in English, and ``OPTIONS`` named each view by its class ("Claim List Create
Api"), described it by the developers' English docstring and listed under ``POST`` the
read-only fields of the serializer that renders a claim."""

from __future__ import annotations

import json
import re

import pytest
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.test import APIClient

from accounts.models import User
from finance.apis import XLSX
from tests.e2e.test_page_walk import english_words

pytestmark = pytest.mark.django_db

#: A path parameter filled with something each converter accepts.
PARAMETER = re.compile(r"\{[^}]+\}")


def api_paths() -> list[tuple[str, set[str]]]:
    """Every API path of the schema (its parameters filled) and its methods."""
    methods: dict[str, set[str]] = {}
    for path, _regex, method, _callback in EndpointEnumerator().get_api_endpoints():
        if path.startswith("/api/") and not path.startswith(
            ("/api/schema", "/api/docs", "/api/redoc")
        ):
            methods.setdefault(PARAMETER.sub("1", path), set()).add(method)
    return sorted(methods.items())


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_browser_opening_an_api_address_gets_json(clerk: User) -> None:
    client = APIClient()
    client.force_login(clerk)
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

    answers = [
        client.get("/api/claims/", HTTP_ACCEPT=browser_accept),
        client.get("/api/claims/", HTTP_ACCEPT="text/html"),
        client.get("/api/claims/?format=api"),
        client.get("/api/claims/?format=html"),
        client.get("/api/claims/", HTTP_ACCEPT="application/vnd.ms-excel"),
    ]

    for answer in answers:
        assert answer.status_code == 200, answer.content[:300]
        assert answer["Content-Type"] == "application/json", answer["Content-Type"]
        assert "results" in answer.json()


def test_the_schema_is_still_yaml_or_json_as_asked(clerk: User) -> None:
    client = client_of(clerk)

    yaml = client.get("/api/schema/")
    json = client.get("/api/schema/?format=json")

    assert yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.content.startswith(b"openapi:")
    assert json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json.json()["openapi"].startswith("3.")


def test_options_on_the_claim_list_names_it_and_its_methods_in_chinese(
    clerk: User,
) -> None:
    answer = client_of(clerk).options("/api/claims/")

    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    body = answer.json()
    assert body["name"] == "申报列表"
    assert body["methods"] == {"GET": "申报列表", "POST": "录入申报（草稿）"}
    assert body["renders"] == ["application/json"]
    assert body["schema"] == "/api/schema/" and body["docs"] == "/api/docs/"
    assert "description" not in body and "actions" not in body


def test_every_api_address_answers_options_in_chinese(
    clerk: User, reviewer: User, finance: User, auditor: User, administrator: User
) -> None:
    """Each address of the schema, for the roles that may use it: a Chinese name and a
    Chinese summary for every method; for the others a JSON refusal in Chinese."""
    clients = [client_of(u) for u in (clerk, reviewer, finance, auditor, administrator)]
    clients.append(APIClient())  # the trainee's and the public's addresses
    problems: list[str] = []
    answered = 0
    for path, methods in api_paths():
        for client in clients:
            answer = client.options(path)
            assert answer["Content-Type"] == "application/json", (path, answer)
            body = answer.json()
            if answer.status_code != 200:
                assert answer.status_code in (401, 403, 404), (path, body)
                assert not english_words(body["message"]), (path, body)
                continue
            answered += 1
            if set(body["methods"]) != methods - {"OPTIONS", "HEAD"}:
                problems.append(f"{path}: methods {sorted(body['methods'])}")
            for method, summary in [("name", body["name"]), *body["methods"].items()]:
                if (
                    not summary
                    or english_words(summary)
                    or not re.search(r"[\u4e00-\u9fff]", summary)
                ):
                    problems.append(f"{path} {method}: {summary!r}")
            break
        else:
            problems.append(f"{path}: no role may ask it")
    assert answered > 40
    assert not problems, "\n".join(problems)


def test_a_value_of_the_wrong_shape_is_named_in_chinese_without_python_types(
    clerk: User, reviewer: User, administrator: User
) -> None:
    """DRF's own messages named Python's types ("获得的类型为 str", "得到的类型是“int”",
    "得到的是 list") and echoed a choice back whole (a kind of 100,000 characters
    answered 100 KB)."""
    answers = [
        client_of(clerk).post("/api/claims/", {"trainee": "甲"}, format="json"),
        client_of(reviewer).post(
            "/api/claims/approve-bulk/", {"claims": 5}, format="json"
        ),
        client_of(clerk).post("/api/claims/check/", [], format="json"),
        client_of(clerk).post("/api/claims/", {"trainee": 99999999}, format="json"),
        client_of(administrator).post(
            "/api/policy-entries/", {"kind": "x" * 100_000}, format="json"
        ),
    ]

    for answer in answers:
        assert answer.status_code == 400, answer.content[:300]
        body = answer.json()
        messages = json.dumps(body["fields"], ensure_ascii=False)
        assert not re.search(r"\b(str|int|list|dict|pk)\b", messages), messages
        assert re.search(r"[\u4e00-\u9fff]", messages), messages
        assert len(answer.content) < 2_000, len(answer.content)


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/api/rollups/1/xlsx/", XLSX),
        ("/api/documents/1/", "application/pdf"),
        ("/api/payment-batches/1/file/", "application/octet-stream"),
    ],
)
def test_options_on_a_file_says_it_answers_the_file(
    finance: User, path: str, media: str
) -> None:
    """A download answers its file (and its errors as JSON): OPTIONS said JSON only."""
    body = client_of(finance).options(path).json()

    assert media in body["renders"]
    assert body["renders"][-1] == "application/json"
