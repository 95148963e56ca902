"""删除草稿 (issue 15, item 4): a draft is deleted by its unit's clerk, with an audit
event; the row and its trail stay, and no list, page or API shows it again."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

import pytest

from altay_skills.errors import Conflict, NotFound, PermissionDenied
from claims import services
from claims.audit import claims_out_of_step
from claims.models import Claim, ClaimEvent
from claims.permissions import actions_for, can_delete
from claims.selectors import claims_listed
from tests.claims.test_views import (
    form_data,  # noqa: F401 - a fixture
    html_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def a_draft(clerk: Any, claim_input: Any) -> Claim:
    return services.claim_create(data=claim_input(employment="none"), actor=clerk)


def test_a_clerk_deletes_a_draft_and_it_is_gone_from_every_list(clerk, a_draft):
    # when
    services.claim_delete(claim_id=a_draft.pk, actor=clerk)
    # then: the row stays with its trail, status deleted, and nobody lists it
    row = Claim.all_rows.get(pk=a_draft.pk)
    assert row.status == "deleted"
    event = ClaimEvent.objects.filter(claim=row).latest("id")
    assert (event.action, event.from_status, event.to_status, event.actor) == (
        "delete",
        "draft",
        "deleted",
        clerk,
    )
    assert not Claim.objects.filter(pk=a_draft.pk).exists()
    assert not claims_listed(clerk).filter(pk=a_draft.pk).exists()
    # the audit still checks it: its status agrees with its last event
    checked, problem = claims_out_of_step()
    assert checked == 1 and problem is None


def test_only_a_draft_is_deleted(clerk, claim_input):
    claim = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=claim.pk, actor=clerk)
    with pytest.raises(Conflict) as refused:
        services.claim_delete(claim_id=claim.pk, actor=clerk)
    assert refused.value.code == "invalid_transition"
    assert Claim.objects.get(pk=claim.pk).status == "submitted"


def test_another_unit_or_role_cannot_delete_a_draft(other_clerk, reviewer, a_draft):
    with pytest.raises(NotFound):
        services.claim_delete(claim_id=a_draft.pk, actor=other_clerk)
    with pytest.raises(PermissionDenied):
        services.claim_delete(claim_id=a_draft.pk, actor=reviewer)
    assert not can_delete(reviewer, a_draft)
    assert Claim.objects.get(pk=a_draft.pk).status == "draft"


def test_a_draft_offers_delete_and_a_submitted_claim_does_not(clerk, claim_input):
    draft = services.claim_create(data=claim_input(), actor=clerk)
    assert "delete" in actions_for(clerk, draft)
    services.claim_submit(claim_id=draft.pk, actor=clerk)
    assert "delete" not in actions_for(clerk, Claim.objects.get(pk=draft.pk))


def test_the_api_deletes_a_draft_and_answers_409_json_otherwise(
    client, clerk, claim_input, a_draft
):
    client.force_login(clerk)
    url = f"/api/claims/{a_draft.pk}/"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    submitted = services.claim_create(data=claim_input(), actor=clerk)
    services.claim_submit(claim_id=submitted.pk, actor=clerk)
    refused = client.delete(f"/api/claims/{submitted.pk}/")
    assert refused.status_code == 409
    assert refused.json()["code"] == "invalid_transition"


def test_the_claim_page_offers_delete_for_a_draft_not_withdraw(client, clerk, a_draft):
    client.force_login(clerk)
    page = html_of(client.get(reverse("claim_detail", args=[a_draft.pk])))
    assert 'data-testid="delete-draft"' in page
    assert 'data-testid="withdraw-claim"' not in page
    response = client.post(reverse("claim_delete", args=[a_draft.pk]))
    assert response.status_code == 302
    listed = html_of(client.get(reverse("claim_list")))
    assert f"草稿#{a_draft.pk}已删除" in listed
    assert reverse("claim_detail", args=[a_draft.pk]) not in listed


def test_refused_submits_of_one_form_keep_one_draft(client, clerk, form_data):  # noqa: F811
    client.force_login(clerk)
    body = form_data(action="submit", employment="none", form_token="tok-1")
    # when the same form is sent three times (a reload, the back button, a retry)
    for _ in range(3):
        response = client.post(reverse("claim_create"), body)
        assert response.status_code == 409
        assert "申报不符合补贴条件，未能提交" in html_of(response)
    # then one draft, edited again each time
    claim = Claim.objects.get()
    assert claim.status == "draft"
    assert ClaimEvent.objects.filter(claim=claim, action="create").count() == 1
    # a new form (another token) is another claim
    client.post(reverse("claim_create"), body | {"form_token": "tok-2"})
    assert Claim.objects.count() == 2
