"""Unified social credit codes (统一社会信用代码) per GB 32100-2015."""

from __future__ import annotations

_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


class InvalidCreditCode(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def credit_code_check_char(first17: str) -> str:
    total = sum(_CHARSET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHARSET[(31 - total % 31) % 31]


def validate_credit_code(raw: str) -> str:
    """Return the normalised code or raise ``InvalidCreditCode`` with a Chinese message."""
    code = raw.strip().upper()
    if len(code) != 18:
        raise InvalidCreditCode(f"统一社会信用代码应为18位，当前为{len(code)}位")
    if any(c not in _CHARSET for c in code):
        raise InvalidCreditCode(
            "统一社会信用代码含有不允许的字符（不使用I、O、S、V、Z）"
        )
    if not code[2:8].isascii() or not code[2:8].isdigit():
        raise InvalidCreditCode("统一社会信用代码第3至8位应为登记管理机关行政区划码")
    if credit_code_check_char(code[:17]) != code[17]:
        raise InvalidCreditCode("统一社会信用代码校验位错误，请核对")
    return code
