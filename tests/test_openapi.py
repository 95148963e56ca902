"""The published API: a schema that validates with zero warnings, and local docs."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management import call_command

import pytest
import yaml
from rest_framework.test import APIClient

#: Every path of api-contract.md built so far, plus the reads and docs beside them.
CONTRACT_PATHS = {
    "/api/auth/token/": {"post"},
    "/api/units/": {"get"},
    "/api/programs/": {"get"},
    "/api/trades/": {"get"},
    "/api/levels/": {"get"},
    "/api/institutions/": {"get", "post"},
    "/api/policy-entries/": {"get", "post"},
    "/api/trainees/": {"get", "post"},
    "/api/trainees/{id}/": {"get"},
    "/api/claims/": {"get", "post"},
    "/api/claims/check/": {"post"},
    "/api/claims/{id}/": {"get", "put", "patch"},
    "/api/claims/{id}/events/": {"get"},
    "/api/claims/{id}/submit/": {"post"},
    "/api/claims/{id}/withdraw/": {"post"},
    "/api/claims/{id}/approve/": {"post"},
    "/api/claims/{id}/reject/": {"post"},
    "/api/claims/{id}/return/": {"post"},
    # quarters, finance and the public
    "/api/reports/": {"get", "post"},
    "/api/reports/{id}/": {"get"},
    "/api/reports/{id}/submit/": {"post"},
    "/api/reports/{id}/discard/": {"post"},
    "/api/reports/{id}/spot-checks/": {"get", "post"},
    "/api/reports/{id}/close/": {"post"},
    "/api/spot-checks/{id}/": {"post"},
    "/api/claims/approve-bulk/": {"post"},
    "/api/rollups/": {"get", "post"},
    "/api/rollups/{id}/": {"get"},
    "/api/rollups/{id}/xlsx/": {"get"},
    "/api/payments/": {"get", "post"},
    "/api/claims/{id}/payments/": {"get"},
    "/api/advances/": {"get"},
    "/api/recoveries/": {"get"},
    "/api/recoveries/{id}/settle/": {"post"},
    "/api/notifications/": {"get"},
    "/api/public/disclosure/": {"get"},
    "/api/public/programs/": {"get"},
    "/api/public/institutions/": {"get"},
    # training classes (issue 16)
    "/api/classes/": {"get", "post"},
    "/api/classes/{id}/": {"get"},
    "/api/classes/{id}/roster/": {"put"},
    "/api/classes/{id}/file/": {"post"},
    "/api/classes/{id}/accept/": {"post"},
    "/api/classes/{id}/return/": {"post"},
    "/api/classes/{id}/start/": {"post"},
    "/api/classes/{id}/sessions/": {"post"},
    "/api/classes/{id}/complete/": {"post"},
    "/api/classes/{id}/documents/": {"post"},
    "/api/classes/{id}/advance/": {"post"},
}
PUBLIC_PATHS = [path for path in CONTRACT_PATHS if path.startswith("/api/public/")]


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path: Path = tmp_path_factory.mktemp("openapi") / "schema.yml"
    # raises CommandError on any warning or validation error
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_the_schema_validates_without_warnings_and_has_every_path(schema):
    for path, methods in CONTRACT_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path


def test_the_claim_components_carry_the_contract_fields(schema):
    components = schema["components"]["schemas"]
    claim = set(components["Claim"]["properties"])
    body = set(components["ClaimInputRequest"]["properties"])
    decision = set(components["Decision"]["properties"])

    assert body == {
        "trainee",
        "program",
        "trade",
        "level",
        "institution",
        "employer",
        "unit",
        "training_start",
        "training_end",
        "project_based",
        "work_in_lieu_months",
        "passed",
        "certificate_number",
        "employment",
        "amount_requested",
        "hire_date",  # program 1 (issue 13)
    }
    assert claim >= body | {"id", "status", "decision"}
    assert decision >= {
        "eligible",
        "cap",
        "amount",
        "advance",
        "fund",
        "violations",
        "explanation",
    }
    assert "status" not in body and "created_by" not in body


def test_the_list_of_claims_is_paginated_and_filtered(schema):
    operation = schema["paths"]["/api/claims/"]["get"]
    names = {p["name"] for p in operation["parameters"]}

    assert names >= {"status", "program", "unit", "quarter", "q", "page"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PaginatedClaimList"
    }


def test_submit_documents_the_409_with_the_decision(schema):
    responses = schema["paths"]["/api/claims/{id}/submit/"]["post"]["responses"]

    ref = responses["409"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/NotEligible")


def test_the_rollup_is_accepted_with_202_and_polled_for_its_status(schema):
    post = schema["paths"]["/api/rollups/"]["post"]
    detail = schema["components"]["schemas"]["RollupDetail"]["properties"]
    status = schema["components"]["schemas"]["RollupStatusEnum"]

    assert "202" in post["responses"]
    assert {"id", "quarter", "status", "progress", "totals", "checksum"} <= set(detail)
    assert status["enum"] == ["queued", "running", "ready", "failed"]


def test_the_workbook_is_documented_as_a_spreadsheet(schema):
    responses = schema["paths"]["/api/rollups/{id}/xlsx/"]["get"]["responses"]

    assert set(responses["200"]["content"]) == {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    }
    assert set(responses["409"]["content"]) == {"application/json"}


def test_the_report_body_is_the_quarter(schema):
    body = schema["components"]["schemas"]["ReportBuildRequest"]["properties"]

    assert set(body) == {"quarter"}


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_the_public_endpoints_need_no_credentials(schema, path):
    operation = schema["paths"][path]["get"]

    assert operation.get("security", [{}]) in ([{}], [])


@pytest.mark.django_db
def test_the_schema_is_served_as_json():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert "/api/claims/{id}/submit/" in response.json()["paths"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_docs_load_their_assets_locally(path):
    response = APIClient().get(path)

    html = response.content.decode()
    assert response.status_code == 200
    # Swagger UI from the sidecar; ReDoc's bundle from the sidecar with its logo made
    # local (altay_skills.assets)
    assert "/static/drf_spectacular_sidecar/" in html or (
        "/api/redoc/redoc.standalone.js" in html
    )
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs", "googleapis"):
        assert cdn not in html


@pytest.mark.django_db
@pytest.mark.skipif(
    not settings.WHITENOISE_USE_FINDERS,
    reason="assets are served from collectstatic output outside DEBUG",
)
def test_the_swagger_assets_are_served_by_this_server():
    response = APIClient().get(
        "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
    )

    assert response.status_code == 200
