"""Text messages through a backend chosen by settings (issue 17).

``SMS_BACKEND`` names a class with ``send(message) -> str`` (the gateway's id of the
message). ``ConsoleBackend`` logs the message (the number masked), ``FileBackend``
appends one JSON line per message to ``SMS_FILE_PATH`` (development and tests read it),
``HttpGatewayBackend`` posts to a gateway configured by settings (``SMS_GATEWAY_URL``,
``SMS_GATEWAY_KEY``, ``SMS_SIGN_NAME`` and the template ids). A gateway that answers
5xx or cannot be reached raises :class:`SmsTransientError` (the task retries it); a 4xx
raises :class:`SmsRejected` (retrying would not help). Messages are sent from the
outbox (``claims.tasks.send_confirmation_sms``), so each is sent once.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

_PHONE = re.compile(r"(?<![0-9])(\+?86)?(1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9])")


def mask_phone(number: str) -> str:
    """138****5678: the first three and last four digits of a mainland mobile."""
    digits = re.sub(r"[^0-9]", "", number or "")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_phones_in(text: str) -> str:
    """Every mainland mobile number in ``text`` masked (for log lines)."""
    return _PHONE.sub(lambda m: f"{m.group(2)}****{m.group(4)}", text)


@dataclass(frozen=True)
class SmsMessage:
    to: str
    template: str  # a key of settings.SMS_TEMPLATES
    params: dict[str, str] = field(default_factory=dict)
    text: str = ""  # the rendered text, for the console and file backends
    idempotency_key: str = ""
    language: str = "zh-hans"  # the trainee's (trainees.models.MessageLanguage)


def template_id(message: SmsMessage) -> str:
    """The gateway's id of the message's template in its language: a gateway
    registers one template a text, so each language has its own
    (``SMS_TEMPLATES["claim:ug"]``); a language without one falls back to the
    template's Chinese id."""
    templates = settings.SMS_TEMPLATES
    return str(
        templates.get(f"{message.template}:{message.language}")
        or templates.get(message.template, "")
    )


class SmsError(Exception):
    pass


class SmsTransientError(SmsError):
    """The gateway is down or answered 5xx: sending again later may succeed."""


class SmsRejected(SmsError):
    """The gateway refused the message (4xx): sending again would not help."""


class SmsBackend(Protocol):
    def send(self, message: SmsMessage) -> str: ...


class ConsoleBackend:
    def send(self, message: SmsMessage) -> str:
        logger.info(
            "sms to %s (%s): %s",
            mask_phone(message.to),
            message.template,
            message.text,
        )
        return f"console-{message.idempotency_key}"


class FileBackend:
    def send(self, message: SmsMessage) -> str:
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = {
            "to": message.to,
            "template": message.template,
            "params": message.params,
            "text": message.text,
            "key": message.idempotency_key,
            "language": message.language,
        }
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
        return f"file-{message.idempotency_key}"


class HttpGatewayBackend:
    """POST JSON ``{"phone", "sign_name", "template_id", "params", "language"}``
    (``template_id`` the language's: :func:`template_id`) with the key in
    ``Authorization: Bearer …`` and ``Idempotency-Key`` (a gateway that honours it drops
    a repeat); the answer's ``message_id`` is kept."""

    def send(self, message: SmsMessage) -> str:
        body = json.dumps(
            {
                "phone": message.to,
                "sign_name": settings.SMS_SIGN_NAME,
                "template_id": template_id(message),
                "params": message.params,
                "language": message.language,
            },
            ensure_ascii=False,
        ).encode()
        url = str(settings.SMS_GATEWAY_URL)
        if not url.startswith(("https://", "http://")):
            raise SmsRejected("SMS_GATEWAY_URL must be an http(s) address")
        request = urllib.request.Request(  # noqa: S310 (http(s) only, checked above)
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {settings.SMS_GATEWAY_KEY}",
                "Idempotency-Key": message.idempotency_key,
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310  # nosec B310: http(s) only, checked above
                request, timeout=settings.SMS_GATEWAY_TIMEOUT
            ) as answer:
                payload = json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                raise SmsTransientError(f"gateway answered {exc.code}") from None
            raise SmsRejected(f"gateway refused: {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsTransientError(
                f"gateway unreachable: {type(exc).__name__}"
            ) from None
        except ValueError:
            raise SmsTransientError("gateway answered no JSON") from None
        logger.info("sms to %s sent by the gateway", mask_phone(message.to))
        return str(payload.get("message_id", ""))


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend
