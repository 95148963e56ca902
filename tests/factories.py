"""Factories for tests: valid ID numbers and credit codes by construction."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import factory

from accounts.models import Role, User
from programs.credit_codes import credit_code_check_char
from programs.models import Institution, InstitutionKind
from trainees.id_numbers import check_char
from trainees.models import Household, Trainee


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (0, 90, 0)).save(out, format="PNG")
    return out.getvalue()


#: A sign-in sheet small enough for every test that needs one (``opened_evidence``).
TINY_PNG = _tiny_png()

_serial = itertools.count(1)


def make_id_number(
    birth: date = date(1990, 5, 17),
    *,
    area: str = "654301",
    serial: int | None = None,
    sex: str = "M",
) -> str:
    """A valid GB 11643 number; ``serial`` varies the 3 order digits, ``sex`` the parity."""
    n = next(_serial) if serial is None else serial
    order = (n * 2) % 1000
    order += 1 if sex == "M" else 0
    order = min(order, 999)
    body = f"{area}{birth:%Y%m%d}{order:03d}"
    return body + check_char(body)


def make_credit_code(n: int | None = None, *, area: str = "654301") -> str:
    n = next(_serial) if n is None else n
    body = f"91{area}MA{n:07d}"[:17]
    body = body.replace("I", "1").replace("O", "0")
    return body + credit_code_check_char(body)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.COUNTY_CLERK

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or "pw-Altay-2019")
        if create:
            self.save()

    @factory.lazy_attribute
    def unit_id(self) -> str | None:  # clerks have a unit, others none
        return "654301" if self.role == Role.COUNTY_CLERK else None


class TraineeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trainee

    id_number = factory.LazyFunction(lambda: make_id_number(date(1990, 5, 17)))
    name = factory.Sequence(lambda n: f"学员{n}")
    household = Household.RURAL
    groups = factory.LazyFunction(lambda: ["poor_labour"])
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    # 五(二) the household registration's unit: where the default clerk files.
    registered_by_unit_id = "654301"


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution

    name = factory.Sequence(lambda n: f"培训学校{n}")
    kind = InstitutionKind.TRAINING_INSTITUTION
    credit_code = factory.LazyFunction(make_credit_code)
    unit_id = "654301"
    certified_difficult = False
    admitted = True  # in the catalogue of 七(三), as every row before proposals was


def past(days: int) -> date:
    return date.today() - timedelta(days=days)


def send_to_prefecture(*claims: object, sampled_by: object = None) -> object:
    """Put submitted claims into their unit's submitted quarterly report, as a clerk
    does before the prefecture reviews them (五(一)). Returns the report.

    With ``sampled_by`` (a reviewer) the report's spot checks are drawn too and every
    sampled claim found consistent (``clear_spot_checks``) — what must come before
    any approval."""
    from altay_skills.periods import quarter_of
    from claims.models import Claim
    from quarters import services as quarter_services

    first = Claim.objects.get(pk=claims[0].pk)  # type: ignore[attr-defined]
    report = quarter_services.report_build(
        unit_id=first.unit_id,
        quarter=quarter_of(first.training_end),
        actor=first.created_by,
    )
    report = quarter_services.report_submit(report_id=report.pk, actor=first.created_by)
    if sampled_by is not None:
        clear_spot_checks(report, sampled_by)
    return report


def clear_spot_checks(report: object, reviewer: object) -> object:
    """The reviewer draws the report's spot checks and finds every sampled claim's
    documents consistent: a claim is approved only after its report's draw (五(一)).
    Returns the report."""
    from quarters import services as quarter_services
    from quarters.models import SpotCheck

    report_id = report.pk  # type: ignore[attr-defined]
    quarter_services.report_draw_spot_checks(report_id=report_id, actor=reviewer)
    for pk in SpotCheck.objects.filter(report_id=report_id).values_list(
        "pk", flat=True
    ):
        quarter_services.spot_check_record(
            spot_check_id=pk,
            actor=reviewer,
            result="consistent",
            documents=opened_evidence(pk, reviewer),
        )
    return report


def sampled_evidence(spot_check_id: int) -> list[int]:
    """The ids of a sampled claim's evidence (its own and its class's documents); a
    claim with none gets a sign-in sheet from a clerk of its unit first. Files go under
    the test's MEDIA_ROOT."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from claims import services as claim_services
    from claims.models import Document
    from classes.selectors import class_documents_of_claims
    from quarters.models import SpotCheck

    claim = SpotCheck.objects.select_related("claim").get(pk=spot_check_id).claim
    ids = set(Document.objects.filter(claim_id=claim.pk).values_list("pk", flat=True))
    ids |= class_documents_of_claims([claim.pk]).get(claim.pk, set())
    if not ids:
        clerk = claim.created_by
        if not (clerk.is_clerk and clerk.unit_id == claim.unit_id):
            clerk = UserFactory(role=Role.COUNTY_CLERK, unit_id=claim.unit_id)
        ids = {
            claim_services.claim_attach_document(
                claim_id=claim.pk,
                kind="attendance",
                upload=SimpleUploadedFile("sheet.png", TINY_PNG),
                actor=clerk,
            ).pk
        }
    return sorted(ids)


def opened_evidence(spot_check_id: int, reviewer: object) -> list[int]:
    """``sampled_evidence``, each document opened by ``reviewer`` through the audited
    download: what 材料相符 stands on."""
    from claims import services as claim_services
    from claims.models import DocumentDownload

    ids = sampled_evidence(spot_check_id)
    seen = set(
        DocumentDownload.objects.filter(actor=reviewer, document__in=ids).values_list(
            "document_id", flat=True
        )
    )
    for pk in sorted(set(ids) - seen):
        _document, handle = claim_services.document_download(
            document_id=pk,
            actor=reviewer,  # type: ignore[arg-type]
        )
        handle.close()
    return ids


def county_uplift(
    unit_id: str = "654301",
    ratio: str = "0.5",
    *,
    document: str = "县(市)人社局、财政局项目制培训上浮决定（测试用）",
) -> object:
    """三(二)9 县级人社部门商同级财政部门将培训补贴标准最高再上浮50%: the county's
    decision, a dated policy entry of its unit (issue 13, 4), from the plan's start."""
    from datetime import date
    from decimal import Decimal

    from programs.models import PolicyEntry

    return PolicyEntry.objects.create(
        program_id=9,
        unit_id=unit_id,
        kind="project_uplift",
        ratio=Decimal(ratio),
        effective_from=date(2019, 1, 1),
        effective_to=date(2021, 12, 31),
        clause="三(二)9",
        source_document=document,
    )
