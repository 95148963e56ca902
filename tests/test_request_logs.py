"""Logs a machine can read (issue 19): a line per request naming its id, route, user and
duration, every line of the request carrying its id, ID numbers masked in every field."""

from __future__ import annotations

import json
import logging
import sys

from django.test import Client

import pytest

from trainees.log_masking import JsonFormatter

pytestmark = pytest.mark.django_db
NUMBER = "654301199501013773"


def as_json(record: logging.LogRecord) -> dict:
    return json.loads(JsonFormatter().format(record))


def test_a_request_is_one_json_line_with_its_id_route_user_and_duration(clerk, caplog):
    caplog.set_level(logging.INFO, logger="altay_skills.requests")
    client = Client()
    client.force_login(clerk)
    response = client.get(f"/trainees/{NUMBER}/", {"q": NUMBER})
    [record] = [r for r in caplog.records if r.name == "altay_skills.requests"]
    line = as_json(record)
    assert line["request_id"] == response["X-Request-ID"]
    assert line["route"] == "trainee_detail"
    assert line["user_id"] == clerk.pk
    assert (line["method"], line["status"]) == ("GET", response.status_code)
    assert line["duration_ms"] >= 0
    # the path's ID number is masked, in the path field and in the message
    assert line["path"] == "/trainees/654301********3773/"
    assert NUMBER not in json.dumps(line)


def test_an_exception_is_one_json_line_with_the_traceback_masked():
    try:
        raise ValueError(f"bad {NUMBER}")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed for %s", (NUMBER,), sys.exc_info()
        )
    line = as_json(record)
    assert line["message"] == "failed for 654301********3773"
    assert "ValueError: bad 654301********3773" in line["exception"]
    assert NUMBER not in json.dumps(line)
