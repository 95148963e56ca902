"""``manage.py verify_audit`` reads the classes' trails too (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest

from classes.models import ClassEvent, TrainingClass
from tests.claims.test_audit import verify_audit
from tests.conftest import on_postgres

pytestmark = pytest.mark.django_db


def test_an_intact_class_trail_verifies(
    filed_class: TrainingClass, settings: Any, tmp_path: Any
) -> None:
    settings.AUDIT_ANCHOR_DIR = tmp_path

    code, output = verify_audit()

    assert code == 0, output
    assert "培训班审计链完整：3 条记录，1 个培训班" in output
    assert "培训班状态与末条审计记录一致：1 个培训班" in output


@pytest.mark.skipif(on_postgres(), reason="PostgreSQL's trigger refuses the rewrite")
def test_a_rewritten_class_event_is_named(
    filed_class: TrainingClass, settings: Any, tmp_path: Any
) -> None:
    settings.AUDIT_ANCHOR_DIR = tmp_path
    ClassEvent.objects.filter(action="roster").update(reason="改写")

    code, output = verify_audit()

    assert code == 1
    assert "培训班审计链断裂" in output and f"#{filed_class.pk}" in output


def test_a_class_status_changed_behind_the_trail_is_named(
    filed_class: TrainingClass, settings: Any, tmp_path: Any
) -> None:
    settings.AUDIT_ANCHOR_DIR = tmp_path
    TrainingClass.objects.filter(pk=filed_class.pk).update(status="accepted")

    code, output = verify_audit()

    assert code == 1
    assert "培训班状态与审计记录不符" in output
