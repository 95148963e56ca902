"""The claim list's rows are written out by hand (``claims.serializers.claim_list_rows``,
issue 20); they must be exactly what ``ClaimSerializer`` — the declared contract —
gives for the same claims: the same fields in the same order, the same values, the
same JSON types. Compared here field by field over claims in every state the list can
show."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from accounts.models import User
from claims import services
from claims.models import Claim
from claims.permissions import actions_for_many
from claims.selectors import (
    claims_listed,
    claims_visible_to,
    policy_entry_ids,
    read_listed,
)
from claims.serializers import ClaimSerializer, claim_list_rows
from claims.warnings import warnings_for_claims
from tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db


def _declared(user: User, ids: list[int]) -> list[dict[str, Any]]:
    """What DRF's ``ClaimSerializer`` makes of the claims, as JSON would carry it."""
    claims = {c.pk: c for c in claims_visible_to(user).filter(pk__in=ids)}
    ordered = [claims[pk] for pk in ids]
    context = {
        "allowed_actions": actions_for_many(user, ordered),
        "warnings": warnings_for_claims(ids),
    }
    data = ClaimSerializer(ordered, many=True, context=context).data
    return json.loads(JSONRenderer().render(data))


def _compare(listed: list[dict[str, Any]], declared: list[dict[str, Any]]) -> None:
    assert [r["id"] for r in listed] == [r["id"] for r in declared]
    for mine, theirs in zip(listed, declared, strict=True):
        assert list(mine) == list(theirs), f"claim {mine['id']}: the fields differ"
        for name in theirs:
            assert mine[name] == theirs[name], f"claim {mine['id']}: {name}"
        assert list(mine["decision"]) == list(theirs["decision"])


@pytest.fixture
def every_kind(advanced_quarter: Any, clerk: User, claim_input: Any) -> list[Claim]:
    """A decided quarter (approved, rejected, returned; advances paid) and beside it:
    an ineligible draft (violations), a program 11 draft (no trade, no level), and a
    claim whose certificate number another submitted claim carries (a warning)."""
    made = [
        services.claim_create(
            data=claim_input(amount_requested=Decimal("999999.99")), actor=clerk
        ),
        services.claim_create(
            data=claim_input(program_id=11, trade_id=None, level_id=None),
            actor=clerk,
        ),
    ]
    other = TraineeFactory(registered_by_unit_id="654301")
    shared = services.claim_create(
        data=claim_input(trainee_id=other.pk, certificate_number="ZS-0001"),
        actor=clerk,
    )
    services.claim_submit(claim_id=shared.pk, actor=clerk)
    made.append(
        services.claim_create(
            data=claim_input(
                certificate_number="ZS-0001",
                training_start=date(2020, 6, 1),
                training_end=date(2020, 6, 30),
            ),
            actor=clerk,
        )
    )
    return made


@pytest.mark.parametrize("who", ["reviewer", "clerk"])
def test_the_list_api_gives_what_the_claim_serializer_gives(
    every_kind: list[Claim], who: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    api = APIClient()
    api.force_authenticate(user)
    response = api.get("/api/claims/")
    assert response.status_code == 200
    listed = response.json()["results"]
    _compare(listed, _declared(user, [r["id"] for r in listed]))
    # the comparison saw what can differ, not only plain drafts
    decisions = [r["decision"] for r in listed]
    assert any(d["violations"] for d in decisions)
    assert any(d["warnings"] for d in decisions)
    assert any(r["trade"] is None and r["trade_name"] is None for r in listed)
    if who == "reviewer":
        assert {r["status"] for r in listed} >= {"approved", "rejected", "draft"}
        assert any(r["reviewed_by"] for r in listed)
        assert any(r["approved_amount"] for r in listed)


def test_moments_are_written_as_drf_writes_them_in_any_time_zone(
    every_kind: list[Claim], reviewer: User
) -> None:
    ids = list(
        claims_listed(reviewer)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
    )
    page = read_listed(
        claims_listed(reviewer).filter(pk__in=ids).order_by("-created_at", "-pk")
    )
    ids = [c.pk for c in page]
    written = {}
    for zone in ("UTC", "Asia/Urumqi", "Asia/Shanghai"):
        with timezone.override(zone):
            rows = claim_list_rows(
                page,
                allowed_actions=actions_for_many(reviewer, page),
                warnings=warnings_for_claims(ids),
                policy_entry_ids=policy_entry_ids(ids),
            )
            _compare(json.loads(JSONRenderer().render(rows)), _declared(reviewer, ids))
            written[zone] = rows[0]["created_at"]
    assert written["UTC"].endswith("Z")
    assert written["Asia/Shanghai"].endswith("+08:00")


def test_policy_entry_ids_are_those_the_claim_stands_on(
    every_kind: list[Claim],
) -> None:
    claim = every_kind[0]
    expected = sorted(claim.policy_entries.values_list("pk", flat=True))
    assert expected, "the draft was judged against policy entries"
    assert policy_entry_ids([claim.pk]) == {claim.pk: expected}
    assert policy_entry_ids([]) == {}


def test_policy_entry_ids_in_chunks_are_the_same(
    every_kind: list[Claim], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read a chunk at a time (SQLite's parameter limit), each claim still has its own
    entries, smallest first, and an unknown claim has none."""
    ids = [c.pk for c in every_kind]
    expected = {
        c.pk: sorted(c.policy_entries.values_list("pk", flat=True)) for c in every_kind
    }
    assert all(expected.values())
    assert policy_entry_ids(ids) == expected
    monkeypatch.setattr("claims.selectors.CLAIMS_PER_STATEMENT", 2)
    missing = max(ids) + 1000
    assert policy_entry_ids([*ids, missing]) == {**expected, missing: []}
