"""Issue 18's API: the bank templates, a batch built, its file downloaded byte for
byte, marked sent, and the bank's result uploaded (multipart) — Chinese 4xx for bad
input, 409 with stable codes for state conflicts."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

import pytest
from rest_framework.test import APIClient

from finance.models import BankTemplate, PaymentBatch
from tests.bank_run import CSV_TEMPLATE, FIXED_TEMPLATE, result_file

pytestmark = pytest.mark.django_db


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.fixture
def api(finance: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(finance)
    return client


def test_the_bank_templates_are_listed_with_the_contract_fields(api: APIClient) -> None:
    response = api.get("/api/bank-templates/")
    assert response.status_code == 200
    names = {t["name"]: t for t in response.json()}
    assert set(names) == {CSV_TEMPLATE, FIXED_TEMPLATE}
    assert names[CSV_TEMPLATE] == {
        "id": BankTemplate.objects.get(name=CSV_TEMPLATE).pk,
        "name": CSV_TEMPLATE,
        "format": "csv",
        "encoding": "gbk",
    }


def test_a_batch_through_the_api(ready: Any, api: APIClient) -> None:
    _, rollup = ready
    template = BankTemplate.objects.get(name=FIXED_TEMPLATE)
    body = {"rollup": rollup.pk, "kind": "balance", "bank_template": template.pk}
    created = api.post("/api/payment-batches/", body, format="json")
    assert created.status_code == 201, created.json()
    answer = created.json()
    assert set(answer) == {"id", "count", "total", "sha256"}
    batch = PaymentBatch.objects.get(pk=answer["id"])
    assert answer["total"] == f"{batch.total:.2f}"

    file = api.get(f"/api/payment-batches/{batch.pk}/file/")
    assert file.status_code == 200
    assert hashlib.sha256(file.content).hexdigest() == answer["sha256"]
    assert file.content == bytes(batch.content)

    early = api.post(
        f"/api/payment-batches/{batch.pk}/result/",
        {"file": SimpleUploadedFile("r.txt", result_file(batch))},
        format="multipart",
    )
    assert early.status_code == 409 and early.json()["code"] == "batch_not_sent"

    assert api.post(f"/api/payment-batches/{batch.pk}/sent/").status_code == 200
    again = api.post(f"/api/payment-batches/{batch.pk}/sent/")
    assert again.status_code == 409 and again.json()["code"] == "batch_not_built"

    first = batch.lines.order_by("seq").first()
    content = result_file(batch, failures={first.reference: "账号已销户"})
    uploaded = api.post(
        f"/api/payment-batches/{batch.pk}/result/",
        {"file": SimpleUploadedFile("r.txt", content)},
        format="multipart",
    )
    assert uploaded.status_code == 200, uploaded.json()
    assert uploaded.json() == {
        "paid": batch.count - 1,
        "failed": 1,
        "unmatched": [],
        "total_paid": f"{batch.total - first.amount:.2f}",
    }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"rollup": "x", "kind": "balance", "bank_template": 1},
        {"rollup": 1, "kind": "everything", "bank_template": 1},
        {"rollup": 1, "kind": "balance"},
    ],
)
def test_a_bad_batch_body_is_a_chinese_400(
    api: APIClient, body: dict[str, Any]
) -> None:
    response = api.post("/api/payment-batches/", body, format="json")
    assert response.status_code == 400
    assert chinese(response.json()["message"])


def test_a_missing_rollup_is_a_404(api: APIClient) -> None:
    template = BankTemplate.objects.get(name=CSV_TEMPLATE)
    body = {"rollup": 999999, "kind": "balance", "bank_template": template.pk}
    response = api.post("/api/payment-batches/", body, format="json")
    assert response.status_code == 404


def test_a_result_without_a_file_is_a_chinese_400(ready: Any, api: APIClient) -> None:
    _, rollup = ready
    template = BankTemplate.objects.get(name=CSV_TEMPLATE)
    body = {"rollup": rollup.pk, "kind": "balance", "bank_template": template.pk}
    batch_id = api.post("/api/payment-batches/", body, format="json").json()["id"]
    response = api.post(
        f"/api/payment-batches/{batch_id}/result/", {}, format="multipart"
    )
    assert response.status_code == 400
    assert chinese(response.json()["message"])


def test_a_result_file_that_is_not_the_template_is_a_chinese_400(
    ready: Any, api: APIClient
) -> None:
    _, rollup = ready
    template = BankTemplate.objects.get(name=FIXED_TEMPLATE)
    body = {"rollup": rollup.pk, "kind": "balance", "bank_template": template.pk}
    batch_id = api.post("/api/payment-batches/", body, format="json").json()["id"]
    api.post(f"/api/payment-batches/{batch_id}/sent/")
    response = api.post(
        f"/api/payment-batches/{batch_id}/result/",
        {"file": SimpleUploadedFile("r.txt", b"\xff\xfe\x00garbage")},
        format="multipart",
    )
    assert response.status_code in (400, 409)
    assert chinese(response.json()["message"])
    assert response.json()["code"] in ("invalid_file", "result_unmatched")
