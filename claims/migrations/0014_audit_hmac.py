"""Issue 14, item 10: every link of the audit trail's hash chains becomes an HMAC under
``settings.AUDIT_KEY`` (a key the database does not hold), for the claims' events and
the quarterly reports' events alike.

Each chain is first checked link by link in its old form — a link is accepted if it is
the plain sha256 of the old scheme or already the HMAC (a chain written by the new code
after 0005, or a re-run) — and the migration stops at the first broken link rather than
sign a forged history with the key. The append-only triggers are disabled for the
rewrite and enabled again in the same transaction (the owner of the tables runs
``migrate``). The canonical forms are frozen here as they are in ``claims.audit`` and
``quarters.events``. Backwards: the same walk, back to plain sha256.
"""

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC
from typing import Any

from django.conf import settings
from django.db import migrations

TABLES = {
    "claims_claimevent": "claims_claimevent_append_only",
    "quarters_reportevent": "quarters_reportevent_append_only",
}


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def claim_body(event: Any) -> str:
    return _json(
        {
            "claim": event.claim_id,
            "actor": event.actor_id,
            "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "action": event.action,
            "from": event.from_status or "",
            "to": event.to_status or "",
            "reason": event.reason or "",
            "changes": json.loads(
                json.dumps(event.changes if event.changes is not None else {})
            ),
        }
    )


def report_body(event: Any) -> str:
    return _json(
        {
            "report": event.report_id,
            "actor": event.actor_id,
            "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "action": str(event.action),
            "reason": event.reason or "",
            "changes": event.changes if event.changes is not None else {},
        }
    )


def sha256_link(prev: str, body: str) -> str:
    return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()


def hmac_link(prev: str, body: str) -> str:
    key = settings.AUDIT_KEY.encode("utf-8")
    return hmac.new(key, (prev + body).encode("utf-8"), hashlib.sha256).hexdigest()


def rechain(
    model: Any,
    owner: str,
    body: Callable[[Any], str],
    accepted: tuple[Callable[[str, str], str], ...],
    link: Callable[[str, str], str],
) -> None:
    batch: list[Any] = []
    current = None
    old_prev = new_prev = ""
    for event in model.objects.order_by(owner, "id").iterator(chunk_size=2000):
        if getattr(event, owner) != current:
            current, old_prev, new_prev = getattr(event, owner), "", ""
        text = body(event)
        if event.prev_hash != old_prev or all(
            event.hash != scheme(old_prev, text) for scheme in accepted
        ):
            raise RuntimeError(
                f"{model._meta.db_table}: chain of {owner} {current} broken at event "
                f"#{event.pk}; refusing to re-key a trail that does not verify "
                "(审计链断裂，拒绝重新签名)"
            )
        old_prev = event.hash
        event.prev_hash, event.hash = new_prev, link(new_prev, text)
        new_prev = event.hash
        batch.append(event)
        if len(batch) >= 2000:
            model.objects.bulk_update(batch, ["prev_hash", "hash"])
            batch = []
    if batch:
        model.objects.bulk_update(batch, ["prev_hash", "hash"])


def _triggers(schema_editor: Any, state: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "SET CONSTRAINTS ALL IMMEDIATE"
    )  # no ALTER with checks pending
    for table, trigger in TABLES.items():
        schema_editor.execute(f"ALTER TABLE {table} {state} TRIGGER {trigger}")


def _run(apps: Any, schema_editor: Any, forward: bool) -> None:
    if forward:
        accepted, link = (sha256_link, hmac_link), hmac_link
    else:
        accepted, link = (hmac_link, sha256_link), sha256_link
    _triggers(schema_editor, "DISABLE")
    rechain(
        apps.get_model("claims", "ClaimEvent"), "claim_id", claim_body, accepted, link
    )
    rechain(
        apps.get_model("quarters", "ReportEvent"),
        "report_id",
        report_body,
        accepted,
        link,
    )
    _triggers(schema_editor, "ENABLE")


def forwards(apps: Any, schema_editor: Any) -> None:
    _run(apps, schema_editor, forward=True)


def backwards(apps: Any, schema_editor: Any) -> None:
    _run(apps, schema_editor, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0013_claim_hire_date"),
        ("quarters", "0002_reportevent"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
