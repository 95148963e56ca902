"""Institutions (issue 12, 7; 七(三) 培训评价机构目录): a clerk proposes, an administrator
admits, the public catalogue shows admitted providers only, and a claim at a proposed
provider may be kept as a draft but is not submitted until it is admitted."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from altay_skills.errors import PermissionDenied
from claims import intake
from claims.models import Claim
from programs import services
from programs.models import Institution
from tests.claims.test_imports import good_row, xlsx
from tests.factories import InstitutionFactory, UserFactory, make_credit_code

pytestmark = pytest.mark.django_db

INSTITUTIONS = "/api/institutions/"
REASON = "阿地人社函〔2020〕12号认定"


def api(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def admit_url(institution: Institution) -> str:
    return f"{INSTITUTIONS}{institution.pk}/admit/"


@pytest.fixture
def second_admin(db: Any) -> User:
    return UserFactory(username="admin_b", role="administrator", is_staff=True)


@pytest.fixture
def proposed(clerk: User) -> Institution:
    """A provider unit 654301's clerk proposed through the API."""
    response = api(clerk).post(
        INSTITUTIONS,
        {
            "name": "阿勒泰市新开培训学校",
            "kind": "training_institution",
            "credit_code": make_credit_code(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return Institution.objects.get(pk=response.json()["id"])


def public_names(client: Any) -> tuple[str, list[str]]:
    page = client.get(reverse("public_institutions")).content.decode()
    listed = [i["name"] for i in APIClient().get("/api/public/institutions/").json()]
    return page, listed


# --- A clerk proposes -----------------------------------------------------------------------
def test_a_clerk_s_institution_is_a_proposal_and_not_published(
    client: Any, clerk: User, proposed: Institution
) -> None:
    """The observation: saved admitted=true and listed at once on /public/institutions/."""
    assert proposed.admitted is False
    assert proposed.proposed_by == clerk
    assert (proposed.admitted_by, proposed.admitted_at) == (None, None)
    shown = api(clerk).get(INSTITUTIONS, {"admitted": "false"}).json()
    assert [(i["id"], i["admission_status"]) for i in shown] == [
        (proposed.pk, "待认定")
    ]
    page, listed = public_names(client)
    assert proposed.name not in page and proposed.name not in listed


def test_nothing_a_clerk_sends_admits_it(clerk: User) -> None:
    response = api(clerk).post(
        INSTITUTIONS,
        {
            "name": "自称已认定的学校",
            "kind": "training_institution",
            "credit_code": make_credit_code(),
            "admitted": True,
            "admitted_by": clerk.pk,
            "admitted_at": "2020-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201
    made = Institution.objects.get(pk=response.json()["id"])
    assert (made.admitted, made.admitted_by, made.admitted_at) == (False, None, None)


def test_an_administrator_s_institution_is_a_proposal_too(
    administrator: User,
) -> None:
    made = services.institution_create(
        name="地区实训基地",
        kind="public_training_base",
        credit_code=make_credit_code(),
        unit_id="654300",
        actor=administrator,
    )
    assert (made.admitted, made.proposed_by) == (False, administrator)


# --- An administrator admits ----------------------------------------------------------------
def test_an_administrator_admits_a_proposal_and_it_is_published(
    client: Any, administrator: User, proposed: Institution
) -> None:
    response = api(administrator).post(
        admit_url(proposed), {"reason": f"  {REASON} "}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["admitted"], response.json()["admission_status"]) == (
        True,
        "已认定",
    )
    proposed.refresh_from_db()
    assert (proposed.admitted, proposed.admitted_by) == (True, administrator)
    assert proposed.admitted_at is not None and proposed.admission_reason == REASON
    latest = proposed.history.latest()
    assert (latest.history_user, latest.admitted) == (administrator, True)
    assert latest.history_change_reason == "认定列入培训机构目录"
    page, listed = public_names(client)
    assert proposed.name in page and proposed.name in listed


@pytest.mark.parametrize(
    "role", ["clerk", "other_clerk", "reviewer", "finance", "auditor"]
)
def test_only_an_administrator_admits(
    request: Any, proposed: Institution, role: str
) -> None:
    response = api(request.getfixturevalue(role)).post(
        admit_url(proposed), {"reason": REASON}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    proposed.refresh_from_db()
    assert proposed.admitted is False


def test_the_proposer_never_admits_their_own_proposal(
    administrator: User, second_admin: User
) -> None:
    mine = services.institution_create(
        name="本人登记的学校",
        kind="training_institution",
        credit_code=make_credit_code(),
        unit_id="654301",
        actor=administrator,
    )
    refused = api(administrator).post(
        admit_url(mine), {"reason": REASON}, format="json"
    )
    assert refused.status_code == 403
    assert "本人登记" in refused.json()["message"]
    admitted = api(second_admin).post(
        admit_url(mine), {"reason": REASON}, format="json"
    )
    assert admitted.status_code == 200


@pytest.mark.parametrize(
    "reason",
    ["", "   ", "认定\u202e", "认定\x00", "认" * 501],
    ids=["missing", "blank", "bidi", "nul", "too long"],
)
def test_the_grounds_are_required_and_checked_like_every_reason(
    administrator: User, proposed: Institution, reason: str
) -> None:
    response = api(administrator).post(
        admit_url(proposed), {"reason": reason}, format="json"
    )
    assert response.status_code == 400
    with pytest.raises(services.DomainError):
        services.institution_admit(
            institution_id=proposed.pk, actor=administrator, reason=reason
        )
    proposed.refresh_from_db()
    assert proposed.admitted is False


def test_admitting_twice_is_a_conflict_and_a_missing_one_is_404(
    administrator: User, proposed: Institution
) -> None:
    client = api(administrator)
    assert client.post(admit_url(proposed), {"reason": REASON}).status_code == 200
    again = client.post(admit_url(proposed), {"reason": "再次认定"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_admitted")
    proposed.refresh_from_db()
    assert proposed.admission_reason == REASON
    missing = client.post(f"{INSTITUTIONS}987654/admit/", {"reason": REASON})
    assert missing.status_code == 404


def test_the_database_keeps_a_proposal_unadmitted_and_the_proposer_out(
    clerk: User, administrator: User
) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        InstitutionFactory(admitted=False, admitted_by=administrator)
    with pytest.raises(IntegrityError), transaction.atomic():
        InstitutionFactory(proposed_by=administrator, admitted_by=administrator)
    InstitutionFactory(proposed_by=clerk, admitted_by=administrator)  # allowed


# --- The admin --------------------------------------------------------------------------------
def test_the_admin_action_admits_with_the_grounds(
    client: Any, administrator: User, proposed: Institution
) -> None:
    client.force_login(administrator)
    changelist = reverse("admin:programs_institution_changelist")
    chosen = {"action": "admit_selected", "_selected_action": [proposed.pk]}

    asked = client.post(changelist, chosen)
    assert asked.status_code == 200
    assert (
        proposed.name in asked.content.decode() and "认定依据" in asked.content.decode()
    )
    proposed.refresh_from_db()
    assert proposed.admitted is False

    blank = client.post(changelist, {**chosen, "apply": "1", "reason": " "})
    assert blank.status_code == 200
    proposed.refresh_from_db()
    assert proposed.admitted is False

    done = client.post(changelist, {**chosen, "apply": "1", "reason": REASON})
    assert done.status_code == 302
    proposed.refresh_from_db()
    assert (proposed.admitted, proposed.admitted_by) == (True, administrator)
    assert proposed.admission_reason == REASON


def test_the_admin_neither_adds_nor_edits_an_admission(
    client: Any, administrator: User, proposed: Institution
) -> None:
    client.force_login(administrator)
    added = client.post(
        reverse("admin:programs_institution_add"),
        {
            "name": "管理员录入的学校",
            "kind": "training_institution",
            "credit_code": make_credit_code(),
            "unit": "654301",
            "admitted": "on",
        },
    )
    assert added.status_code == 302, added.content.decode()[:3000]
    made = Institution.objects.get(name="管理员录入的学校")
    assert (made.admitted, made.proposed_by) == (False, administrator)

    changed = client.post(
        reverse("admin:programs_institution_change", args=[proposed.pk]),
        {
            "name": proposed.name,
            "kind": proposed.kind,
            "credit_code": proposed.credit_code,
            "unit": proposed.unit_id,
            "admitted": "on",
        },
    )
    assert changed.status_code == 302
    proposed.refresh_from_db()
    assert proposed.admitted is False


@pytest.mark.parametrize(
    ("changed", "back_to_proposal"),
    [
        ({"name": "某空壳公司"}, True),
        ({"kind": "enterprise", "certified_difficult": "on", "insured": "on"}, True),
        ({"credit_code": make_credit_code()}, True),
        ({"unit": "654322"}, True),
        ({}, False),
    ],
    ids=["name", "kind", "credit_code", "unit", "nothing"],
)
def test_an_admitted_providers_facts_changed_in_the_admin_wait_for_a_second_admin(
    client: Any,
    administrator: User,
    second_admin: User,
    changed: dict[str, str],
    back_to_proposal: bool,
) -> None:
    """The attacker review: the administrator who proposed a school, once another had
    admitted it, alone renamed it and made it an insured enterprise certified in
    difficulty (programs 2 and 5, 以工代训) — still admitted. A change to what
    admitted it puts it back to 待认定, proposed by whoever changed it."""
    client.force_login(administrator)
    added = client.post(
        reverse("admin:programs_institution_add"),
        {
            "name": "阿勒泰市某培训学校",
            "kind": "training_institution",
            "credit_code": make_credit_code(),
            "unit": "654301",
        },
    )
    assert added.status_code == 302
    school = Institution.objects.get(name="阿勒泰市某培训学校")
    services.institution_admit(
        institution_id=school.pk, actor=second_admin, reason=REASON
    )
    form = {
        "name": school.name,
        "kind": school.kind,
        "credit_code": school.credit_code,
        "unit": school.unit_id,
    }

    response = client.post(
        reverse("admin:programs_institution_change", args=[school.pk]),
        {**form, **changed},
        follow=True,
    )

    assert response.status_code == 200
    school.refresh_from_db()
    if back_to_proposal:
        assert (school.admitted, school.proposed_by, school.admitted_by) == (
            False,
            administrator,
            None,
        )
        assert "待认定" in response.content.decode()
        with pytest.raises(PermissionDenied):
            services.institution_admit(
                institution_id=school.pk, actor=administrator, reason=REASON
            )
        services.institution_admit(
            institution_id=school.pk, actor=second_admin, reason=REASON
        )
    else:
        assert (school.admitted, school.admitted_by) == (True, second_admin)


def test_who_rewrites_a_waiting_proposal_s_facts_never_admits_it(
    administrator: User, second_admin: User
) -> None:
    """The second review: administrator B rewrote A's waiting proposal — a school —
    into an insured enterprise certified in difficulty, then admitted it alone."""
    school = services.institution_create(
        name="阿勒泰市某培训学校",
        kind="training_institution",
        credit_code=make_credit_code(),
        unit_id="654301",
        actor=administrator,
    )
    edited = Institution.objects.get(pk=school.pk)
    edited.kind, edited.certified_difficult, edited.insured = "enterprise", True, True
    services.institution_change(institution=edited, actor=second_admin)

    with pytest.raises(PermissionDenied):
        services.institution_admit(
            institution_id=school.pk, actor=second_admin, reason=REASON
        )
    services.institution_admit(
        institution_id=school.pk, actor=administrator, reason=REASON
    )
    assert Institution.objects.get(pk=school.pk).admitted


# --- Claims at a proposed provider ------------------------------------------------------------
def test_a_claim_at_a_proposal_is_a_draft_and_is_submitted_once_admitted(
    client: Any,
    clerk: User,
    administrator: User,
    proposed: Institution,
    claim_input: Any,
) -> None:
    # given a draft at the proposed provider
    created = api(clerk).post(
        "/api/claims/",
        {
            "trainee": claim_input().trainee_id,
            "program": 9,
            "trade": "4-03-02-01",
            "level": "intermediate",
            "institution": proposed.pk,
            "training_start": "2020-03-01",
            "training_end": "2020-03-31",
            "passed": True,
            "certificate_number": "CERT-0001",
            "employment": "employed",
            "amount_requested": "1800.00",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    claim_id = created.json()["id"]
    codes = [v["code"] for v in created.json()["decision"]["violations"]]
    assert codes == ["institution_not_admitted"]

    # when it is submitted: 409, the decision naming the catalogue (七(三)) in Chinese
    refused = api(clerk).post(f"/api/claims/{claim_id}/submit/")
    assert (refused.status_code, refused.json()["code"]) == (409, "not_eligible")
    (violation,) = refused.json()["decision"]["violations"]
    assert violation["code"] == "institution_not_admitted"
    assert violation["clause"] == "七(三)"
    assert "尚未列入培训评价机构目录" in violation["message"]
    assert Claim.objects.get(pk=claim_id).status == "draft"

    # and the claim page says why
    client.force_login(clerk)
    page = client.get(reverse("claim_detail", args=[claim_id])).content.decode()
    assert 'data-testid="institution-not-admitted"' in page
    assert "尚未列入培训评价机构目录" in page
    refused_page = client.post(reverse("claim_submit", args=[claim_id]))
    assert refused_page.status_code == 409
    assert "尚未列入培训评价机构目录" in refused_page.content.decode()

    # then, once an administrator admits the provider, it is submitted
    services.institution_admit(
        institution_id=proposed.pk, actor=administrator, reason=REASON
    )
    submitted = api(clerk).post(f"/api/claims/{claim_id}/submit/")
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "submitted"


def test_the_claim_form_marks_a_proposal(
    client: Any, clerk: User, proposed: Institution
) -> None:
    client.force_login(clerk)
    page = client.get(reverse("claim_create")).content.decode()
    assert f"{proposed.name}（职业培训机构）（待认定）" in page


def test_an_import_naming_a_proposal_saves_nothing_until_it_is_admitted(
    clerk: User, administrator: User, trainee: Any, proposed: Institution
) -> None:
    """The import saves only rows that pass the rules, drafts and submissions alike:
    a row at a proposed provider is refused with the same reason as the form's submit,
    and passes once the provider is admitted."""
    actor = User.objects.get(pk=clerk.pk)
    data = xlsx([good_row(trainee, proposed)])

    batch = intake.import_check(data=data, filename="a.xlsx", actor=actor)
    (row,) = batch.results
    assert not row.ok
    assert [p["code"] for p in row.problems] == ["institution_not_admitted"]
    for submit in (False, True):
        with pytest.raises(services.DomainError):
            intake.import_save(token=batch.token, actor=actor, submit=submit)
    assert not Claim.objects.exists()

    services.institution_admit(
        institution_id=proposed.pk, actor=administrator, reason=REASON
    )
    batch = intake.import_check(data=data, filename="a.xlsx", actor=actor)
    assert batch.results[0].ok
    outcome = intake.import_save(token=batch.token, actor=actor, submit=True)
    assert [c.status for c in outcome.claims] == ["submitted"]


def test_a_proposal_admitted_between_check_and_save_is_judged_at_save(
    clerk: User, administrator: User, trainee: Any, institution: Institution
) -> None:
    """The other way round: a row checked at an admitted provider is judged again when
    saved, so the catalogue as it stands then decides."""
    actor = User.objects.get(pk=clerk.pk)
    batch = intake.import_check(
        data=xlsx([good_row(trainee, institution)]), filename="a.xlsx", actor=actor
    )
    assert batch.results[0].ok
    Institution.objects.filter(pk=institution.pk).update(admitted=False)
    with pytest.raises(services.DomainError):
        intake.import_save(token=batch.token, actor=actor, submit=True)
    assert not Claim.objects.exists()
