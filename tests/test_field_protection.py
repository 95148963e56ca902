"""No role changes a field it may not change, through the API, the forms or the import
(issue 6, item 1).

One generated table: every writable channel × every protected field × every role. The
channels' input fields are read from the serializers, forms and import columns that
declare them, and every concrete field of the models they write must be either an
input listed here or a protected field with a hostile value here: a new writable field,
or a new model field, without an entry fails ``test_every_field_has_an_entry``.

Each case sends an honest body plus the hostile value of one protected field and
asserts the field did not change: either the answer is a 4xx and nothing was written,
or the field was ignored (DRF and Django forms ignore fields they do not declare; the
API contract names only the body fields). Decision fields (cap, amount, advance, fund,
payee, eligible) must equal a fresh judgement of the stored inputs by the rules.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

import pytest
from openpyxl import Workbook

from accounts.models import User
from claims import intake
from claims import services as claim_services
from claims.forms import ClaimForm
from claims.models import Claim
from claims.serializers import ClaimInputSerializer
from finance.models import Payment
from finance.serializers import PaymentInputSerializer
from programs.credit_codes import credit_code_check_char
from programs.models import Institution
from programs.serializers import InstitutionCreateSerializer
from quarters import services as quarter_services
from tests.class_run import claim_through_class
from tests.factories import InstitutionFactory, TraineeFactory, make_id_number
from trainees.forms import TraineeRegistrationForm
from trainees.models import Trainee
from trainees.serializers import TraineeRegisterSerializer

pytestmark = pytest.mark.django_db

ROLES = ("clerk", "other_clerk", "reviewer", "finance", "auditor", "administrator")
WHEN = "2001-01-01T00:00:00Z"

# --- The table ----------------------------------------------------------------------------
#: What each channel lets a user type, as its serializer, form or import declares it.
#: ``guarded`` inputs are typed but limited by role (a clerk's own unit only; the
#: certification of an enterprise in difficulty by an administrator only).
#: 五(二) a person's places and 三(二)7's facts: given at registration like the rest.
PLACES = ("residence_unit", "job_seeking_unit", "residence", "months_in_town")

CHANNELS: dict[str, dict[str, Any]] = {
    "api claim": {
        "declared": lambda: set(ClaimInputSerializer().fields),
        "inputs": {
            "trainee",
            "program",
            "trade",
            "level",
            "institution",
            "employer",
            "training_start",
            "training_end",
            "project_based",
            "work_in_lieu_months",
            "passed",
            "certificate_number",
            "employment",
            "amount_requested",
            "hire_date",
        },
        "guarded": {"unit"},
    },
    "claim form": {
        "declared": lambda: set(ClaimForm.base_fields),
        "inputs": {
            "trainee",
            "id_number",
            "program",
            "trade",
            "level",
            "institution",
            "employer",
            "training_start",
            "training_end",
            "project_based",
            "work_in_lieu_months",
            "passed",
            "certificate_number",
            "employment",
            "amount_requested",
            "hire_date",
        },
        "guarded": set(),
    },
    "import": {
        "declared": lambda: {c.key for c in intake.COLUMNS},
        "inputs": {
            "id_number",
            "name",
            "household",
            "groups",
            "phone",
            "program",
            "trade",
            "level",
            "institution",
            "employer",
            "training_start",
            "training_end",
            "project_based",
            "work_in_lieu_months",
            "passed",
            "certificate_number",
            "employment",
            "amount_requested",
            "hire_date",
        },
        "guarded": set(),
    },
    "api trainee": {
        "declared": lambda: set(TraineeRegisterSerializer().fields),
        "inputs": {
            "id_number",
            "name",
            "household",
            "groups",
            "phone",
            "message_language",
            *PLACES,
        },
        "guarded": set(),
    },
    "trainee form": {
        "declared": lambda: set(TraineeRegistrationForm.base_fields),
        "inputs": {
            "id_number",
            "name",
            "household",
            "groups",
            "phone",
            "message_language",
            *PLACES,
        },
        "guarded": set(),
    },
    "api institution": {
        "declared": lambda: set(InstitutionCreateSerializer().fields),
        "inputs": {"name", "kind", "credit_code", "insured"},
        "guarded": {"unit", "certified_difficult"},
    },
    "api payment": {
        "declared": lambda: set(PaymentInputSerializer().fields),
        "inputs": {
            "claim",
            "kind",
            "amount",
            "paid_on",
            "status",
            "reference",
            "failure_reason",
            "reissue_of",
        },
        "guarded": set(),
    },
}

#: Every field of the models the channels write that no input may set, with a hostile
#: value (``"<reviewer>"``/``"<other>"`` stand for another user's / object's id).
PROTECTED: dict[type, dict[str, Any]] = {
    Claim: {
        "id": 987654,
        "status": "approved",
        "eligible": True,
        "cap": "99999.00",
        "amount": "99999.00",
        "advance": "99999.00",
        "fund": "poverty",
        "payee": "family",
        "violations": [],
        "explanation": ["改写的说明"],
        "decided_on": "2001-01-01",
        "limit_year": 1999,
        "limit_slot": 3,
        "created_by": "<reviewer>",
        "created_at": WHEN,
        "updated_at": WHEN,
        "submitted_at": WHEN,
        "reviewed_by": "<reviewer>",
        "reviewed_at": WHEN,
        "approved_amount": "99999.00",
        "paid": "99999.00",  # issue 20: only finance.services, from the payments
        "report": 1,
    },
    Trainee: {
        "id": 987654,
        "birth_date": "1950-01-01",
        "sex": "F",
        "registered_by_unit": "654322",
        "created_at": WHEN,
        "updated_at": WHEN,
    },
    Institution: {
        "id": 987654,
        "admitted": True,  # 七(三): only an administrator admits, by its own endpoint
        "proposed_by": 1,
        "admitted_by": 1,
        "admitted_at": WHEN,
        "admission_reason": "自行认定",
        "created_at": WHEN,
    },
    Payment: {
        "id": 987654,
        "rollup": 1,
        # a class's advance share is put on a claim only at the class's completion
        "class_advance": 1,
        "recorded_by": "<reviewer>",
        "recorded_at": WHEN,
    },
}

#: Which model's fields each channel's inputs are (the import and the claim form also
#: name the person: their fields are the trainee's).
WRITES = {
    "api claim": [Claim],
    "claim form": [Claim, Trainee],
    "import": [Claim, Trainee],
    "api trainee": [Trainee],
    "trainee form": [Trainee],
    "api institution": [Institution],
    "api payment": [Payment],
}


def concrete_fields(model: type) -> set[str]:
    return {f.name for f in model._meta.concrete_fields}  # type: ignore[attr-defined]


def test_every_field_has_an_entry() -> None:
    for name, channel in CHANNELS.items():
        declared = channel["declared"]()
        listed = channel["inputs"] | channel["guarded"]
        assert declared - listed == set(), f"{name}: inputs without an entry"
        assert listed - declared == set(), f"{name}: stale entries"
    for model, hostile in PROTECTED.items():
        inputs = set().union(
            *(
                CHANNELS[c]["inputs"] | CHANNELS[c]["guarded"]
                for c, models in WRITES.items()
                if model in models
            )
        )
        unlisted = concrete_fields(model) - inputs - set(hostile)
        assert unlisted == set(), (
            f"{model.__name__}: fields neither input nor protected"
        )
        assert set(hostile) <= concrete_fields(model), f"{model.__name__}: stale"
        assert not set(hostile) & inputs, f"{model.__name__}: protected yet an input"


# --- The world ----------------------------------------------------------------------------
@pytest.fixture
def users(clerk, other_clerk, reviewer, finance, auditor, administrator) -> dict:
    return {
        "clerk": clerk,
        "other_clerk": other_clerk,
        "reviewer": reviewer,
        "finance": finance,
        "auditor": auditor,
        "administrator": administrator,
    }


def every_role(attempt: Callable[[str], None]) -> None:
    """The row of the table for each role, each in its own rolled-back transaction
    (the same fresh state for every role); every failing cell is reported."""
    failures = []
    for role in ROLES:
        try:
            with transaction.atomic():
                try:
                    attempt(role)
                finally:
                    transaction.set_rollback(True)
        except AssertionError as exc:
            failures.append(f"{role}: {exc}")
    assert not failures, "\n".join(failures)


def hostile_value(value: Any, users: dict[str, User]) -> Any:
    return users["reviewer"].pk if value == "<reviewer>" else value


def honest_body(trainee: Trainee, institution: Any) -> dict[str, Any]:
    return {
        "trainee": trainee.pk,
        "program": 9,
        "trade": "4-03-02-01",
        "level": "intermediate",
        "institution": institution.pk,
        "training_start": "2020-03-01",
        "training_end": "2020-03-31",
        "project_based": False,
        "work_in_lieu_months": 0,
        "passed": True,
        "certificate_number": "CERT-1",
        "employment": "employed",
        "amount_requested": "1800.00",
    }


def form_body(body: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in body.items() if v is not False}
    data["passed"] = "on"
    return data


def snapshot(claim: Claim) -> dict[str, Any]:
    claim.refresh_from_db()
    return {f: getattr(claim, f) for f in PROTECTED[Claim] if f != "updated_at"}


#: Fields the rules compute: checked against a fresh judgement, not against the value.
DECIDED = {"eligible", "cap", "amount", "advance", "fund", "payee", "violations"}
DECIDED |= {"explanation"}


def assert_decided_by_the_rules(claim: Claim) -> None:
    decision = claim_services.judge(claim_services.input_of(claim), claim_id=claim.pk)
    assert (claim.cap, claim.amount, claim.advance) == (
        decision.cap,
        decision.amount,
        decision.advance,
    )
    assert (claim.fund, claim.payee, claim.eligible) == (
        decision.fund,
        decision.payee,
        decision.eligible,
    )
    assert [v["code"] for v in claim.violations] == [
        v.code for v in decision.violations
    ]
    assert claim.explanation == list(decision.explanation)


def assert_honestly_created(claim: Claim, actor: User, field: str, hostile: Any):
    assert claim.pk != 987654
    assert claim.status == "draft"
    assert claim.created_by_id == actor.pk
    assert claim.unit_id == actor.unit_id
    assert claim.reviewed_by_id is None and claim.reviewed_at is None
    assert claim.report_id is None and claim.approved_amount is None
    assert claim.limit_slot is None and claim.submitted_at is None
    if field not in DECIDED:
        assert str(getattr(claim, field)) != str(hostile)
    assert_decided_by_the_rules(claim)


def import_workbook(
    trainee: Trainee, institution: Any, extra: dict[str, Any], *, newcomer: bool = False
) -> bytes:
    person = {"household": "农业", "groups": "退役军人"} if newcomer else {}
    values = {
        **person,
        "id_number": trainee.id_number,
        "name": trainee.name,
        "program": "9 实施就业重点群体免费职业技能培训计划",
        "trade": "4-03-02-01 中式烹调师",
        "level": "四级/中级工",
        "institution": institution.credit_code,
        "training_start": date(2020, 3, 1),
        "training_end": date(2020, 3, 31),
        "project_based": "否",
        "work_in_lieu_months": 0,
        "passed": "是",
        "certificate_number": "CERT-1",
        "employment": "就业",
        "amount_requested": 1800,
    }
    wb = Workbook()
    ws = wb.active
    ws.title = intake.DATA_SHEET
    ws.append([c.header for c in intake.COLUMNS] + list(extra))
    ws.append(
        [values.get(c.key) for c in intake.COLUMNS] + [str(v) for v in extra.values()]
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- Claims: API create, PUT, PATCH, the form (new and edit), the import -------------------
CLAIM_CHANNELS = (
    "api create",
    "api put",
    "api patch",
    "form create",
    "form edit",
    "import",
)
CLAIM_CASES = [
    pytest.param(channel, field, id=f"{channel}-{field}")
    for channel in CLAIM_CHANNELS
    for field in sorted(PROTECTED[Claim])
]


@pytest.mark.parametrize(("channel", "field"), CLAIM_CASES)
def test_no_role_sets_a_protected_claim_field(
    client: Any,
    users: dict[str, User],
    trainee: Trainee,
    institution: Any,
    claim_input: Any,
    settings: Any,
    tmp_path: Any,
    channel: str,
    field: str,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    every_role(
        lambda role: attempt_claim_field(
            client, users, trainee, institution, claim_input, channel, field, role
        )
    )


def attempt_claim_field(
    client: Any,
    users: dict[str, User],
    trainee: Trainee,
    institution: Any,
    claim_input: Any,
    channel: str,
    field: str,
    role: str,
) -> None:
    actor = users[role]
    clerk = users["clerk"]
    hostile = hostile_value(PROTECTED[Claim][field], users)
    client.force_login(actor)
    body = honest_body(trainee, institution)
    draft = claim_services.claim_create(data=claim_input(), actor=clerk)
    draft_id = draft.pk
    before = snapshot(draft)
    claims_before = set(Claim.objects.values_list("pk", flat=True))

    if channel == "api create":
        response = client.post(
            "/api/claims/", {**body, field: hostile}, content_type="application/json"
        )
    elif channel in ("api put", "api patch"):
        send = client.put if channel == "api put" else client.patch
        payload = (
            {field: hostile} if channel == "api patch" else {**body, field: hostile}
        )
        response = send(
            f"/api/claims/{draft_id}/", payload, content_type="application/json"
        )
    elif channel == "form create":
        response = client.post(
            reverse("claim_create"), {**form_body(body), field: hostile}
        )
    elif channel == "form edit":
        response = client.post(
            reverse("claim_edit", args=[draft_id]), {**form_body(body), field: hostile}
        )
    else:
        other = TraineeFactory(groups=["poor_labour"])
        label = str(Claim._meta.get_field(field).verbose_name)
        data = import_workbook(other, institution, {label: hostile, field: hostile})
        response = client.post(
            reverse("claims_import:start"),
            {"file": SimpleUploadedFile("申报.xlsx", data)},
        )
        if response.status_code == 302:
            token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
            response = client.post(
                reverse("claims_import:save", args=[token]), {"mode": "draft"}
            )

    # then: a refusal, or the field ignored
    assert response.status_code < 500, response.content[:500]
    created = Claim.objects.exclude(pk__in=claims_before)
    if response.status_code >= 400:
        assert not created.exists()
    for claim in created:
        assert_honestly_created(claim, actor, field, hostile)
    # the draft that was there keeps every protected value
    after = snapshot(Claim.objects.get(pk=draft_id))
    assert after == before, (after, before)
    assert Claim.objects.get(pk=draft_id).updated_at.year != 2001


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("channel", ["api create", "api put", "api patch"])
def test_a_claim_s_unit_is_the_clerk_s_own(
    client: Any,
    users: dict[str, User],
    trainee: Trainee,
    institution: Any,
    claim_input: Any,
    channel: str,
    role: str,
) -> None:
    """``unit`` is in the body (api-contract.md) but a clerk may name only their own."""
    draft = claim_services.claim_create(data=claim_input(), actor=users["clerk"])
    client.force_login(users[role])
    body = {**honest_body(trainee, institution), "unit": "654324"}  # nobody's here
    if channel == "api create":
        response = client.post("/api/claims/", body, content_type="application/json")
    else:
        send = client.put if channel == "api put" else client.patch
        payload = body if channel == "api put" else {"unit": "654324"}
        response = send(
            f"/api/claims/{draft.pk}/", payload, content_type="application/json"
        )
    assert 400 <= response.status_code < 500
    assert not Claim.objects.filter(unit_id="654324").exists()


# --- The registry --------------------------------------------------------------------------
PERSON_CASES = [
    pytest.param(channel, field, id=f"{channel}-{field}")
    for channel in ("api trainee", "trainee form", "import")
    for field in sorted(PROTECTED[Trainee])
]


@pytest.mark.parametrize(("channel", "field"), PERSON_CASES)
def test_no_role_sets_a_protected_trainee_field_or_rewrites_a_person(
    client: Any,
    users: dict[str, User],
    institution: Any,
    settings: Any,
    tmp_path: Any,
    channel: str,
    field: str,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    every_role(
        lambda role: attempt_person_field(
            client, users, institution, channel, field, role
        )
    )


def attempt_person_field(
    client: Any,
    users: dict[str, User],
    institution: Any,
    channel: str,
    field: str,
    role: str,
) -> None:
    actor = users[role]
    hostile = PROTECTED[Trainee][field]
    existing = TraineeFactory(name="原名", household="rural", phone="13900000000")
    kept = {
        f: getattr(existing, f)
        for f in (
            "id_number",
            "name",
            "household",
            "groups",
            "phone",
            *PROTECTED[Trainee],
        )
    }
    new_number = make_id_number(date(1992, 8, 8))
    client.force_login(actor)
    answers = []
    for number in (existing.id_number, new_number):
        # an existing person named differently (must not be rewritten), and a new one
        fields = {
            "id_number": number,
            "name": "改名",
            "household": "urban",
            "groups": ["veteran"],
            "phone": "13800000000",
        }
        if channel == "api trainee":
            answers.append(
                client.post(
                    "/api/trainees/",
                    {**fields, field: hostile},
                    content_type="application/json",
                )
            )
        elif channel == "trainee form":
            answers.append(
                client.post(reverse("trainee_register"), {**fields, field: hostile})
            )
        else:
            person = Trainee(id_number=number, name="改名")
            extra = {str(Trainee._meta.get_field(field).verbose_name): hostile}
            data = import_workbook(
                person, institution, extra, newcomer=number == new_number
            )
            answer = client.post(
                reverse("claims_import:start"),
                {"file": SimpleUploadedFile("申报.xlsx", data)},
            )
            if answer.status_code == 302:
                token = answer["Location"].rstrip("/").rsplit("/", 1)[-1]
                answer = client.post(
                    reverse("claims_import:save", args=[token]), {"mode": "draft"}
                )
            answers.append(answer)

    assert all(a.status_code < 500 for a in answers)
    existing.refresh_from_db()
    assert {f: getattr(existing, f) for f in kept} == kept
    new = Trainee.objects.filter(id_number=new_number).first()
    if new is not None:
        assert new.pk != 987654
        assert (new.birth_date, new.sex) == (date(1992, 8, 8), "M")
        assert new.registered_by_unit_id == actor.unit_id
        assert new.created_at.year != 2001


# --- Institutions and payments --------------------------------------------------------------
@pytest.mark.parametrize(
    "field", [*sorted(PROTECTED[Institution]), "certified_difficult", "unit"]
)
def test_no_role_sets_a_protected_institution_field(
    client: Any, users: dict[str, User], field: str
) -> None:
    every_role(lambda role: attempt_institution_field(client, users, field, role))


def attempt_institution_field(
    client: Any, users: dict[str, User], field: str, role: str
) -> None:
    actor = users[role]
    code = "91654301MA7" + "ABCDEF"
    code += credit_code_check_char(code)
    hostile = {"certified_difficult": True, "unit": "654322"}.get(
        field, PROTECTED[Institution].get(field)
    )
    body = {"name": "某培训学校", "kind": "training_institution", "credit_code": code}
    if actor.unit_id:
        body["unit"] = actor.unit_id
    elif field != "unit":
        body["unit"] = "654301"
    client.force_login(actor)

    response = client.post(
        "/api/institutions/", {**body, field: hostile}, content_type="application/json"
    )

    assert response.status_code < 500
    made = Institution.objects.filter(credit_code=code).first()
    if response.status_code >= 400:
        assert made is None
        return
    assert made is not None and made.pk != 987654
    assert made.created_at.year != 2001
    assert (made.admitted, made.admitted_by, made.admitted_at) == (False, None, None)
    assert made.admission_reason == "" and made.proposed_by == actor
    if actor.is_clerk:  # a clerk: own unit only, never the certification
        assert made.unit_id == actor.unit_id and made.certified_difficult is False
    assert actor.is_clerk or actor.is_administrator


@pytest.mark.parametrize("field", sorted(PROTECTED[Payment]))
def test_no_role_sets_a_protected_payment_field(
    client: Any, users: dict[str, User], claim_input: Any, field: str
) -> None:
    every_role(
        lambda role: attempt_payment_field(client, users, claim_input, field, role)
    )


def attempt_payment_field(
    client: Any,
    users: dict[str, User],
    claim_input: Any,
    field: str,
    role: str,
) -> None:
    clerk, actor = users["clerk"], users[role]
    school = InstitutionFactory(unit_id="654301")
    person = TraineeFactory(groups=["poor_labour"])
    claim = claim_through_class(
        claim_input(trainee_id=person.pk, institution_id=school.pk, project_based=True),
        clerk=clerk,
    )
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q1", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    claim.refresh_from_db()
    assert claim.advance > Decimal("0")
    hostile = hostile_value(PROTECTED[Payment][field], users)
    body = {
        "claim": claim.pk,
        "kind": "advance",
        "amount": str(claim.advance),
        "paid_on": "2020-05-10",
        "status": "paid",
        field: hostile,
    }
    client.force_login(actor)

    response = client.post("/api/payments/", body, content_type="application/json")

    assert response.status_code < 500
    payments = Payment.objects.filter(claim=claim)
    if response.status_code >= 400:
        assert not payments.exists()
        return
    assert actor.is_finance
    payment = payments.get()
    assert payment.pk != 987654
    assert payment.recorded_by_id == actor.pk
    assert payment.rollup_id is None  # no rollup of 2020Q1 exists
    assert payment.recorded_at.year != 2001
