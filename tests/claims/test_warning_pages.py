"""Where the decision is made (issue 15, 6 and 7): the clerk's live panel, the claim
page and the edit page show a claim's warnings and never show an ineligible claim's
amount as approved; the edit page counts the year the training ends from the start."""

from __future__ import annotations

from datetime import date

from django.urls import reverse

import pytest

from claims import services
from tests.claims.test_views import form_data, html_of  # noqa: F401  (a fixture)
from tests.factories import InstitutionFactory, TraineeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_clerk(client, clerk):
    client.force_login(clerk)
    return client


def file(clerk, claim_input, *, submit=True, **overrides):
    claim = services.claim_create(data=claim_input(**overrides), actor=clerk)
    if submit:
        claim = services.claim_submit(claim_id=claim.pk, actor=clerk)
    return claim


def test_the_live_panel_warns_of_a_reused_certificate(
    as_clerk,
    clerk,
    claim_input,
    form_data,  # noqa: F811
):
    # given another person's claim with the certificate number about to be typed
    other = file(
        clerk,
        claim_input,
        trainee_id=TraineeFactory().pk,
        certificate_number=form_data()["certificate_number"],
    )
    # when the clerk's form is checked
    html = html_of(as_clerk.post(reverse("claim_check"), form_data()))
    # then the panel says eligible, and beside it the warning linking the other claim
    assert "✓ 符合补贴条件" in html
    assert 'data-code="certificate_reused"' in html
    assert f'href="/claims/{other.pk}/"' in html


def test_a_claim_of_another_unit_is_named_not_linked(
    as_clerk,
    other_clerk,
    claim_input,
    form_data,  # noqa: F811
):
    # given another unit's claim, another person, the same certificate number
    stranger = TraineeFactory(name="外单位学员乙", registered_by_unit_id="654322")
    theirs = file(
        other_clerk,
        claim_input,
        trainee_id=stranger.pk,
        unit_id="654322",
        institution_id=InstitutionFactory(unit_id="654322").pk,
        certificate_number=form_data()["certificate_number"],
    )
    # when the clerk checks a claim carrying it
    html = html_of(as_clerk.post(reverse("claim_check"), form_data()))
    # then the warning names the claim by its id, without a link or its details
    assert 'data-code="certificate_reused"' in html
    assert f"#{theirs.pk}" in html
    assert f'href="/claims/{theirs.pk}/"' not in html
    assert "外单位学员乙" not in html


def test_the_claim_page_shows_the_warnings(client, reviewer, clerk, claim_input):
    person = TraineeFactory()
    first = file(clerk, claim_input, trainee_id=person.pk)
    second = file(
        clerk,
        claim_input,
        trainee_id=person.pk,
        trade_id="4-07-05-01",
        certificate_number="CERT-0002",
        training_start=date(2020, 3, 20),
        training_end=date(2020, 4, 20),
    )
    client.force_login(reviewer)
    html = html_of(client.get(reverse("claim_detail", args=[second.pk])))
    assert 'data-testid="warnings"' in html
    assert 'data-code="training_overlap"' in html
    assert f'href="/claims/{first.pk}/"' in html


def test_an_ineligible_panel_shows_no_amount_as_approved(
    as_clerk,
    form_data,  # noqa: F811
):
    # program 9 subsidises only those employed (五(二)): ineligible
    html = html_of(as_clerk.post(reverse("claim_check"), form_data(employment="none")))
    assert "✗ 不符合补贴条件" in html
    amount = html.split('data-testid="decision-amount">', 1)[1].split("</dd>", 1)[0]
    assert "元" not in amount and "不予核定" in amount


def test_the_edit_page_counts_the_year_the_training_ends_on_load(
    as_clerk, clerk, claim_input
):
    # given two counted claims of the person ending in 2020, and a draft ending then
    for trade in ("6-31-01-03", "4-07-05-01"):
        file(clerk, claim_input, trade_id=trade, certificate_number=trade)
    draft = file(clerk, claim_input, submit=False)
    # when its edit page is opened
    html = html_of(as_clerk.get(reverse("claim_edit", args=[draft.pk])))
    # then the summary counts 2020, the year its training ends, not this year
    assert "2020年已享受 <strong>2</strong>" in html


def test_the_edited_claim_is_not_counted_in_its_own_summary(
    as_clerk, clerk, claim_input, reviewer
):
    from tests.factories import send_to_prefecture

    returned = file(clerk, claim_input)
    send_to_prefecture(returned)
    from quarters import services as quarter_services

    quarter_services.claim_return(claim_id=returned.pk, actor=reviewer, reason="补材料")
    html = html_of(as_clerk.get(reverse("claim_edit", args=[returned.pk])))
    assert "2020年已享受 <strong>0</strong>" in html


def test_the_list_shows_no_amount_for_an_ineligible_claim(as_clerk, clerk, claim_input):
    refused = file(clerk, claim_input, submit=False, employment="none")
    assert not refused.eligible and refused.amount > 0
    html = html_of(as_clerk.get(reverse("claim_list")))
    cell = html.split(f'data-testid="not-decided-{refused.pk}"', 1)[1].split("<", 1)[0]
    assert cell == ">—"
