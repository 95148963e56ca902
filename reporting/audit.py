"""The audit trail's anchors: a digest of every chain's head, written outside the database.

Once a day (beat, ``reporting.tasks.anchor_audit_trail``; or ``manage.py anchor_audit``)
every claim's and every report's chain is summed up as ``[events, last event id, last
hash]`` and written, signed with the audit key (HMAC over the canonical JSON), to
``settings.AUDIT_ANCHOR_DIR/<database>/audit-anchor-<UTC time>.json.gz`` — the backup
directory, which is copied off the server with the backups. The database never holds
the file or the key, so a superuser who cuts events off the end of a chain (where no
later link breaks) or truncates the table is caught by ``verify_audit``, which compares
the trail with the newest anchor: every chain it names must still have exactly its
events up to its anchored head, and the head's hash must be the one anchored. Events
written since the anchor are checked by the chains alone (HMAC).

The anchors of one database sit in a folder named after it, so a test database, a
restored copy or the SQLite demo never reads another's.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max

from claims.audit import canonical_json
from claims.models import ClaimEvent
from quarters.models import ReportEvent

FORMAT = "altay-audit-anchor/1"
#: Rows read per round trip when the heads of every chain are collected.
CHUNK = 2_000
#: chain kind → (model, owner field, the owner's name in messages)
CHAINS: dict[str, tuple[Any, str, str]] = {
    "claims": (ClaimEvent, "claim_id", "申报"),
    "reports": (ReportEvent, "report_id", "报表"),
}


class AnchorError(Exception):
    """An anchor file that cannot be trusted (unreadable, or its signature is wrong)."""


@dataclass(frozen=True)
class AnchorCheck:
    path: Path | None
    chains: int
    problem: str | None


def anchor_dir() -> Path:
    """This database's folder of anchors (its name, made safe for a path)."""
    name = Path(str(connection.settings_dict["NAME"])).name or "default"
    return Path(settings.AUDIT_ANCHOR_DIR) / re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _sign(body: dict[str, Any]) -> str:
    key = settings.AUDIT_KEY.encode("utf-8")
    text = canonical_json(body).encode("utf-8")
    return hmac.new(key, text, hashlib.sha256).hexdigest()


def chain_heads(model: Any, owner: str) -> dict[str, list[Any]]:
    """owner id → [events, last event id, last hash], for every chain of ``model``."""
    heads: dict[str, list[Any]] = {}
    rows = model.objects.values(owner).annotate(n=Count("id"), last=Max("id"))
    for row in rows.order_by(owner).iterator(chunk_size=CHUNK):
        heads[str(row[owner])] = [row["n"], row["last"], ""]
    by_id = {head[1]: head for head in heads.values()}
    ids = sorted(by_id)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for pk, digest in model.objects.filter(id__in=chunk).values_list("id", "hash"):
            by_id[pk][2] = digest
    return heads


def anchor_write(*, now: datetime | None = None) -> Path:
    """Write a signed digest of every chain's head; return the file. Idempotent in
    effect: a second run writes another file with the same heads."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    body: dict[str, Any] = {
        "format": FORMAT,
        "at": at.isoformat(timespec="seconds"),
        "database": anchor_dir().name,
    }
    for kind, (model, owner, _label) in CHAINS.items():
        body[kind] = chain_heads(model, owner)
    folder = anchor_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"audit-anchor-{at:%Y%m%dT%H%M%S%fZ}.json.gz"
    partial = path.with_name(path.name + ".partial")
    data = json.dumps({"body": body, "hmac": _sign(body)}, ensure_ascii=False)
    with gzip.open(partial, "wt", encoding="utf-8") as handle:
        handle.write(data)
    os.replace(partial, path)
    return path


def latest_anchor() -> Path | None:
    folder = anchor_dir()
    if not folder.is_dir():
        return None
    files = sorted(folder.glob("audit-anchor-*.json.gz"))
    return files[-1] if files else None


def anchor_read(path: Path) -> dict[str, Any]:
    """The anchor's body, after its signature is checked."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            signed = json.load(handle)
        body, signature = signed["body"], signed["hmac"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AnchorError(f"锚定摘要 {path.name} 无法读取：{exc}") from exc
    if body.get("format") != FORMAT or not hmac.compare_digest(
        str(signature), _sign(body)
    ):
        raise AnchorError(
            f"锚定摘要 {path.name} 的签名不符（文件被改动，或审计密钥不同）"
        )
    return dict(body)


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def chain_against_anchor(
    model: Any, owner: str, label: str, anchored: dict[str, list[Any]]
) -> str | None:
    """The first chain whose events up to its anchored head are not exactly those the
    anchor counted, or whose head's hash differs; None when every chain agrees."""
    heads = {int(chain): head for chain, head in anchored.items()}
    if not heads:
        return None
    counted = dict.fromkeys(heads, 0)
    top = max(head[1] for head in heads.values())
    rows = model.objects.filter(id__lte=top).order_by().values_list(owner, "id")
    for chain, pk in rows.iterator(chunk_size=20000):
        head = heads.get(chain)
        if head is not None and pk <= head[1]:
            counted[chain] += 1
    for chain in sorted(heads):
        count, last, _digest = heads[chain]
        if counted[chain] != count:
            return (
                f"{label} #{chain} 的审计记录与锚定摘要不符：摘要记有 {count} 条"
                f"（末条 #{last}），现存 {counted[chain]} 条——末尾的记录被删除或截断"
                if counted[chain] < count
                else f"{label} #{chain} 的审计记录比锚定摘要多出 {counted[chain] - count} 条"
            )
    by_id = {head[1]: chain for chain, head in heads.items()}
    for chunk in _chunks(sorted(by_id)):
        found = {
            pk: (chain, digest)
            for pk, chain, digest in model.objects.filter(id__in=chunk).values_list(
                "id", owner, "hash"
            )
        }
        for pk in chunk:
            chain = by_id[pk]
            if found.get(pk) != (chain, heads[chain][2]):
                return f"{label} #{chain} 的末条审计记录 #{pk} 与锚定摘要不符"
    return None


def anchor_check() -> AnchorCheck:
    """Compare the trail with the newest anchor of this database."""
    path = latest_anchor()
    if path is None:
        return AnchorCheck(None, 0, None)
    try:
        body = anchor_read(path)
    except AnchorError as exc:
        return AnchorCheck(path, 0, str(exc))
    chains = 0
    for kind, (model, owner, label) in CHAINS.items():
        anchored = body.get(kind) or {}
        chains += len(anchored)
        problem = chain_against_anchor(model, owner, label, anchored)
        if problem is not None:
            return AnchorCheck(path, chains, f"{problem}（{path.name}）")
    return AnchorCheck(path, chains, None)
