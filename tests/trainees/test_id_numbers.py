from datetime import date

import pytest

from tests.factories import make_id_number
from trainees.id_numbers import (
    InvalidIdNumber,
    check_char,
    mask_id_number,
    parse_id_number,
)
from trainees.models import Trainee

VALID = make_id_number(date(1985, 2, 28), area="654301", serial=7, sex="M")


def test_check_digit_follows_gb_11643_weights():
    # 11010519491231002X is the standard's own worked example.
    assert check_char("11010519491231002") == "X"
    assert parse_id_number("11010519491231002X").birth_date == date(1949, 12, 31)


def test_birth_date_and_sex_come_from_the_number():
    facts = parse_id_number(make_id_number(date(1992, 7, 3), sex="F", serial=11))
    assert facts.birth_date == date(1992, 7, 3)
    assert facts.sex == "F"


def test_lower_case_x_is_accepted_as_x():
    assert parse_id_number("11010519491231002x").number == "11010519491231002X"


def test_old_altay_area_codes_are_accepted():
    # 6526xx was Altay's code before 1984; the area is where a person was first registered.
    number = make_id_number(date(1960, 1, 1), area="652601", serial=3)
    assert parse_id_number(number).area_code == "652601"


@pytest.mark.parametrize(
    "province", ["00", "10", "16", "20", "39", "55", "66", "72", "99"]
)
def test_a_number_whose_first_two_digits_are_no_province_is_refused(province):
    # Issue 14 (9): GB/T 2260's provinces; python-stdnum's own tests refuse 99….
    body = f"{province}4301199005171{23}"
    with pytest.raises(InvalidIdNumber, match="省份代码"):
        parse_id_number(body + check_char(body))


@pytest.mark.parametrize(
    "area",
    [
        *("110105", "150102", "230102", "370102", "460105", "540102", "650102"),
        *("710000", "810000", "820000", "830000", "659001", "652601", "652922"),
    ],
)
def test_every_province_of_gb_t_2260_and_historical_counties_are_accepted(area):
    # 81/82/83: Hong Kong, Macao, Taiwan residents' residence permits (港澳台居民居住证).
    body = f"{area}19900517123"
    assert parse_id_number(body + check_char(body)).area_code == area


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (VALID[:-1] + ("0" if VALID[-1] != "0" else "1"), "校验位"),
        (VALID[:17], "18位"),
        (VALID + "1", "18位"),
        ("", "18位"),
        # Full-width and Arabic-Indic digits look like digits to str.isdigit().
        (VALID[:5] + "１" + VALID[6:], "半角数字"),
        (VALID[:5] + "\u0661" + VALID[6:], "半角数字"),
        (VALID[:16] + "X" + VALID[17], "半角数字"),
        ("654301198502300010", "出生日期不存在"),  # 30 February
        ("654301189912310010", "1900"),
    ],
)
def test_invalid_numbers_are_refused_with_a_chinese_reason(raw, fragment):
    with pytest.raises(InvalidIdNumber) as caught:
        parse_id_number(raw)
    assert fragment in caught.value.message


def test_a_birth_date_in_the_future_is_refused():
    body = "654301" + "20300101" + "001"
    with pytest.raises(InvalidIdNumber, match="晚于今天"):
        parse_id_number(body + check_char(body), today=date(2026, 11, 26))


def test_mask_shows_first_six_and_last_four():
    assert mask_id_number("11010519491231002X") == "110105********002X"


@pytest.mark.django_db
def test_saving_a_trainee_derives_birth_date_and_sex():
    trainee = Trainee.objects.create(
        id_number=make_id_number(date(1999, 12, 31), sex="F", serial=21),
        name="阿依古丽",
        household="rural",
    )
    trainee.refresh_from_db()
    assert (trainee.birth_date, trainee.sex) == (date(1999, 12, 31), "F")
