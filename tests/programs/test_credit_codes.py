import pytest

from programs.credit_codes import InvalidCreditCode, validate_credit_code
from tests.factories import make_credit_code


def test_a_published_credit_code_is_valid():
    assert validate_credit_code(" 91110000600037341l ") == "91110000600037341L"


def test_generated_codes_are_valid():
    assert validate_credit_code(make_credit_code(42)) == make_credit_code(42)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("91110000600037341M", "校验位"),
        ("9111000060003734", "18位"),
        ("9111000060003734IL", "不允许的字符"),
        ("91110000600037O41L", "不允许的字符"),
        ("91AB0000600037341L", "行政区划码"),
    ],
)
def test_bad_credit_codes_are_refused(raw, fragment):
    with pytest.raises(InvalidCreditCode) as caught:
        validate_credit_code(raw)
    assert fragment in caught.value.message
