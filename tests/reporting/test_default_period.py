"""Pages open on the latest year / quarter holding data in the user's scope, not on
today's (empty when the data is older, as the demo's 2020–2021 is)."""

from datetime import date

from django.test import Client
from django.utils import timezone

import pytest

from claims import services as claim_services
from tests.factories import TraineeFactory, UserFactory

pytestmark = pytest.mark.django_db


def submitted(claim_input, clerk, **overrides):
    draft = claim_services.claim_create(data=claim_input(**overrides), actor=clerk)
    return claim_services.claim_submit(claim_id=draft.pk, actor=clerk)


def someone_else() -> int:
    return TraineeFactory(groups=["poor_labour"], residence_unit_id="654322").pk


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "path", ["/dashboards/unit/", "/dashboards/prefecture/", "/dashboards/finance/"]
)
def test_dashboards_open_on_the_latest_year_with_claims(
    path, claim_input, clerk, reviewer, settings
):
    # given claims that ended in 2020 and 2021 only (years before today)
    submitted(claim_input, clerk)
    submitted(
        claim_input,
        clerk,
        training_start=date(2021, 5, 1),
        training_end=date(2021, 5, 20),
        certificate_number="CERT-2021",
        trainee_id=someone_else(),
    )
    user = clerk if path == "/dashboards/unit/" else reviewer
    # when the dashboard opens without a year
    response = client_of(user).get(path)
    # then it shows 2021, and a year asked for still wins
    assert response.status_code == 200
    assert response.context["year"] == 2021
    assert client_of(user).get(path, {"year": "2020"}).context["year"] == 2020


def test_the_year_is_scoped_to_the_user(claim_input, clerk, reviewer):
    # given a claim of 阿勒泰市 ending in 2020 only
    submitted(claim_input, clerk)
    other = UserFactory(username="clerk_b", role=clerk.role, unit_id="654321")
    # then the other unit's clerk, with nothing of their own, opens on this year
    year = client_of(other).get("/dashboards/unit/").context["year"]
    assert year == timezone.localdate().year
    assert client_of(clerk).get("/dashboards/unit/").context["year"] == 2020


def test_the_report_builder_offers_the_latest_quarter_with_claims_to_report(
    claim_input, clerk
):
    # given submitted claims not yet on a report, ended in 2020Q1 and 2021Q2
    submitted(claim_input, clerk)
    submitted(
        claim_input,
        clerk,
        training_start=date(2021, 5, 1),
        training_end=date(2021, 5, 20),
        certificate_number="CERT-2021",
        trainee_id=someone_else(),
    )
    # when the clerk opens the report list
    response = client_of(clerk).get("/reports/")
    # then the builder's quarter is 2021Q2 and both quarters are suggested
    assert response.status_code == 200
    assert response.context["quarter"] == "2021Q2"
    assert {"2021Q2", "2020Q1"} <= set(response.context["recent_quarters"])
    assert 'value="2021Q2"' in response.content.decode()
