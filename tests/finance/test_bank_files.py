"""Issue 18: the two example bank templates (a CSV in GBK, a fixed-width text) write a
file that reads back to the same lines, Chinese names survive GBK, and amounts always
carry exactly two decimals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from finance import bank_files
from finance.bank_rules import amount_text, parse_amount
from finance.models import BankTemplate
from tests.bank_run import CSV_TEMPLATE, FIXED_TEMPLATE, card

pytestmark = pytest.mark.django_db

LINES = [
    {
        "seq": 1,
        "reference": "P0000001000001",
        "account": card(1),
        "holder": "阿依古丽·吐尔逊",
        "amount": Decimal("1079.40"),
        "purpose": "职业技能培训补贴",
    },
    {
        "seq": 2,
        "reference": "P0000001000002",
        "account": card(2),
        "holder": "阿勒泰市喀纳斯职业培训学校",
        "amount": Decimal("0.10"),
        "purpose": "职业技能培训补贴",
    },
]


@pytest.mark.parametrize("name", [CSV_TEMPLATE, FIXED_TEMPLATE])
def test_an_example_template_round_trips(name: str) -> None:
    template = BankTemplate.objects.get(name=name)
    content = bank_files.render(template, LINES, day=date(2020, 5, 10), batch="1")
    read = bank_files.parse(template, content)
    assert read.problems == []
    assert read.count == len(LINES)
    assert read.total == Decimal("1079.50")
    for line, back in zip(LINES, read.lines, strict=True):
        assert back["reference"] == line["reference"]
        assert back["account"] == line["account"]
        assert back["holder"] == line["holder"]
        assert back["amount"] == line["amount"]


@pytest.mark.parametrize("name", [CSV_TEMPLATE, FIXED_TEMPLATE])
def test_chinese_names_survive_gbk(name: str) -> None:
    template = BankTemplate.objects.get(name=name)
    content = bank_files.render(template, LINES, day=date(2020, 5, 10))
    assert "阿依古丽·吐尔逊".encode("gbk") in content
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")


def test_the_csv_amounts_carry_exactly_two_decimals() -> None:
    template = BankTemplate.objects.get(name=CSV_TEMPLATE)
    text = bank_files.render(template, LINES, day=date(2020, 5, 10)).decode("gbk")
    assert ",1079.40," in text and ",0.10," in text
    assert text.splitlines()[0].endswith(",2,1079.50")


def test_a_fixed_width_line_is_as_wide_as_its_template_in_bytes() -> None:
    template = BankTemplate.objects.get(name=FIXED_TEMPLATE)
    content = bank_files.render(template, LINES, day=date(2020, 5, 10))
    width = sum(f["width"] for f in template.fields)
    body = content.split(b"\r\n")[1:-1]
    assert [len(line) for line in body] == [width, width]


def test_a_name_wider_than_its_field_is_refused_not_cut() -> None:
    template = BankTemplate.objects.get(name=FIXED_TEMPLATE)
    long_name = dict(LINES[0], holder="阿" * 21)  # 42 bytes in GBK, the field is 40
    with pytest.raises(bank_files.FileError):
        bank_files.render(template, [long_name], day=date(2020, 5, 10))


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("12.50", "yuan", Decimal("12.50")),
        ("12.5", "yuan", Decimal("12.50")),
        ("12.505", "yuan", None),  # a hidden third decimal is refused
        ("1250", "fen", Decimal("12.50")),
        ("12.50", "fen", None),
        ("abc", "yuan", None),
    ],
)
def test_an_amount_is_read_to_the_fen_or_refused(
    text: str, unit: str, expected: Decimal | None
) -> None:
    assert parse_amount(text, unit) == expected


def test_an_amount_is_written_with_two_decimals_half_up() -> None:
    assert amount_text(Decimal("1.005"), "yuan") == "1.01"
    assert amount_text(Decimal("3"), "yuan") == "3.00"
    assert amount_text(Decimal("12.34"), "fen") == "1234"


@pytest.mark.parametrize(
    "bad_field",
    ["x" * 200_000, '"an open quote' + "y" * 200_000],
    ids=["a field past the csv module's limit", "an unclosed quote running on"],
)
def test_a_csv_line_the_reader_refuses_is_listed_not_a_500(bad_field: str) -> None:
    # csv.Error ("field larger than field limit (131072)") was not caught: the upload
    # of such a result file answered 500
    template = BankTemplate.objects.get(name=CSV_TEMPLATE)
    content = bank_files.render(template, LINES, day=date(2020, 5, 10), batch="1")
    lines = content.split(b"\r\n" if b"\r\n" in content else b"\n")
    at = next(i for i, line in enumerate(lines) if b"P0000001000002" in line)
    lines[at] = lines[at].replace(b"P0000001000002", bad_field.encode("gbk"))

    read = bank_files.parse(template, b"\n".join(lines))

    assert any("第2行" in p and "CSV" in p for p in read.problems), read.problems
