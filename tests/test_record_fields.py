"""Every relation a request body names is a ``RecordField``: a JSON number with a
fraction is refused, not rounded down by Django's integer lookup to another record
(``"trainee": 1.5`` once made a claim for person 1; ``"claim": 10.7`` was paid as
claim 10). Found from the URLconf, so a serializer added later is checked too."""

from __future__ import annotations

from typing import Any

from django.urls import get_resolver

import pytest
from rest_framework import serializers

from accounts.models import User
from altay_skills.api import RecordField
from tests.test_layering import PACKAGES


def project_serializers() -> list[type[serializers.Serializer]]:
    get_resolver().url_patterns  # noqa: B018 — imports every view and its serializers
    found, todo = [], [serializers.Serializer]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in PACKAGES:
            found.append(cls)
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


def writable_relations(serializer: Any) -> list[tuple[str, Any]]:
    out = []
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        if isinstance(field, serializers.ManyRelatedField):
            field = field.child_relation
        if isinstance(field, serializers.PrimaryKeyRelatedField):
            out.append((name, field))
        elif isinstance(field, serializers.Serializer):
            out += [(f"{name}.{n}", f) for n, f in writable_relations(field)]
    return out


def test_the_serializers_are_found() -> None:
    names = {cls.__name__ for cls in project_serializers()}
    assert {"ClaimInputSerializer", "PaymentInputSerializer"} <= names, names


@pytest.mark.parametrize(
    "serializer", project_serializers(), ids=lambda c: f"{c.__module__}.{c.__name__}"
)
def test_each_relation_a_body_names_refuses_a_fraction(
    serializer: type[serializers.Serializer],
) -> None:
    loose = [
        name
        for name, field in writable_relations(serializer())
        if not isinstance(field, RecordField)
    ]
    assert not loose, f"{serializer.__name__}: {loose} round 1.5 down to record 1"


@pytest.mark.parametrize("sent", [1.5, 2.000001, float("inf")])
def test_a_record_field_refuses_a_fraction_before_any_lookup(sent: float) -> None:
    field = RecordField(queryset=User.objects.none())
    with pytest.raises(serializers.ValidationError) as refused:
        field.to_internal_value(sent)
    assert "整数" in str(refused.value.detail[0])
