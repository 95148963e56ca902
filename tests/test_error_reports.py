"""Errors reach a person, masked (issue 19): a raised error goes to Sentry (SENTRY_DSN)
with no full ID number and no request body, or, without a DSN, mails the ADMINS with the
same masking."""

from __future__ import annotations

import json
import logging
import os
import subprocess  # nosec B404: the suite starts Django with its own settings
import sys
from pathlib import Path

from django.core import mail
from django.test import RequestFactory

from trainees.error_reports import MaskedAdminEmailHandler

ROOT = Path(__file__).resolve().parents[1]
NUMBER = "654301199501013773"
MASKED = "654301********3773"

SENTRY_SCRIPT = f"""
import json, os, sys, types
import sentry_sdk
from sentry_sdk.transport import Transport

events = []

class Capture(Transport):
    def capture_envelope(self, envelope):
        events.extend(i.payload.json for i in envelope.items if i.type == "event")

import trainees.error_reports as reports
real = reports.start_sentry
reports.start_sentry = lambda dsn, **kw: real(dsn, transport=Capture(), **kw)
import django
django.setup()
from django.test import Client
from django.test.utils import override_settings
from django.urls import path

def boom(request):
    raise ValueError("bad {NUMBER}")

urls = types.ModuleType("boom_urls")
urls.urlpatterns = [path("boom/", boom)]
sys.modules["boom_urls"] = urls
with override_settings(ROOT_URLCONF="boom_urls"):
    answer = Client(raise_request_exception=False).post(
        "/boom/?q={NUMBER}", {{"id_number": "{NUMBER}", "note": "secret-note"}},
        HTTP_AUTHORIZATION="Token abc",
    )
sentry_sdk.flush()
print(json.dumps({{"status": answer.status_code, "events": events}}))
"""


def test_a_raised_error_reaches_sentry_masked_and_without_the_body():
    env = {
        **os.environ,
        "DEBUG": "1",
        "SENTRY_DSN": "http://public@127.0.0.1:9/1",
        "DJANGO_SETTINGS_MODULE": "altay_skills.settings",
    }
    env.pop("DATABASE_URL", None)
    run = subprocess.run(  # nosec B603: a fixed command line
        [sys.executable, "-c", SENTRY_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["status"] == 500
    [event] = answer["events"]
    text = json.dumps(event, ensure_ascii=False)
    # the error is there, with the number masked wherever it was
    [exception] = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("ValueError", f"bad {MASKED}")
    assert NUMBER not in text
    # and nothing of the body, the cookies, the query or the credentials
    assert "secret-note" not in text
    assert "data" not in event["request"]
    assert "Token abc" not in text
    assert "user" not in event


def test_without_a_dsn_the_admins_get_a_masked_mail_without_the_body(settings):
    settings.ADMINS = [("", "it-office@altay.example.cn")]
    request = RequestFactory().post(
        f"/claims/?q={NUMBER}", {"id_number": NUMBER, "note": "secret-note"}
    )
    try:
        raise ValueError(f"bad {NUMBER}")
    except ValueError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: %s",
            (request.path,),
            sys.exc_info(),
        )
    record.request = request
    MaskedAdminEmailHandler().emit(record)
    [message] = mail.outbox
    assert message.to == ["it-office@altay.example.cn"]
    assert f"bad {MASKED}" in message.body
    assert NUMBER not in message.subject + message.body
    assert "secret-note" not in message.body


def test_the_admins_mail_is_wired_with_debug_off_and_no_dsn():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SENTRY_DSN"}} | {
        "SECRET_KEY": "x" * 50,
        "AUDIT_KEY": "k" * 32,
        "ADMINS": "it-office@altay.example.cn",
        "DJANGO_SETTINGS_MODULE": "altay_skills.settings",
    }
    code = (
        "import django; django.setup(); import logging; "
        "print([type(h).__name__ for h in logging.getLogger().handlers])"
    )
    run = subprocess.run(  # nosec B603: a fixed command line
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "MaskedAdminEmailHandler" in run.stdout
