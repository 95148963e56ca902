"""The claim list reads its page in one statement and makes the claims, and the rows
they name, without ``Model.__init__`` (``claims.selectors.read_listed``, issue 20).
They must be what the ORM would have made: every column with the same value and type
(after the database's and the field's converters: SQLite's dates, times, decimals and
booleans, the JSON fields' text), the same rows named, the summarised fields
remembered as ``from_db`` remembers them — compared here with the ORM's claims over
claims in every state the list shows, on the database the suite runs on."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models import signals

import pytest

from accounts.models import User
from claims.models import Claim
from claims.selectors import LIST_NAMES, claims_listed, claims_visible_to, read_listed
from programs.models import Institution
from tests.claims.test_claim_list_rows import every_kind  # noqa: F401

pytestmark = pytest.mark.django_db


def _same(made: Any, orm: Any, what: str) -> None:
    assert type(made) is type(orm), what
    assert made._state.adding is False and made._state.db == orm._state.db, what
    assert made.pk == orm.pk, what


@pytest.mark.parametrize("who", ["reviewer", "clerk"])
def test_the_listed_claims_are_what_the_orm_makes(
    every_kind: list[Claim],  # noqa: F811
    who: str,
    request: pytest.FixtureRequest,
    django_assert_num_queries: Any,
) -> None:
    user: User = request.getfixturevalue(who)
    newest = claims_listed(user).order_by("-created_at", "-pk")
    with django_assert_num_queries(1):
        made = read_listed(newest)
    orm = list(
        claims_visible_to(user)
        .select_related(*LIST_NAMES)
        .order_by("-created_at", "-pk")
    )
    assert [c.pk for c in made] == [c.pk for c in orm] and len(orm) >= 5
    seen_types = set()
    with django_assert_num_queries(0):  # nothing the list shows is read again
        for mine, theirs in zip(made, orm, strict=True):
            _same(mine, theirs, f"claim {theirs.pk}")
            assert mine.get_deferred_fields() == set()
            for field in Claim._meta.concrete_fields:
                value, expected = (getattr(c, field.attname) for c in (mine, theirs))
                assert value == expected, f"claim {theirs.pk}: {field.name}"
                assert type(value) is type(expected), f"claim {theirs.pk}: {field.name}"
                seen_types.add(type(value).__name__)
            assert mine._summary_was == theirs._summary_was
            for relation, shown in LIST_NAMES.items():
                row, expected_row = (getattr(c, relation) for c in (mine, theirs))
                if expected_row is None:
                    assert row is None
                    continue
                _same(row, expected_row, f"claim {theirs.pk}: {relation}")
                for name in shown:
                    assert getattr(row, name) == getattr(expected_row, name)
    # the comparison covered the kinds of value a converter changes
    assert {"datetime", "date", "Decimal", "bool", "list", "NoneType"} <= seen_types
    # a row named by several claims is one object
    assert len({id(c.unit) for c in made}) == len({c.unit_id for c in made}) < len(made)


def test_a_page_read_oldest_first_is_the_same_claims_the_other_way_round(
    every_kind: list[Claim],  # noqa: F811
    reviewer: User,
) -> None:
    newest = read_listed(claims_listed(reviewer).order_by("-created_at", "-pk"))
    oldest = read_listed(
        claims_listed(reviewer).order_by("created_at", "pk"), newest_first=False
    )
    assert [c.pk for c in oldest] == [c.pk for c in newest][::-1]
    # only the page the queryset cuts is read
    cut = read_listed(claims_listed(reviewer).order_by("-created_at", "-pk")[1:3])
    assert [c.pk for c in cut] == [c.pk for c in newest][1:3]


def test_a_page_that_can_hold_nothing_is_read_without_a_query(
    every_kind: list[Claim],  # noqa: F811
    administrator: User,
    django_assert_num_queries: Any,
) -> None:
    with django_assert_num_queries(0):  # the administrator's scope is none()
        assert read_listed(claims_listed(administrator).order_by("-pk")) == []


def test_a_row_that_is_not_there_is_not_made_up(
    every_kind: list[Claim],  # noqa: F811
    clerk: User,
) -> None:
    """A foreign key is checked at commit: inside a transaction a claim may name a row
    that is not there. Its name is then not an empty row: reading it asks the database
    and is told, as with the ORM."""
    claim = every_kind[0]
    Claim.objects.filter(pk=claim.pk).update(institution_id=987654)
    try:
        listed = {c.pk: c for c in read_listed(claims_listed(clerk).order_by("-pk"))}
        with pytest.raises(Institution.DoesNotExist):
            listed[claim.pk].institution  # noqa: B018  # the read is the point
        assert listed[claim.pk].program.name == claim.program.name
    finally:  # the test's end checks the keys (SQLite)
        Claim.objects.filter(pk=claim.pk).update(institution_id=claim.institution_id)


def test_a_distinct_queryset_is_refused(clerk: User) -> None:
    with pytest.raises(TypeError):
        read_listed(claims_listed(clerk).distinct().order_by("-created_at", "-pk"))


def test_a_field_the_list_does_not_show_is_read_when_asked_for(
    every_kind: list[Claim],  # noqa: F811
    clerk: User,
    django_assert_num_queries: Any,
) -> None:
    claim = read_listed(claims_listed(clerk).order_by("-created_at", "-pk"))[0]
    with django_assert_num_queries(1):  # deferred, as with ``only()``
        assert claim.trainee.registered_by_unit_id == claim.unit_id


def test_no_model_the_list_makes_listens_for_its_construction() -> None:
    """``read_listed`` makes instances without ``Model.__init__``, which is what sends
    ``pre_init`` and ``post_init``: sound only while nothing listens to them."""
    listed = [Claim, *(Claim._meta.get_field(r).related_model for r in LIST_NAMES)]
    listening = [
        model.__name__
        for model in apps.get_models()
        if model in listed
        and (
            signals.pre_init.has_listeners(model)
            or signals.post_init.has_listeners(model)
        )
    ]
    assert listening == []
