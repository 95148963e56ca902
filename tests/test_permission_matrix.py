"""Permission matrix: every route × role, on objects of unit 654301.

The routes come from the URL resolver, so a new endpoint without an entry in
``MATRIX`` fails ``test_every_route_has_an_entry``. Roles: anonymous, the clerk of
the objects' unit (654301), a clerk of another unit (654322, for whom the objects
are another unit's: a 404), the prefecture reviewer, finance, the auditor and the
administrator; and the staff of the training institution whose class the world holds
(``institution_staff``, issue 16: ``STAFF``, one answer per route).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import TestCase
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

import pytest
from captcha.models import CaptchaStore
from PIL import Image

from accounts.models import Role, User
from accounts.services import role_change_propose
from claims import services as claim_services
from claims.confirmations import code_for, confirmation_answer
from claims.models import Claim, TraineeConfirmation, TraineeGrievance
from classes import services as class_services
from finance import payouts, services
from finance.models import BankTemplate, Recovery
from quarters import services as quarter_services
from quarters.models import Objection
from tests.bank_run import CSV_TEMPLATE, card, give_account
from tests.class_run import claim_through_class
from tests.conftest import (
    as_in_a_test,
    claim_input_of,
    make_administrator,
    make_auditor,
    make_finance,
    make_institution,
    make_reviewer,
    make_trainee,
)
from tests.factories import InstitutionFactory, TraineeFactory, UserFactory
from tests.quarter_run import run_quarter
from trainees.models import Trainee
from trainees.services import trainee_found

pytestmark = pytest.mark.django_db


#: A small PNG (an evidence document for the download route).
def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 0, 0)).save(out, format="PNG")
    return out.getvalue()


ROLES = ("anon", "clerk", "other_clerk", "reviewer", "finance", "auditor", "admin")
#: The institution's staff (issue 16): answered apart (``STAFF``) so the table above
#: keeps its shape.
STAFF_ROLE = "staff"
SKIP_PREFIXES = ("admin/", "static/", "media/")


def resolver_routes() -> set[str]:
    def walk(patterns: Any, prefix: str) -> Any:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, route)
            elif isinstance(p, URLPattern):
                yield route

    return {
        r
        for r in walk(get_resolver().url_patterns, "")
        if not r.startswith(SKIP_PREFIXES) and r != "api/^.*$"
    }


#: Anonymous on a page: a redirect to the login page.
LOGIN = "login"
#: Allowed past the permission check: done, redirected, or refused on the body or
#: the object's state (empty or minimal bodies are sent).
PASS = frozenset({200, 201, 302, 400, 409})

#: Actions are tried with POST; every other route with GET.
POST_ROUTES = {
    "accounts/logout/",
    "dashboards/anomalies/refresh/",
    "accounts/role-changes/<int:pk>/cancel/",
    "accounts/role-changes/<int:pk>/confirm/",
    "api/auth/logout/",
    "api/auth/token/",
    "api/claims/<int:pk>/approve/",
    "api/claims/<int:pk>/documents/",
    "api/claims/<int:pk>/reject/",
    "api/claims/<int:pk>/return/",
    "api/claims/<int:pk>/submit/",
    "api/claims/<int:pk>/withdraw/",
    "api/claims/approve-bulk/",
    "api/claims/check/",
    "api/classes/<int:pk>/accept/",
    "api/classes/<int:pk>/advance/",
    "api/classes/<int:pk>/cancel/",
    "api/classes/<int:pk>/complete/",
    "api/classes/<int:pk>/file/",
    "api/classes/<int:pk>/return/",
    "api/classes/<int:pk>/sessions/",
    "api/classes/<int:pk>/start/",
    "api/classes/<int:pk>/documents/",
    "classes/<int:pk>/accept/",
    "classes/<int:pk>/cancel/",
    "classes/<int:pk>/complete/import/",
    "classes/<int:pk>/documents/",
    "classes/<int:pk>/file/",
    "classes/<int:pk>/return/",
    "classes/<int:pk>/sessions/",
    "classes/<int:pk>/start/",
    "api/institutions/<int:pk>/admit/",
    "api/recoveries/<int:pk>/settle/",
    "api/reports/<int:pk>/close/",
    "api/reports/<int:pk>/discard/",
    "api/reports/<int:pk>/submit/",
    "api/spot-checks/<int:pk>/",
    "claims/<int:pk>/check/",
    "claims/<int:pk>/review/",
    "claims/<int:pk>/submit/",
    "claims/<int:pk>/withdraw/",
    "claims/<int:pk>/delete/",
    "claims/<int:pk>/documents/",
    "claims/check/",
    "claims/trainee/",
    "claims/register-trainee/",
    "claims/import/<str:token>/save/",
    "finance/payments/",
    "finance/classes/<int:pk>/advance/",
    "finance/recoveries/<int:pk>/settle/",
    "finance/batches/build/",
    "finance/batches/<int:pk>/sent/",
    "finance/batches/<int:pk>/cancel/",
    "finance/batches/<int:pk>/result/",
    "finance/accounts/propose/",
    "finance/accounts/<int:pk>/confirm/",
    "finance/accounts/<int:pk>/refuse/",
    "api/payment-batches/",
    "api/payment-batches/<int:pk>/sent/",
    "api/payment-batches/<int:pk>/result/",
    "reports/<int:pk>/approve/",
    "reports/<int:pk>/close/",
    "reports/<int:pk>/discard/",
    "reports/<int:pk>/spot-checks/",
    "reports/<int:pk>/submit/",
    "reports/build/",
    "reports/spot-checks/<int:pk>/",
    "rollups/request/",
    "trainees/<int:pk>/id-number/",
    "trainees/register/",
    "api/trainees/<int:pk>/id-number/",
    "api/trainee-grievances/<int:pk>/finding/",
    "grievances/<int:pk>/finding/",
    "api/public/objections/",
    "api/objections/<int:pk>/finding/",
}
#: Tried with PUT (a JSON body from ``BODIES``).
PUT_ROUTES = {"api/classes/<int:pk>/roster/"}
#: route -> the answer for (anon, clerk, other_clerk, reviewer, finance, auditor, admin).
MATRIX: dict[str, tuple[Any, ...]] = {
    "": (LOGIN, 200, 200, 200, 200, 200, 200),
    "accounts/login/": (200, 302, 302, 302, 302, 302, 302),
    "accounts/logout/": (302, 302, 302, 302, 302, 302, 302),
    "accounts/password/change/": (LOGIN, 200, 200, 200, 200, 200, 200),
    "accounts/password/change/done/": (LOGIN, 200, 200, 200, 200, 200, 200),
    # role changes: administrators propose and confirm (never their own), the auditor reads
    "accounts/role-changes/": (LOGIN, 403, 403, 403, 403, 200, 200),
    "accounts/role-changes/propose/": (LOGIN, 403, 403, 403, 403, 403, 200),
    "accounts/role-changes/<int:pk>/cancel/": (LOGIN, 403, 403, 403, 403, 403, PASS),
    "accounts/role-changes/<int:pk>/confirm/": (LOGIN, 403, 403, 403, 403, 403, PASS),
    "api/advances/": (401, 403, 403, 403, 200, 200, 403),
    # a session is no token to end: 401 for everyone (tests/accounts/test_token_lifecycle)
    "api/auth/logout/": (401, 401, 401, 401, 401, 401, 401),
    "api/auth/token/": (PASS, PASS, PASS, PASS, PASS, PASS, PASS),
    "api/claims/": (401, 200, 200, 200, 200, 200, 200),
    "api/claims/<int:pk>/": (401, 200, 404, 200, 200, 200, 404),
    "api/claims/<int:pk>/approve/": (401, 403, 404, PASS, 403, 403, 404),
    "api/claims/<int:pk>/events/": (401, 200, 404, 200, 200, 200, 404),
    # evidence (issue 16): the unit's clerk uploads (a body without a file: 400, after
    # the scope and the role); everyone who sees the claim downloads, audited
    "api/claims/<int:pk>/documents/": (401, 400, 404, 403, 403, 403, 404),
    "api/documents/<int:pk>/": (401, 200, 404, 200, 200, 200, 404),
    "api/claims/<int:pk>/payments/": (401, 200, 404, 200, 200, 200, 404),
    "api/claims/<int:pk>/reject/": (401, 403, 404, PASS, 403, 403, 404),
    "api/claims/<int:pk>/return/": (401, 403, 404, PASS, 403, 403, 404),
    "api/claims/<int:pk>/submit/": (401, PASS, 404, 403, 403, 403, 404),
    "api/claims/<int:pk>/withdraw/": (401, PASS, 404, 403, 403, 403, 404),
    "api/claims/approve-bulk/": (401, 400, 400, PASS, 400, 400, 400),
    "api/claims/check/": (401, PASS, PASS, PASS, PASS, PASS, PASS),
    # training classes (issue 16), on a class the institution's staff filed: drafted
    # by the institution or the unit's clerk, decided by the unit's clerk; read by the
    # prefecture; another unit's clerk and the administrator find nothing (404)
    "api/classes/": (401, 200, 200, 200, 200, 200, 200),
    "api/classes/<int:pk>/": (401, 200, 404, 200, 200, 200, 404),
    "api/classes/<int:pk>/roster/": (401, PASS, 404, 403, 403, 403, 404),
    "api/classes/<int:pk>/file/": (401, PASS, 404, 403, 403, 403, 404),
    "api/classes/<int:pk>/accept/": (401, 200, 404, 403, 403, 403, 404),
    "api/classes/<int:pk>/return/": (401, 200, 404, 403, 403, 403, 404),
    "api/classes/<int:pk>/start/": (401, PASS, 404, 403, 403, 403, 404),
    "api/classes/<int:pk>/cancel/": (401, 200, 404, 403, 403, 403, 404),
    "api/classes/<int:pk>/sessions/": (401, PASS, 404, 403, 403, 403, 404),
    "api/classes/<int:pk>/complete/": (401, PASS, 404, 403, 403, 403, 404),
    # a class's evidence: its drafting side uploads (no file: 400, after the scope and
    # the role); downloads are api/documents/ in the class's scope
    "api/classes/<int:pk>/documents/": (401, 400, 404, 403, 403, 403, 404),
    # the class pages (issue 16): the same answers as the API's, as pages
    "classes/": (LOGIN, 200, 200, 200, 200, 200, 403),
    "classes/new/": (LOGIN, 200, 200, 403, 403, 403, 403),
    "classes/<int:pk>/": (LOGIN, 200, 404, 200, 200, 200, 404),
    # the class's slips (issue 17): whoever sees the class prints them
    "classes/<int:pk>/confirmation-slips/": (LOGIN, 200, 404, 200, 200, 200, 404),
    "classes/<int:pk>/roster/": (LOGIN, PASS, 404, 403, 403, 403, 404),
    "classes/<int:pk>/file/": (LOGIN, PASS, 404, 403, 403, 403, 404),
    "classes/<int:pk>/accept/": (LOGIN, 302, 404, 403, 403, 403, 404),
    "classes/<int:pk>/return/": (LOGIN, 302, 404, 403, 403, 403, 404),
    "classes/<int:pk>/start/": (LOGIN, PASS, 404, 403, 403, 403, 404),
    "classes/<int:pk>/cancel/": (LOGIN, 302, 404, 403, 403, 403, 404),
    "classes/<int:pk>/sessions/": (LOGIN, PASS, 404, 403, 403, 403, 404),
    "classes/<int:pk>/documents/": (LOGIN, 400, 404, 403, 403, 403, 404),
    "classes/<int:pk>/complete/": (LOGIN, PASS, 404, 403, 403, 403, 404),
    "classes/<int:pk>/complete/import/": (LOGIN, PASS, 404, 403, 403, 403, 404),
    # a class's advance (五(二)): finance only, whatever the class (the class here is
    # filed, not running: 409); every other role 403 before the body or the class
    "api/classes/<int:pk>/advance/": (401, 403, 403, 403, PASS, 403, 403),
    "api/docs/": (200, 200, 200, 200, 200, 200, 200),
    "api/institutions/": (401, 200, 200, 200, 200, 200, 200),
    # 七(三): a clerk proposes a provider, an administrator (not the proposer) admits it
    "api/institutions/<int:pk>/admit/": (401, 403, 403, 403, 403, 403, 200),
    "api/levels/": (401, 200, 200, 200, 200, 200, 200),
    "api/notifications/": (401, 200, 200, 200, 200, 200, 200),
    "api/payments/": (401, 403, 403, 200, 200, 200, 403),
    "api/programs/": (401, 200, 200, 200, 200, 200, 200),
    # issue 13: every signed-in user reads the dated policy; only an administrator
    # enters it (POST: tests/claims/test_plan_and_uplift.py)
    "api/policy-entries/": (401, 200, 200, 200, 200, 200, 200),
    "api/public/disclosure/": (200, 200, 200, 200, 200, 200, 200),
    # the trainee's confirmation (issue 17): no login; the matrix's code is no code
    "api/confirmations/<str:code>/": (404, 404, 404, 404, 404, 404, 404),
    "t/<str:code>/": (404, 404, 404, 404, 404, 404, 404),
    "claims/<int:pk>/confirmation-slip/": (LOGIN, 200, 404, 200, 200, 200, 404),
    # a trainee's "not me": the unit's clerk or the reviewer records the finding — not
    # this clerk, who made the claim (maker ≠ checker; another clerk of the unit may:
    # tests/claims/test_confirmations.py)
    # … and the auditor reads them (a newcomer's review: it was refused)
    "api/trainee-grievances/": (401, 200, 200, 200, 403, 200, 403),
    "api/trainee-grievances/<int:pk>/finding/": (401, 403, 404, PASS, 403, 403, 403),
    "grievances/": (LOGIN, 200, 200, 200, 403, 200, 403),
    "grievances/<int:pk>/finding/": (LOGIN, 403, 404, PASS, 403, 403, 403),
    # the public notice (issue 17): read by anyone; an objection without a body is 400
    # for anyone (no login, no role); the outcome by its reference code
    "api/public/notices/": (200, 200, 200, 200, 200, 200, 200),
    "api/public/challenge/": (200, 200, 200, 200, 200, 200, 200),
    "api/public/objections/": (400, 400, 400, 400, 400, 400, 400),
    "api/public/objections/<str:reference>/": (200, 200, 200, 200, 200, 200, 200),
    # objections and findings: read by the unit's clerk and the prefecture; found by
    # the unit's clerk or the reviewer (another unit's clerk finds nothing: 404) — not
    # this clerk, who made the claim objected to (maker ≠ checker; another clerk of the
    # unit may: tests/quarters/test_public_notice.py)
    "api/objections/": (401, 200, 200, 200, 200, 200, 403),
    "api/objections/<int:pk>/finding/": (401, 403, 404, 200, 403, 403, 403),
    "api/public/institutions/": (200, 200, 200, 200, 200, 200, 200),
    "api/public/programs/": (200, 200, 200, 200, 200, 200, 200),
    "api/recoveries/": (401, 403, 403, 403, 200, 200, 403),
    "api/recoveries/<int:pk>/settle/": (401, 403, 403, 403, PASS, 403, 403),
    "api/bank-templates/": (401, 403, 403, 403, 200, 403, 200),
    "api/payment-batches/": (401, 403, 403, 403, PASS, 403, 403),
    "api/payment-batches/<int:pk>/file/": (401, 403, 403, 403, 200, 200, 403),
    "api/payment-batches/<int:pk>/sent/": (401, 403, 403, 403, 200, 403, 403),
    "api/payment-batches/<int:pk>/result/": (401, 403, 403, 403, 400, 403, 403),
    "api/redoc/": (200, 200, 200, 200, 200, 200, 200),
    # ReDoc's bundle, served here with its logo replaced (issue 15, 12)
    "api/redoc/redoc.standalone.js": (200, 200, 200, 200, 200, 200, 200),
    # the site's icon, which browsers ask for on their own: a redirect to the static file
    "favicon.ico": (302, 302, 302, 302, 302, 302, 302),
    "api/reports/": (401, 200, 200, 200, 200, 200, 200),
    "api/reports/<int:pk>/": (401, 200, 404, 200, 200, 200, 404),
    "api/reports/<int:pk>/close/": (401, 403, 404, PASS, 403, 403, 404),
    "api/reports/<int:pk>/discard/": (401, PASS, 404, 403, 403, 403, 404),
    "api/reports/<int:pk>/spot-checks/": (401, 200, 404, 200, 200, 200, 404),
    "api/reports/<int:pk>/submit/": (401, PASS, 404, 403, 403, 403, 404),
    "api/rollups/": (401, 200, 200, 200, 200, 200, 200),
    "api/rollups/<int:pk>/": (401, 404, 404, 200, 200, 200, 404),
    "api/rollups/<int:pk>/xlsx/": (401, 404, 404, 200, 200, 200, 404),
    "api/schema/": (200, 200, 200, 200, 200, 200, 200),
    "api/spot-checks/<int:pk>/": (401, 403, 403, PASS, 403, 403, 403),
    "api/trades/": (401, 200, 200, 200, 200, 200, 200),
    "api/trainees/": (401, 400, 400, 400, 400, 400, 400),
    # by id the other unit's clerk opens nobody (issue 14, 3): they find a person by the
    # full ID number and read the limited view; the prefecture reads every record
    "api/trainees/<int:pk>/": (401, 200, 404, 200, 200, 200, 200),
    # the audited full ID number: the unit's clerk, reviewer, finance, auditor
    "api/trainees/<int:pk>/id-number/": (401, 200, 404, 200, 200, 200, 403),
    "api/units/": (401, 200, 200, 200, 200, 200, 200),
    "claims/": (LOGIN, 200, 200, 200, 200, 200, 200),
    "claims/<int:pk>/": (LOGIN, 200, 404, 200, 200, 200, 404),
    "claims/<int:pk>/check/": (LOGIN, PASS, 404, 403, 403, 403, 403),
    "claims/<int:pk>/edit/": (LOGIN, 200, 404, 403, 403, 403, 404),
    "claims/<int:pk>/review/": (LOGIN, 403, 404, PASS, 403, 403, 404),
    "claims/<int:pk>/submit/": (LOGIN, PASS, 404, 403, 403, 403, 404),
    "claims/<int:pk>/withdraw/": (LOGIN, PASS, 404, 403, 403, 403, 404),
    # 删除草稿 (issue 15, item 4): the clerk of the draft's unit only
    "claims/<int:pk>/delete/": (LOGIN, 302, 404, 403, 403, 403, 404),
    # the claim page's upload form (issue 16): the clerk of the claim's unit
    "claims/<int:pk>/documents/": (LOGIN, 400, 404, 403, 403, 403, 404),
    # the claim form's registration in place (issue 15, item 3): the clerks
    "claims/trainee/": (LOGIN, 200, 200, 403, 403, 403, 403),
    "claims/register-trainee/": (LOGIN, 400, 400, 403, 403, 403, 403),
    "claims/check/": (LOGIN, PASS, PASS, 403, 403, 403, 403),
    "claims/import/": (LOGIN, 200, 200, 403, 403, 403, 403),
    "claims/import/<str:token>/": (LOGIN, 404, 404, 403, 403, 403, 403),
    "claims/import/<str:token>/result.xlsx": (LOGIN, 404, 404, 403, 403, 403, 403),
    "claims/import/<str:token>/progress/": (LOGIN, 404, 404, 403, 403, 403, 403),
    "claims/import/<str:token>/save/": (LOGIN, 404, 404, 403, 403, 403, 403),
    "claims/import/template.xlsx": (LOGIN, 200, 200, 403, 403, 403, 403),
    "claims/new/": (LOGIN, 200, 200, 403, 403, 403, 403),
    "dashboards/": (LOGIN, 302, 302, 302, 302, 302, 403),
    "dashboards/anomalies/": (LOGIN, 403, 403, 200, 403, 200, 403),
    # the reviewer asks for the lists again; the auditor reads them only (issue 20)
    "dashboards/anomalies/refresh/": (LOGIN, 403, 403, 302, 403, 403, 403),
    "dashboards/budgets/": (LOGIN, 403, 403, 403, 200, 403, 403),
    "dashboards/finance/": (LOGIN, 403, 403, 200, 200, 200, 403),
    "dashboards/prefecture/": (LOGIN, 403, 403, 200, 403, 200, 403),
    "dashboards/review/<int:year>.xlsx": (LOGIN, 403, 403, 200, 200, 200, 403),
    "dashboards/review/<int:year>/": (LOGIN, 403, 403, 200, 200, 200, 403),
    "dashboards/review/<int:year>/<str:code>/": (LOGIN, 200, 404, 200, 200, 200, 403),
    "dashboards/unit/": (LOGIN, 200, 200, 200, 200, 200, 403),
    "finance/": (LOGIN, 403, 403, 403, 200, 200, 403),
    "finance/payments/": (LOGIN, 403, 403, 403, PASS, 403, 403),
    "finance/classes/<int:pk>/advance/": (LOGIN, 403, 403, 403, PASS, 403, 403),
    "finance/recoveries/<int:pk>/settle/": (LOGIN, 403, 403, 403, PASS, 403, 403),
    # the bank loop (issue 18): batches and reconciliation for finance (the auditor
    # reads), account changes entered by a clerk or finance, confirmed by finance
    "finance/batches/": (LOGIN, 403, 403, 403, 200, 200, 403),
    "finance/batches/build/": (LOGIN, 403, 403, 403, PASS, 403, 403),
    "finance/batches/<int:pk>/": (LOGIN, 403, 403, 403, 200, 200, 403),
    "finance/batches/<int:pk>/download/": (LOGIN, 403, 403, 403, 200, 200, 403),
    "finance/batches/<int:pk>/sent/": (LOGIN, 403, 403, 403, PASS, 403, 403),
    "finance/batches/<int:pk>/cancel/": (LOGIN, 403, 403, 403, PASS, 403, 403),
    "finance/batches/<int:pk>/result/": (LOGIN, 403, 403, 403, PASS, 403, 403),
    "finance/accounts/": (LOGIN, 200, 200, 403, 200, 200, 403),
    "finance/accounts/propose/": (LOGIN, PASS, PASS, 403, PASS, 403, 403),
    "finance/accounts/<int:pk>/confirm/": (LOGIN, 403, 403, 403, PASS, 403, 403),
    "finance/accounts/<int:pk>/refuse/": (LOGIN, 403, 403, 403, PASS, 403, 403),
    "rollups/<int:pk>/reconciliation/": (LOGIN, 403, 403, 403, 200, 200, 403),
    "rollups/<int:pk>/reconciliation/xlsx/": (LOGIN, 403, 403, 403, 200, 200, 403),
    "public/disclosure/": (200, 200, 200, 200, 200, 200, 200),
    "public/notices/": (200, 200, 200, 200, 200, 200, 200),
    "public/notices/<int:pk>/": (200, 200, 200, 200, 200, 200, 200),
    "public/notices/<int:pk>/lines/<int:line>/objection/": (
        200,
        200,
        200,
        200,
        200,
        200,
        200,
    ),
    "public/objections/": (200, 200, 200, 200, 200, 200, 200),
    "reports/objections/": (LOGIN, 200, 200, 200, 200, 200, 403),
    # the challenge's pictures (django-simple-captcha): anyone; no sound generator is
    # installed (404), and a new challenge is drawn only for a script's request (404)
    r"captcha/image/(?P<key>\w+)/$": (200, 200, 200, 200, 200, 200, 200),
    r"captcha/image/(?P<key>\w+)@2/$": (200, 200, 200, 200, 200, 200, 200),
    r"captcha/audio/(?P<key>\w+).wav$": (404, 404, 404, 404, 404, 404, 404),
    "captcha/refresh/$": (404, 404, 404, 404, 404, 404, 404),
    "public/institutions/": (200, 200, 200, 200, 200, 200, 200),
    "public/programs/": (200, 200, 200, 200, 200, 200, 200),
    "reports/": (LOGIN, 200, 200, 200, 200, 200, 403),
    "reports/<int:pk>/": (LOGIN, 200, 404, 200, 200, 200, 403),
    "reports/<int:pk>/approve/": (LOGIN, 403, 404, PASS, 403, 403, 404),
    "reports/<int:pk>/close/": (LOGIN, 403, 404, PASS, 403, 403, 404),
    "reports/<int:pk>/discard/": (LOGIN, PASS, 404, 403, 403, 403, 404),
    "reports/<int:pk>/spot-checks/": (LOGIN, 403, 404, PASS, 403, 403, 404),
    "reports/<int:pk>/submit/": (LOGIN, PASS, 404, 403, 403, 403, 404),
    "reports/build/": (LOGIN, PASS, PASS, 403, 403, 403, 403),
    "reports/spot-checks/<int:pk>/": (LOGIN, 403, 403, PASS, 403, 403, 403),
    "rollups/<int:pk>/": (LOGIN, 404, 404, 200, 200, 200, 404),
    "rollups/<int:pk>/claims/<int:claim_id>/": (LOGIN, 404, 404, 200, 200, 200, 404),
    "rollups/<int:pk>/progress/": (LOGIN, 404, 404, 200, 200, 200, 404),
    "rollups/request/": (LOGIN, 403, 403, PASS, 403, 403, 403),
    "trainees/": (LOGIN, 200, 200, 200, 200, 200, 200),
    "trainees/<int:pk>/": (LOGIN, 200, 404, 200, 200, 200, 200),
    # a person's facts: the clerk of the person's unit and the prefecture, never the admin
    "trainees/<int:pk>/edit/": (LOGIN, 200, 404, 200, 403, 403, 403),
    "trainees/<int:pk>/id-number/": (LOGIN, 200, 404, 200, 200, 200, 403),
    "trainees/register/": (LOGIN, PASS, PASS, PASS, PASS, PASS, PASS),
}

#: route -> the answer for the training institution's staff (issue 16): their own
#: institution's classes (drafting, roster, filing, starting, sessions; never accepting,
#: returning or completing), the reference data and public pages; no claim, report,
#: person, dashboard or money page (lists empty, records 404, pages 403).
STAFF: dict[str, Any] = {
    # their landing page is their class list (issue 16)
    "": 302,
    # a claim's documents are the claim's: the staff see no claim (issue 16)
    "api/claims/<int:pk>/documents/": 404,
    "api/documents/<int:pk>/": 404,
    # the trainee's confirmation (issue 17): the staff see no claim nor grievance
    "api/confirmations/<str:code>/": 404,
    "t/<str:code>/": 404,
    "claims/<int:pk>/confirmation-slip/": 404,
    "api/trainee-grievances/": 403,
    "api/trainee-grievances/<int:pk>/finding/": 403,
    "grievances/": 403,
    "grievances/<int:pk>/finding/": 403,
    "claims/<int:pk>/documents/": 404,
    "accounts/login/": 302,
    "accounts/logout/": 302,
    "accounts/password/change/": 200,
    "accounts/password/change/done/": 200,
    "accounts/role-changes/": 403,
    "accounts/role-changes/<int:pk>/cancel/": 403,
    "accounts/role-changes/<int:pk>/confirm/": 403,
    "accounts/role-changes/propose/": 403,
    "api/advances/": 403,
    "api/auth/logout/": 401,
    "api/auth/token/": PASS,
    "api/claims/": 200,
    "api/claims/<int:pk>/": 404,
    "api/claims/<int:pk>/approve/": 404,
    "api/claims/<int:pk>/events/": 404,
    "api/claims/<int:pk>/payments/": 404,
    "api/claims/<int:pk>/reject/": 404,
    "api/claims/<int:pk>/return/": 404,
    "api/claims/<int:pk>/submit/": 404,
    "api/claims/<int:pk>/withdraw/": 404,
    "api/claims/approve-bulk/": PASS,
    "api/claims/check/": PASS,
    "api/classes/": 200,
    "api/classes/<int:pk>/": 200,
    "api/classes/<int:pk>/accept/": 403,
    "api/classes/<int:pk>/advance/": 403,
    "api/classes/<int:pk>/cancel/": 200,
    "api/classes/<int:pk>/complete/": 403,
    "api/classes/<int:pk>/file/": PASS,
    "api/classes/<int:pk>/return/": 403,
    "api/classes/<int:pk>/roster/": PASS,
    "api/classes/<int:pk>/sessions/": PASS,
    "api/classes/<int:pk>/start/": PASS,
    "api/classes/<int:pk>/documents/": 400,
    "classes/": 200,
    "classes/new/": 200,
    "classes/<int:pk>/": 200,
    "classes/<int:pk>/confirmation-slips/": 200,
    "classes/<int:pk>/roster/": PASS,
    "classes/<int:pk>/file/": PASS,
    "classes/<int:pk>/accept/": 403,
    "classes/<int:pk>/return/": 403,
    "classes/<int:pk>/start/": PASS,
    "classes/<int:pk>/cancel/": 302,
    "classes/<int:pk>/sessions/": PASS,
    "classes/<int:pk>/documents/": 400,
    "classes/<int:pk>/complete/": 403,
    "classes/<int:pk>/complete/import/": 403,
    "api/docs/": 200,
    "api/institutions/": 200,
    "api/institutions/<int:pk>/admit/": 403,
    "api/levels/": 200,
    "api/notifications/": 200,
    "api/payments/": 403,
    "api/policy-entries/": 200,
    "api/programs/": 200,
    "api/public/disclosure/": 200,
    "api/public/notices/": 200,
    "api/public/challenge/": 200,
    "api/public/objections/": 400,
    "api/public/objections/<str:reference>/": 200,
    "api/objections/": 403,
    "api/objections/<int:pk>/finding/": 403,
    "api/public/institutions/": 200,
    "api/public/programs/": 200,
    "api/recoveries/": 403,
    "api/recoveries/<int:pk>/settle/": 403,
    "api/redoc/": 200,
    "api/redoc/redoc.standalone.js": 200,
    "favicon.ico": 302,
    "api/reports/": 200,
    "api/reports/<int:pk>/": 404,
    "api/reports/<int:pk>/close/": 404,
    "api/reports/<int:pk>/discard/": 404,
    "api/reports/<int:pk>/spot-checks/": 404,
    "api/reports/<int:pk>/submit/": 404,
    "api/rollups/": 200,
    "api/rollups/<int:pk>/": 404,
    "api/rollups/<int:pk>/xlsx/": 404,
    "api/schema/": 200,
    "api/spot-checks/<int:pk>/": 403,
    "api/trades/": 200,
    "api/trainees/": 400,
    "api/trainees/<int:pk>/": 404,
    "api/trainees/<int:pk>/id-number/": 404,
    "api/units/": 200,
    "claims/": 200,
    "claims/<int:pk>/": 404,
    "claims/<int:pk>/check/": 403,
    "claims/<int:pk>/delete/": 404,
    "claims/<int:pk>/edit/": 404,
    "claims/<int:pk>/review/": 404,
    "claims/<int:pk>/submit/": 404,
    "claims/<int:pk>/withdraw/": 404,
    "claims/check/": 403,
    "claims/import/": 403,
    "claims/import/<str:token>/": 403,
    "claims/import/<str:token>/progress/": 403,
    "claims/import/<str:token>/result.xlsx": 403,
    "claims/import/<str:token>/save/": 403,
    "claims/import/template.xlsx": 403,
    "claims/new/": 403,
    "claims/register-trainee/": 403,
    "claims/trainee/": 403,
    "dashboards/": 403,
    "dashboards/anomalies/": 403,
    "dashboards/anomalies/refresh/": 403,
    "dashboards/budgets/": 403,
    "dashboards/finance/": 403,
    "dashboards/prefecture/": 403,
    "dashboards/review/<int:year>.xlsx": 403,
    "dashboards/review/<int:year>/": 403,
    "dashboards/review/<int:year>/<str:code>/": 403,
    "dashboards/unit/": 403,
    "finance/": 403,
    "finance/payments/": 403,
    "finance/classes/<int:pk>/advance/": 403,
    "finance/recoveries/<int:pk>/settle/": 403,
    "finance/batches/": 403,
    "finance/batches/build/": 403,
    "finance/batches/<int:pk>/": 403,
    "finance/batches/<int:pk>/download/": 403,
    "finance/batches/<int:pk>/sent/": 403,
    "finance/batches/<int:pk>/cancel/": 403,
    "finance/batches/<int:pk>/result/": 403,
    "finance/accounts/": 403,
    "finance/accounts/propose/": 403,
    "finance/accounts/<int:pk>/confirm/": 403,
    "finance/accounts/<int:pk>/refuse/": 403,
    "rollups/<int:pk>/reconciliation/": 403,
    "rollups/<int:pk>/reconciliation/xlsx/": 403,
    "api/bank-templates/": 403,
    "api/payment-batches/": 403,
    "api/payment-batches/<int:pk>/file/": 403,
    "api/payment-batches/<int:pk>/sent/": 403,
    "api/payment-batches/<int:pk>/result/": 403,
    "public/disclosure/": 200,
    "public/notices/": 200,
    "public/notices/<int:pk>/": 200,
    "public/notices/<int:pk>/lines/<int:line>/objection/": 200,
    "public/objections/": 200,
    "reports/objections/": 403,
    r"captcha/image/(?P<key>\w+)/$": 200,
    r"captcha/image/(?P<key>\w+)@2/$": 200,
    r"captcha/audio/(?P<key>\w+).wav$": 404,
    "captcha/refresh/$": 404,
    "public/institutions/": 200,
    "public/programs/": 200,
    "reports/": 403,
    "reports/<int:pk>/": 403,
    "reports/<int:pk>/approve/": 404,
    "reports/<int:pk>/close/": 404,
    "reports/<int:pk>/discard/": 404,
    "reports/<int:pk>/spot-checks/": 404,
    "reports/<int:pk>/submit/": 404,
    "reports/build/": 403,
    "reports/spot-checks/<int:pk>/": 403,
    "rollups/<int:pk>/": 404,
    "rollups/<int:pk>/claims/<int:claim_id>/": 404,
    "rollups/<int:pk>/progress/": 404,
    "rollups/request/": 403,
    "trainees/": 200,
    "trainees/<int:pk>/": 404,
    "trainees/<int:pk>/edit/": 404,
    "trainees/<int:pk>/id-number/": 404,
    "trainees/register/": PASS,
}


@pytest.fixture(scope="module")
def world_once(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any
) -> Iterator[dict[str, Any]]:
    """The world, built once for the module's 1,400 cases (each rebuilding it took a
    third of ``make test``: 1-5 s a case). It lives in a transaction of its own; each
    case's (pytest-django's, a savepoint inside this one) is rolled back after the
    case, so every case starts from the world as built; the module ends by rolling
    this one back."""
    media = tmp_path_factory.mktemp("matrix-media")
    with django_db_blocker.unblock(), as_in_a_test(MEDIA_ROOT=str(media)):
        outer = transaction.atomic()
        outer._from_testcase = True  # as TestCase's own: a durable block may open
        outer.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(world_once: dict[str, Any], db: Any, settings: Any) -> dict[str, Any]:
    settings.MEDIA_ROOT = world_once["media"]
    return world_once


def build_world() -> dict[str, Any]:
    """A closed quarter of two units, its rollup, and a recovery in unit 654301."""
    claim_input = claim_input_of(make_trainee(), make_institution())
    reviewer, finance = make_reviewer(), make_finance()
    auditor, administrator = make_auditor(), make_administrator()
    quarter = run_quarter(claim_input, reviewer)
    with TestCase.captureOnCommitCallbacks(execute=True):
        rollup = services.rollup_request(quarter="2020Q1", actor=reviewer)
    clerk = User.objects.get(username="q_clerk_a")
    other_clerk = User.objects.get(username="q_clerk_b")
    own_claim = Claim.objects.filter(unit_id="654301").order_by("pk").first()
    # a recovery: a project-based claim whose advance was paid, then rejected
    school = InstitutionFactory(unit_id="654301")
    person = TraineeFactory(groups=["poor_labour"])
    # a provider's project of program 9 comes from its class (issue 16)
    claim = claim_through_class(
        claim_input(
            trainee_id=person.pk,
            institution_id=school.pk,
            project_based=True,
            training_start=date(2020, 4, 1),
            training_end=date(2020, 4, 30),
        ),
        clerk=clerk,
    )
    claim_services.claim_submit(claim_id=claim.pk, actor=clerk)
    report = quarter_services.report_build(
        unit_id="654301", quarter="2020Q2", actor=clerk
    )
    quarter_services.report_submit(report_id=report.pk, actor=clerk)
    claim.refresh_from_db()
    services.payment_record(
        claim_id=claim.pk,
        kind="advance",
        amount=claim.advance,
        paid_on=date(2020, 5, 10),
        status="paid",
        actor=finance,
    )
    quarter_services.claim_reject(claim_id=claim.pk, actor=reviewer, reason="虚假培训")
    own_report = quarter.reports[0]
    # a training class the institution's staff drafted and filed (issue 16)
    school = InstitutionFactory(unit_id="654301")
    staff = UserFactory(
        username="matrix_staff",
        role=Role.INSTITUTION_STAFF,
        unit_id=None,
        institution=school,
    )
    soon = date.today() + timedelta(days=30)
    training_class = class_services.class_create(
        data=class_services.ClassInput(
            institution_id=school.pk,
            program_id=9,
            unit_id="654301",
            planned_start=soon,
            planned_end=soon + timedelta(days=30),
            hours=Decimal("80"),
            location="阿勒泰市",
            trade_id="4-03-02-01",
            level_id="intermediate",
            project_based=True,
        ),
        actor=staff,
    )
    trainee_found(actor=staff, trainee=person)
    class_services.class_roster_set(
        class_id=training_class.pk, trainee_ids=[person.pk], actor=staff
    )
    class_services.class_file(class_id=training_class.pk, actor=staff)
    # a draft and a submitted claim, for the actions that need them
    later = {"training_start": date(2020, 7, 1), "training_end": date(2020, 7, 31)}
    draft = claim_services.claim_create(
        data=claim_input(trainee_id=TraineeFactory().pk, **later), actor=clerk
    )
    pending = claim_services.claim_create(
        data=claim_input(trainee_id=TraineeFactory().pk, **later), actor=clerk
    )
    claim_services.claim_submit(claim_id=pending.pk, actor=clerk)
    # the pending claim's trainee said "not me" (issue 17): a grievance to find
    asked = TraineeConfirmation.objects.get(claim_id=pending.pk)
    confirmation_answer(
        code=code_for(asked),
        answer="disputed",
        id_last4=Trainee.objects.get(pk=pending.trainee_id).id_number[-4:],
    )
    # an evidence document of unit 654301's draft (issue 16)
    document = claim_services.claim_attach_document(
        claim_id=draft.pk,
        kind="attendance",
        upload=SimpleUploadedFile("sheet.png", png(), content_type="image/png"),
        actor=clerk,
    )
    # the person is unit 654301's; a role change another administrator proposed
    Trainee.objects.filter(pk=own_claim.trainee_id).update(
        registered_by_unit_id="654301"
    )
    role_change = role_change_propose(
        actor=UserFactory(username="admin2", role="administrator", is_staff=True),
        user_id=UserFactory(username="moving_user", role="finance_officer").pk,
        role="auditor",
        unit_code=None,
        reason="调任督查",
    )
    # the public notice of the quarter's report (issue 17) and an objection to its
    # first line, not yet found (before the batch, which leaves its claim out: a batch
    # holding it is not sent)
    notice = own_report.notice
    line = own_report.items.order_by("pk").first()
    objection = Objection.objects.create(
        notice=notice,
        line=line,
        claim_id=line.claim_id,
        reference="MATRIX2345AB",
        text="此人未参加培训",
        lodged_at=timezone.now(),
    )
    # a batch of the rollup's balances; an account the clerk entered (issue 18)
    for i, approved in enumerate(quarter.approved, start=1):
        give_account(approved, finance, n=i)
    batch = payouts.batch_build(
        rollup_id=rollup.pk,
        kind="balance",
        template_id=BankTemplate.objects.get(name=CSV_TEMPLATE).pk,
        actor=finance,
    )
    account_change = payouts.account_change_propose(
        actor=clerk,
        trainee_id=own_claim.trainee_id,
        bank="xjnx",
        number=card(4242),
        holder="张三",
    )
    return {
        "media": settings.MEDIA_ROOT,
        "notice": notice.pk,
        "line": line.pk,
        "objection": objection.pk,
        "reference": objection.reference,
        "captcha": CaptchaStore.generate_key(),
        "users": {
            "anon": None,
            "clerk": clerk,
            "other_clerk": other_clerk,
            "reviewer": reviewer,
            "finance": finance,
            "auditor": auditor,
            "admin": administrator,
            STAFF_ROLE: staff,
        },
        "class": training_class.pk,
        "claim": own_claim.pk,
        "draft": draft.pk,
        "pending": pending.pk,
        "report": own_report.pk,
        "spot_check": own_report.spot_checks.order_by("pk").first().pk,
        "trainee": own_claim.trainee_id,
        "rollup": rollup.pk,
        "recovery": Recovery.objects.get().pk,
        "role_change": role_change.pk,
        "batch": batch.pk,
        "account_change": account_change.pk,
        "document": document.pk,
        "grievance": TraineeGrievance.objects.get(claim_id=pending.pk).pk,
        # a provider the clerk proposed (待认定)
        "institution": InstitutionFactory(admitted=False, proposed_by=clerk).pk,
    }


def fill(route: str, w: dict[str, Any]) -> str:
    """The route with its parameters replaced by unit 654301's objects."""
    kinds = [
        ("accounts/role-changes/", "role_change"),
        ("api/trainees/", "trainee"),
        ("api/institutions/", "institution"),
        ("trainees/", "trainee"),
        ("api/claims/", "claim"),
        ("api/classes/", "class"),
        ("classes/", "class"),
        ("api/documents/", "document"),
        ("claims/<int", "claim"),
        ("api/reports/", "report"),
        ("reports/spot-checks/", "spot_check"),
        ("api/spot-checks/", "spot_check"),
        ("reports/", "report"),
        ("api/rollups/", "rollup"),
        ("rollups/", "rollup"),
        ("api/recoveries/", "recovery"),
        ("finance/recoveries/", "recovery"),
        ("finance/classes/", "class"),
        ("api/payment-batches/", "batch"),
        ("finance/batches/", "batch"),
        ("finance/accounts/", "account_change"),
        ("api/trainee-grievances/", "grievance"),
        ("grievances/", "grievance"),
        ("public/notices/", "notice"),
        ("api/objections/", "objection"),
    ]
    path = route
    if "<int:pk>" in path:
        kind = next(k for prefix, k in kinds if route.startswith(prefix))
        if kind == "claim":
            kind = CLAIM_STATE.get(route.rstrip("/").rsplit("/", 1)[-1], "claim")
        path = path.replace("<int:pk>", str(w[kind]))
    path = path.replace("<int:claim_id>", str(w["claim"]))
    path = path.replace("<int:year>", "2020").replace("<str:code>", "654301")
    path = path.replace("<str:token>", w.get("token", "nosuchtoken"))
    path = path.replace("<int:line>", str(w["line"]))
    path = path.replace("<str:reference>", w["reference"])
    path = path.replace("(?P<key>\\w+)", w["captcha"]).replace("$", "")
    return "/" + path


