"""Phone numbers (issue 17): validated with libphonenumber's metadata
(``phonenumberslite``, the library behind django-phonenumber-field), mainland China by
default; only a mobile receives the confirmation code by SMS."""

from __future__ import annotations

from django.core.exceptions import ValidationError

import phonenumbers

REGION = "CN"


def _parsed(value: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(value, REGION)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def validate_phone(value: str) -> None:
    """A blank number is allowed (the person gave none); anything else must be a
    valid number (mobile or landline with its area code)."""
    if value and _parsed(value) is None:
        raise ValidationError("联系电话无效，请填写11位手机号码或带区号的固定电话")


def sms_number(value: str) -> str | None:
    """The number in E.164 if it can receive a text message, else None."""
    number = _parsed(value or "")
    if number is None or phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
