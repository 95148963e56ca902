"""The reviewer's anomaly lists, each built from claims made with services, with the
look-alikes that must *not* be listed beside them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.urls import reverse

import pytest

from claims import services
from reporting import anomalies
from tests.factories import InstitutionFactory, TraineeFactory, make_id_number
from tests.reporting.test_dashboards import file_claim

pytestmark = pytest.mark.django_db
MARCH = {"training_start": date(2020, 3, 1), "training_end": date(2020, 3, 31)}


@pytest.fixture
def filed(claim_input, clerk):
    def make(**kw):
        kw.setdefault("certificate_number", "")
        return file_claim(claim_input, clerk, **{**MARCH, **kw})

    return make


def test_one_certificate_on_two_claims_is_listed(filed, clerk):
    first = filed(certificate_number="AL-2020-0001")
    second = filed(certificate_number=" al-2020-0001 ", trade_id="4-07-05-01")
    withdrawn = filed(certificate_number="AL-2020-0001", trade_id="4-10-01-05")
    services.claim_withdraw(claim_id=withdrawn.pk, actor=clerk)
    filed(certificate_number="AL-2020-0002")
    filed()  # no certificate: never a duplicate
    filed()

    [found] = anomalies.shared_certificates()
    assert found.certificate_number == "AL-2020-0001"
    assert [c.id for c in found.claims] == [first.pk, second.pk]


def test_one_persons_overlapping_trainings_are_paired(filed, clerk):
    person = TraineeFactory()
    march = filed(trainee=person)
    mid = filed(
        trainee=person,
        trade_id="4-07-05-01",
        training_start=date(2020, 3, 15),
        training_end=date(2020, 4, 15),
    )
    filed(  # later in the year: no overlap
        trainee=person,
        trade_id="4-10-01-05",
        training_start=date(2020, 6, 1),
        training_end=date(2020, 6, 30),
    )
    other = TraineeFactory()  # another person the same weeks: not an overlap
    filed(trainee=other)

    [pair] = anomalies.overlapping_trainings()
    assert (pair.trainee_id, pair.first.id, pair.second.id) == (
        person.pk,
        march.pk,
        mid.pk,
    )
    assert pair.days == 17  # 15–31 March


def test_a_withdrawn_claim_overlaps_nothing(filed, clerk):
    person = TraineeFactory()
    filed(trainee=person)
    gone = filed(trainee=person, trade_id="4-07-05-01")
    services.claim_withdraw(claim_id=gone.pk, actor=clerk)
    assert anomalies.overlapping_trainings() == []


def test_an_institution_filing_many_claims_on_one_day_is_listed(filed, settings):
    settings.ANOMALY_CLAIMS_PER_DAY = 3
    busy = InstitutionFactory(unit_id="654301")
    quiet = InstitutionFactory(unit_id="654301")
    ids = [filed(institution_id=busy.pk).pk for _ in range(3)]
    filed(institution_id=quiet.pk)
    filed(institution_id=quiet.pk)

    [burst] = anomalies.claim_bursts()
    assert (burst.institution_id, burst.count) == (busy.pk, 3)
    assert burst.claim_ids == ids


def test_the_default_threshold_is_twenty_a_day(filed):
    busy = InstitutionFactory(unit_id="654301")
    for _ in range(3):
        filed(institution_id=busy.pk)
    assert anomalies.claims_per_day_threshold() == 20
    assert anomalies.claim_bursts() == []


@pytest.mark.parametrize(
    ("born", "listed", "age"),
    [
        (date(2004, 3, 2), True, 15),  # one day short of 16 on 1 March 2020
        (date(2004, 3, 1), False, 16),
        (date(1955, 3, 1), False, 65),
        (date(1954, 3, 1), True, 66),
    ],
)
def test_age_at_the_start_of_training_outside_16_to_65(filed, born, listed, age):
    person = TraineeFactory(id_number=make_id_number(born))
    claim = filed(trainee=person)
    found = anomalies.age_outliers()
    assert [(a.claim.id, a.age) for a in found] == ([(claim.pk, age)] if listed else [])


def test_a_draft_is_not_an_age_outlier(filed):
    filed(
        trainee=TraineeFactory(id_number=make_id_number(date(2010, 1, 1))), submit=False
    )
    assert anomalies.age_outliers() == []


def test_one_phone_number_on_three_people_is_listed(filed):
    shared = [TraineeFactory(phone="13999990001") for _ in range(3)]
    TraineeFactory(phone="13999990002")
    TraineeFactory(phone="13999990002")  # two people: below the threshold
    claim = filed(trainee=shared[0])

    [found] = anomalies.shared_phones()
    assert found.phone == "13999990001"
    assert [p.id for p in found.trainees] == [t.pk for t in shared]
    assert found.trainees[0].claim_ids == [claim.pk]
    assert found.trainees[1].claim_ids == []


def test_all_lists_together(filed):
    filed(certificate_number="X-1")
    filed(certificate_number="X-1", amount_requested=Decimal("1700.00"))
    found = anomalies.anomalies()
    assert (len(found.certificates), found.total) == (1, 1)


# --- One sign-in sheet on claims of different classes (issue 16) ------------------------
def _sheet(claim, clerk, colour=(0, 0, 0)):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (12, 8), colour).save(out, format="PNG")
    return services.claim_attach_document(
        claim_id=claim.pk,
        kind="attendance",
        upload=SimpleUploadedFile("签到表.png", out.getvalue()),
        actor=clerk,
    )


def test_one_sign_in_sheet_on_claims_of_two_classes_is_listed(
    filed, clerk, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    april = {"training_start": date(2020, 4, 1), "training_end": date(2020, 4, 30)}
    march_class = [filed(), filed()]  # one class: the same institution and period
    other_class = filed(**april)
    for claim in march_class:
        _sheet(claim, clerk)
    assert anomalies.shared_sign_in_sheets() == []  # one class shares its sheet
    sheet = _sheet(other_class, clerk)  # the same file for another period
    _sheet(filed(**april), clerk, colour=(9, 9, 9))  # another sheet: not listed
    (found,) = anomalies.shared_sign_in_sheets()
    assert found.sha256 == sheet.sha256
    assert sorted(c.id for c in found.claims) == sorted(
        [*(c.pk for c in march_class), other_class.pk]
    )
    assert anomalies.anomalies().total == 1


def _class_sheet(sha256, clerk, institution, *, claim=None, status="completed"):
    """A class's sign-in sheet of this SHA-256 (its session's upload), the class of
    program 9 at ``institution`` in March 2020; ``claim``: one its completion made."""
    from claims.models import Document
    from classes.models import ClassDocument, RosterLine, TrainingClass

    cls = TrainingClass.objects.create(
        institution=institution,
        program_id=9,
        unit_id="654301",
        planned_start=MARCH["training_start"],
        planned_end=MARCH["training_end"],
        hours=100,
        location="阿勒泰市职业技能培训中心",
        status=status,
        created_by=clerk,
    )
    document = Document.objects.create(
        unit_id="654301",
        kind="attendance",
        content_type="image/png",
        sha256=sha256,
        size=1,
        stored_as=f"documents/class-{cls.pk}.png",
        uploaded_by=clerk,
    )
    ClassDocument.objects.create(training_class=cls, document=document)
    if claim is not None:
        RosterLine.objects.create(
            training_class=cls, trainee=claim.trainee, claim=claim
        )
    return cls


def test_a_class_s_sign_in_sheet_on_a_claim_typed_by_hand_is_listed(
    filed, clerk, settings, tmp_path
):
    """The same file as a class's sign-in sheet and as the sheet of a claim typed by
    hand: the hand claim's attendance was not signed there. A claim the class's own
    completion made may carry the class's sheet."""
    settings.MEDIA_ROOT = tmp_path
    own = filed()
    sheet = _sheet(own, clerk)
    cls = _class_sheet(sheet.sha256, clerk, own.institution, claim=own)
    assert anomalies.shared_sign_in_sheets() == []  # the class's own claim
    by_hand = filed(training_start=date(2020, 4, 1), training_end=date(2020, 4, 30))
    hand_sheet = _sheet(by_hand, clerk)

    (found,) = anomalies.shared_sign_in_sheets()

    assert found.sha256 == hand_sheet.sha256 == sheet.sha256
    assert found.classes == [cls.pk]
    assert sorted(c.id for c in found.claims) == sorted([own.pk, by_hand.pk])
    page = anomalies.anomalies()
    assert page.total == 1
    # a cancelled class's sheet counts for nothing
    from classes.models import TrainingClass

    TrainingClass.objects.filter(pk=cls.pk).update(status="cancelled")
    (found,) = anomalies.shared_sign_in_sheets()  # still two periods of claims
    assert found.classes == []


def test_only_a_class_and_a_hand_claim_share_a_sheet(
    filed, clerk, reviewer, client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    by_hand = filed()
    sheet = _sheet(by_hand, clerk)
    assert anomalies.shared_sign_in_sheets() == []
    cls = _class_sheet(sheet.sha256, clerk, by_hand.institution)

    (found,) = anomalies.shared_sign_in_sheets()

    assert (found.classes, [c.id for c in found.claims]) == ([cls.pk], [by_hand.pk])
    client.force_login(reviewer)
    page = client.get(reverse("dashboards:anomalies")).content.decode()
    card = page[page.index('data-testid="anomaly-sign-in-sheets"') :]
    assert f'<a href="/classes/{cls.pk}/">培训班#{cls.pk}</a>的签到表' in card


def test_a_withdrawn_claims_sheet_is_not_listed(filed, clerk, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    first = filed()
    second = filed(training_start=date(2020, 4, 1), training_end=date(2020, 4, 30))
    _sheet(first, clerk)
    _sheet(second, clerk)
    assert len(anomalies.shared_sign_in_sheets()) == 1
    services.claim_withdraw(claim_id=second.pk, actor=clerk)
    assert anomalies.shared_sign_in_sheets() == []