def method_of(route: str) -> str:
    if route in PUT_ROUTES:
        return "PUT"
    return "POST" if route in POST_ROUTES else "GET"


#: Which of unit 654301's claims an action is tried on: the one in the state it needs.
CLAIM_STATE = {
    "edit": "draft",
    "check": "draft",
    "submit": "draft",
    "withdraw": "pending",
    "delete": "draft",
    "documents": "draft",
    "approve": "pending",
    "reject": "pending",
    "return": "pending",
    "review": "pending",
}

#: A minimal valid body, so that a refusal is not hidden behind a 400.
BODIES: dict[str, dict[str, str]] = {
    "api/claims/<int:pk>/reject/": {"reason": "材料不全"},
    "api/claims/<int:pk>/return/": {"reason": "材料不全"},
    "api/classes/<int:pk>/return/": {"reason": "授课教师资质未附"},
    "api/classes/<int:pk>/cancel/": {"reason": "报名人数不足"},
    "classes/<int:pk>/return/": {"reason": "授课教师资质未附"},
    "classes/<int:pk>/cancel/": {"reason": "报名人数不足"},
    "api/classes/<int:pk>/roster/": {"trainees": []},
    "api/classes/<int:pk>/sessions/": {
        "date": "2020-01-01",
        "hours": "1",
        "present": [],
    },
    "api/classes/<int:pk>/complete/": {
        "results": [{"trainee": 1, "passed": True, "employment": "none"}]
    },
    "api/spot-checks/<int:pk>/": {"result": "consistent"},
    "api/trainees/<int:pk>/id-number/": {"reason": "核对身份证原件"},
    "trainees/<int:pk>/id-number/": {"reason": "核对身份证原件"},
    "api/institutions/<int:pk>/admit/": {"reason": "阿地人社函〔2020〕1号认定"},
    "claims/<int:pk>/review/": {"action": "reject", "reason": "材料不全"},
    "reports/spot-checks/<int:pk>/": {"result": "consistent"},
    "api/trainee-grievances/<int:pk>/finding/": {
        "outcome": "dismissed",
        "reason": "经核实本人参加",
    },
    "grievances/<int:pk>/finding/": {
        "outcome": "dismissed",
        "reason": "经核实本人参加",
    },
    "api/objections/<int:pk>/finding/": {
        "outcome": "dismissed",
        "reason": "经核实，该学员确已参加培训",
    },
}


