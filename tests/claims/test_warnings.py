"""A claim's warnings (issue 15, 6): facts to see before deciding that do not refuse it
— each anomaly of the reviewer's anomaly page that concerns one claim, found with the
same definitions (``claims.warnings``), in the decision of the dry run, the claim and
the list, naming the other claims by id only."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

from django.db import connection
from django.db.models import BooleanField, Case, ExpressionWrapper, F, When

import pytest
from rest_framework.test import APIClient

from claims import services, workflow
from claims import warnings as claims_warnings
from claims.models import LIMIT_SLOTS, Claim
from claims.warnings import (
    AGE_UNUSUAL,
    CERTIFICATE_REUSED,
    LIVE,
    TRAINING_OVERLAP,
    age_number,
    carrying_certificates,
    overlapping_live_claims,
    unusual_age,
    warning_parameters,
    warnings_for_claims,
    warnings_for_input,
)
from reporting import anomalies
from tests.factories import TraineeFactory, make_id_number
from tests.reporting.test_dashboards import file_claim
from trainees.id_numbers import parse_id_number
from trainees.models import Trainee

pytestmark = pytest.mark.django_db
MARCH = {"training_start": date(2020, 3, 1), "training_end": date(2020, 3, 31)}
MID_MARCH = {"training_start": date(2020, 3, 15), "training_end": date(2020, 4, 15)}


@pytest.fixture
def filed(claim_input, clerk):
    def make(*, by=None, **kw):
        kw.setdefault("certificate_number", "")
        return file_claim(claim_input, by or clerk, **{**MARCH, **kw})

    return make


def codes(found):
    return {w.code: list(w.claims) for w in found}


def body(claim_input, **kw):
    data = claim_input(**kw)
    return {
        "trainee": data.trainee_id,
        "program": data.program_id,
        "trade": data.trade_id,
        "level": data.level_id,
        "institution": data.institution_id,
        "unit": data.unit_id,
        "training_start": data.training_start.isoformat(),
        "training_end": data.training_end.isoformat(),
        "passed": data.passed,
        "certificate_number": data.certificate_number,
        "employment": data.employment,
        "amount_requested": str(data.amount_requested),
    }


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- The definitions ------------------------------------------------------------------
def test_overlapping_trainings_warn_each_claim_naming_the_other(filed):
    person = TraineeFactory()
    march = filed(trainee=person)
    mid = filed(trainee=person, trade_id="4-07-05-01", **MID_MARCH)
    june = filed(
        trainee=person,
        trade_id="4-10-01-05",
        training_start=date(2020, 6, 1),
        training_end=date(2020, 6, 30),
    )
    found = warnings_for_claims([march.pk, mid.pk, june.pk])
    assert codes(found[march.pk]) == {TRAINING_OVERLAP: [mid.pk]}
    assert codes(found[mid.pk]) == {TRAINING_OVERLAP: [march.pk]}
    assert found[june.pk] == []


def test_a_draft_is_not_a_training_another_overlaps(filed):
    person = TraineeFactory()
    submitted = filed(trainee=person)
    draft = filed(trainee=person, trade_id="4-07-05-01", submit=False, **MID_MARCH)
    found = warnings_for_claims([submitted.pk, draft.pk])
    # the draft sees the submitted claim; the submitted one ignores the draft
    assert codes(found[draft.pk]) == {TRAINING_OVERLAP: [submitted.pk]}
    assert found[submitted.pk] == []


def test_a_reused_certificate_warns_trimmed_and_case_blind_not_withdrawn(filed, clerk):
    first = filed(certificate_number="AL-2020-0001")
    second = filed(certificate_number=" al-2020-0001 ", trade_id="4-07-05-01")
    withdrawn = filed(certificate_number="AL-2020-0001", trade_id="4-10-01-05")
    services.claim_withdraw(claim_id=withdrawn.pk, actor=clerk)
    alone = filed(certificate_number="AL-2020-0002")
    found = warnings_for_claims([first.pk, second.pk, alone.pk])
    assert codes(found[first.pk]) == {CERTIFICATE_REUSED: [second.pk]}
    assert codes(found[second.pk]) == {CERTIFICATE_REUSED: [first.pk]}
    assert "AL-2020-0001" in found[first.pk][0].message
    assert found[alone.pk] == []


def test_an_age_outside_16_to_65_at_the_start_warns(filed):
    young = TraineeFactory(id_number=make_id_number(date(2004, 3, 2)))
    sixteen = TraineeFactory(id_number=make_id_number(date(2004, 3, 1)))
    old = TraineeFactory(id_number=make_id_number(date(1954, 3, 1)))
    claims = [filed(trainee=p) for p in (young, sixteen, old)]
    found = warnings_for_claims([c.pk for c in claims])
    assert codes(found[claims[0].pk]) == {AGE_UNUSUAL: []}
    assert "15周岁" in found[claims[0].pk][0].message
    assert found[claims[1].pk] == []
    assert "66周岁" in found[claims[2].pk][0].message


def test_the_warnings_and_the_anomaly_page_find_the_same_claims(filed):
    person = TraineeFactory()
    a = filed(trainee=person, certificate_number="X-1")
    b = filed(
        trainee=person, trade_id="4-07-05-01", certificate_number="X-1", **MID_MARCH
    )
    c = filed(certificate_number="X-2")
    found = warnings_for_claims([a.pk, b.pk, c.pk])
    warned = {
        code: {pk for pk, ws in found.items() for w in ws if w.code == code}
        for code in (TRAINING_OVERLAP, CERTIFICATE_REUSED)
    }
    listed_overlaps = {
        ref.id for o in anomalies.overlapping_trainings() for ref in (o.first, o.second)
    }
    listed_certs = {ref.id for s in anomalies.shared_certificates() for ref in s.claims}
    assert warned[TRAINING_OVERLAP] == listed_overlaps == {a.pk, b.pk}
    assert warned[CERTIFICATE_REUSED] == listed_certs == {a.pk, b.pk}


def test_the_input_being_edited_is_left_out(filed):
    person = TraineeFactory()
    claim = filed(trainee=person, certificate_number="Y-1")
    as_entered = {
        "trainee_id": person.pk,
        "certificate_number": "y-1",
        **MARCH,
    }
    assert codes(warnings_for_input(**as_entered)) == {
        TRAINING_OVERLAP: [claim.pk],
        CERTIFICATE_REUSED: [claim.pk],
    }
    assert warnings_for_input(**as_entered, claim_id=claim.pk) == []


def test_warnings_of_a_page_take_a_fixed_number_of_queries(
    filed, django_assert_max_num_queries
):
    person = TraineeFactory(id_number=make_id_number(date(2010, 1, 1)))
    claims = [filed(trainee=person, certificate_number="Z-1", submit=False)]
    claims += [filed(certificate_number="Z-1") for _ in range(5)]
    # one statement (overlaps, certificates, ages: claims.warnings._warning_statement)
    # and whether any came from a class (classes.warnings: one query when none did)
    with django_assert_max_num_queries(2):
        warnings_for_claims([c.pk for c in claims])


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL's planner estimate (SQLite plans the join per claim by the index)",
)
def test_the_planner_does_not_count_the_empty_certificate_key_as_holders(filed):
    """Most claims carry no certificate number, so the empty key is the most common
    value of the certificate index. Joined claim to claim on the key, PostgreSQL's
    estimate counted those empty keys on both sides — though the claim's side
    excludes them — and at ten million claims estimated 10.6 million holders for a
    page that has none, past the cost at which it JIT-compiles (docs/performance.md
    sections 13 and 14). The holders are looked up per claim instead."""
    live = filed()  # submitted: the holders are live claims
    people = [
        TraineeFactory.build(id_number=make_id_number(date(1980, 1, 1) + timedelta(i)))
        for i in range(1500)
    ]
    for person in people:  # what Trainee.save takes from the number
        facts = parse_id_number(person.id_number)
        person.birth_date, person.sex = facts.birth_date, facts.sex
    Trainee.objects.bulk_create(people)
    fields = [
        f
        for f in Claim._meta.concrete_fields
        if not f.primary_key and f.name not in ("trainee", "certificate_number")
    ]
    Claim.objects.bulk_create(  # one live claim each, two in three without a number
        Claim(
            **{f.attname: getattr(live, f.attname) for f in fields},
            trainee_id=person.pk,
            certificate_number=f"ZS-{i}" if i % 3 == 0 else "",
        )
        for i, person in enumerate(people)
    )
    with connection.cursor() as cursor:
        # the statistics go with the test's transaction; the row count it records
        # stays until the next ANALYZE (later tests see a bigger table: harmless)
        cursor.execute("ANALYZE claims_claim")
    page = list(Claim.objects.order_by("-pk").values_list("pk", flat=True)[:50])
    statement = claims_warnings._warning_statement(len(page))
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", warning_parameters(page))
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    certificates = plan[0]["Plan"]["Plans"][1]  # the second leg
    assert certificates["Plan Rows"] <= 10 * len(page), certificates["Plan Rows"]
    assert plan[0]["Plan"]["Total Cost"] < 100_000  # PostgreSQL's jit_above_cost


# --- The list's statement against the definitions --------------------------------------
def warnings_by_definitions(claim_ids):
    """The warnings as the anomaly page's querysets define them (``overlaps``,
    ``carrying_certificates``, ``unusual_age``): what ``warnings_for_claims`` did
    through the ORM before its one statement (issue 20), kept as the oracle."""
    subjects = Claim.objects.filter(pk__in=list(claim_ids)).order_by()
    found = {pk: set() for pk in claim_ids}
    for pk, other, age in subjects.annotate(
        other=overlapping_live_claims(later_only=False),
        age_number=age_number(F("training_start"), F("trainee__birth_date")),
        unusual=ExpressionWrapper(unusual_age(), output_field=BooleanField()),
    ).values_list("pk", "other__id", Case(When(unusual=True, then="age_number"))):
        if other is not None:
            found[pk].add((TRAINING_OVERLAP, other))
        if age is not None:
            found[pk].add((AGE_UNUSUAL, age // 10000))
    keys = dict(carrying_certificates(subjects).values_list("pk", "cert"))
    holders = carrying_certificates(Claim.objects.filter(status__in=LIVE).order_by())
    for other, cert in holders.filter(cert__in=set(keys.values())).values_list(
        "pk", "cert"
    ):
        for pk, key in keys.items():
            if key == cert and pk != other:
                found[pk].add((CERTIFICATE_REUSED, other, key))
    return found


def flattened(warnings):
    out = set()
    for w in warnings:
        if w.code == AGE_UNUSUAL:
            out.add(
                (
                    AGE_UNUSUAL,
                    int(w.message.split("培训开始时该人员")[1].split("周岁")[0]),
                )
            )
        for other in w.claims:
            if w.code == CERTIFICATE_REUSED:
                out.add((w.code, other, w.message.split()[1]))
            else:
                out.add((w.code, other))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_one_statement_finds_what_the_definitions_find(seed, filed, monkeypatch):
    """Random claims of four people (two of an unusual age) in every status, with
    overlapping periods and certificate numbers written in several ways: each claim's
    warnings from the statement are the definitions' own, a few claims a statement
    (the chunks' seams) as well as all at once."""
    rng = random.Random(seed)
    people = [
        TraineeFactory(id_number=make_id_number(date(y, 3, 1)))
        for y in (1950, 1980, 1990, 2010)
    ]
    trades = ["4-03-02-01", "4-07-05-01", "4-10-01-05", "4-01-06-01", "4-03-01-01"]
    claims = []
    for n in range(18):
        start = date(2020, rng.randint(1, 6), rng.randint(1, 28))
        claims.append(
            filed(
                trainee=people[n % 4],
                trade_id=trades[(n // 4) % len(trades)],
                training_start=start,
                training_end=start + timedelta(days=rng.choice([0, 20, 45])),
                certificate_number=rng.choice(["", " ", "A-1", " a-1 ", "B-2", "b-2"]),
                submit=False,
            )
        )
    statuses = sorted(set(workflow.STATUS_LABELS) | {workflow.DELETED})
    slots: dict[tuple[int, int], int] = {}
    for claim in claims:  # any status, as the rows stand (the rules are not the point)
        status = rng.choice(statuses)
        year = claim.training_end.year
        held = slots.get((claim.trainee_id, year), 0)
        if status in LIVE and held == LIMIT_SLOTS:
            status = workflow.REJECTED
        slot = held + 1 if status in LIVE else None
        if slot:
            slots[claim.trainee_id, year] = slot
        Claim.all_rows.filter(pk=claim.pk).update(
            status=status, limit_year=slot and year, limit_slot=slot
        )
    ids = [c.pk for c in claims] + [10**9]  # and one unknown
    expected = warnings_by_definitions(ids)
    assert any(expected.values())  # the draw does warn
    for size in (len(ids), 4):
        monkeypatch.setattr(claims_warnings, "CLAIMS_PER_STATEMENT", size)
        found = warnings_for_claims(ids)
        assert {pk: flattened(ws) for pk, ws in found.items()} == expected


# --- In the API's decision ------------------------------------------------------------
def test_the_dry_run_warns_of_an_overlapping_training(filed, claim_input, clerk):
    person = TraineeFactory()
    earlier = filed(trainee=person)
    response = api(clerk).post(
        "/api/claims/check/",
        body(claim_input, trainee_id=person.pk, trade_id="4-07-05-01", **MID_MARCH),
        format="json",
    )
    assert response.status_code == 200, response.content
    [warning] = response.json()["warnings"]
    assert warning["code"] == TRAINING_OVERLAP
    assert warning["claims"] == [earlier.pk]
    assert f"申报#{earlier.pk}" in warning["message"]
    # a warning does not refuse the claim
    assert response.json()["eligible"] is True


def test_create_detail_and_list_carry_the_warnings(filed, claim_input, clerk):
    first = filed(certificate_number="CERT-9")
    client = api(clerk)
    created = client.post(
        "/api/claims/",
        body(claim_input, certificate_number="cert-9", trade_id="4-07-05-01"),
        format="json",
    )
    assert created.status_code == 201, created.content
    new = created.json()["id"]
    expected = [{"code": CERTIFICATE_REUSED, "claims": [first.pk]}]

    def shape(ws):
        return [{"code": w["code"], "claims": w["claims"]} for w in ws]

    assert shape(created.json()["decision"]["warnings"]) == expected
    detail = client.get(f"/api/claims/{new}/").json()
    assert shape(detail["decision"]["warnings"]) == expected
    listed = {c["id"]: c for c in client.get("/api/claims/").json()["results"]}
    assert shape(listed[new]["decision"]["warnings"]) == expected
    # a draft is no holder of a certificate (typing one proves nothing, and would let
    # a clerk probe numbers in other units): the first claim names it once submitted
    assert listed[first.pk]["decision"]["warnings"] == []
    assert client.post(f"/api/claims/{new}/submit/").status_code == 200
    listed = {c["id"]: c for c in client.get("/api/claims/").json()["results"]}
    assert shape(listed[first.pk]["decision"]["warnings"]) == [
        {"code": CERTIFICATE_REUSED, "claims": [new]}
    ]


def test_a_draft_elsewhere_does_not_answer_whether_a_certificate_exists(
    filed, claim_input, clerk, other_clerk
):
    """The review's probe: a dry run in another unit learned of a mere draft."""
    from tests.factories import InstitutionFactory

    draft = filed(certificate_number="SECRET-777", submit=False)
    assert draft.status == "draft"
    person = TraineeFactory(registered_by_unit_id="654322")
    probe = body(
        claim_input,
        trainee_id=person.pk,
        unit_id="654322",
        institution_id=InstitutionFactory(unit_id="654322").pk,
        certificate_number="secret-777 ",
    )
    answer = api(other_clerk).post("/api/claims/check/", probe, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["warnings"] == []


def test_a_warning_names_another_units_claim_by_id_only(
    filed, claim_input, clerk, other_clerk
):
    # given another unit's claim, for another person, with the same certificate
    stranger = TraineeFactory(name="外单位学员甲", registered_by_unit_id="654322")
    theirs = filed(by=other_clerk, trainee=stranger, certificate_number="SHARED-1")
    mine = filed(certificate_number="SHARED-1")
    client = api(clerk)
    # when the clerk reads their own claim
    response = client.get(f"/api/claims/{mine.pk}/")
    # then the warning gives the other claim's id, and nothing of it
    [warning] = response.json()["decision"]["warnings"]
    assert warning["claims"] == [theirs.pk]
    text = json.dumps(response.json(), ensure_ascii=False)
    assert "外单位学员甲" not in text
    assert theirs.unit.name not in text
    assert stranger.id_number not in text
    # and the claim itself stays out of reach
    assert client.get(f"/api/claims/{theirs.pk}/").status_code == 404