CASES = [
    pytest.param(route, role, MATRIX[route][i], id=f"{route or '/'}-{role}")
    for route in sorted(MATRIX)
    for i, role in enumerate(ROLES)
] + [
    pytest.param(route, STAFF_ROLE, STAFF[route], id=f"{route or '/'}-{STAFF_ROLE}")
    for route in sorted(STAFF)
]


def test_every_route_has_an_entry() -> None:
    routes = resolver_routes()
    assert routes - set(MATRIX) == set(), "routes without an entry in MATRIX"
    assert set(MATRIX) - routes == set(), "stale entries in MATRIX"
    assert set(MATRIX) >= POST_ROUTES | PUT_ROUTES
    assert set(BODIES) <= POST_ROUTES | PUT_ROUTES
    assert set(STAFF) == set(MATRIX), "the institution's staff: one answer per route"


@pytest.mark.parametrize(("route", "role", "expected"), CASES)
def test_the_answer_for_each_route_and_role(
    client: Any, world: dict[str, Any], route: str, role: str, expected: Any
) -> None:
    user = world["users"][role]
    if user is not None:
        client.force_login(user)
    path = fill(route, world)
    if method_of(route) == "PUT":
        body = BODIES.get(route, {})
        response = client.put(path, body, content_type="application/json")
    elif method_of(route) == "POST":
        body = BODIES.get(route, {})
        if route.startswith("api/"):
            response = client.post(path, body, content_type="application/json")
        else:
            response = client.post(path, body)
    else:
        response = client.get(path)
    status = response.status_code
    if expected == LOGIN:
        assert status == 302, (path, status)
        assert response["Location"].startswith("/accounts/login/"), response["Location"]
    elif isinstance(expected, frozenset):
        assert status in expected, (path, status)
    else:
        assert status == expected, (path, status)


#: Methods beside a route's own (tried on unit 654301's draft): route, method -> the
#: answers for ROLES. DELETE of a claim is 删除草稿 (issue 15, item 4).
OTHER_METHODS: dict[tuple[str, str], tuple[Any, ...]] = {
    ("api/claims/<int:pk>/", "DELETE"): (401, 204, 404, 403, 403, 403, 404),
}


@pytest.mark.parametrize(
    ("route", "method", "role", "expected"),
    [
        pytest.param(route, method, role, answers[i], id=f"{method} {route}-{role}")
        for (route, method), answers in OTHER_METHODS.items()
        for i, role in enumerate(ROLES)
    ],
)
def test_the_answer_for_other_methods(
    client: Any,
    world: dict[str, Any],
    route: str,
    method: str,
    role: str,
    expected: Any,
) -> None:
    user = world["users"][role]
    if user is not None:
        client.force_login(user)
    path = "/" + route.replace("<int:pk>", str(world["draft"]))
    response = client.generic(method, path)
    assert response.status_code == expected, (path, response.status_code)
    assert response.status_code == 204 or response["Content-Type"].startswith(
        "application/json"
    )
    deleted = Claim.all_rows.get(pk=world["draft"]).status == "deleted"
    assert deleted == (expected == 204)
