"""The audit trail's hash chain: one chain per claim, append-only in the database.

Each ``ClaimEvent`` stores ``prev_hash`` (the ``hash`` of the previous event of the same
claim, ``""`` for the first) and ``hash = HMAC-SHA256(AUDIT_KEY, prev_hash + canonical
JSON of the event)``. Rewriting an event breaks its own hash; deleting one from the
middle breaks the next event's ``prev_hash``. The key lives in the environment, never in
the database (settings.AUDIT_KEY): whoever can write the tables — a superuser with the
triggers off too — cannot compute a link, so a forged, rewritten and re-hashed or
inserted event is named by ``python manage.py verify_audit``. Events cut off at the end
of a chain leave no broken link: the daily digest of every chain's head, written outside
the database (``reporting.audit``), catches those, and a claim whose status disagrees
with its last event (or that has none) is named too (``claims_out_of_step``).

One chain per claim (not one global chain) keeps writers independent: ``record_events``
locks the claims it writes for (``SELECT … FOR UPDATE``, a no-op where the service
already holds the lock), reads the latest hash of each in one query and inserts, so two
writers on the same claim are serialised and a fork is refused by the unique
``(claim, prev_hash)`` constraint anyway.

On PostgreSQL a trigger refuses every ``UPDATE`` and ``DELETE`` of ``claims_claimevent``
(migration 0006), and the application's role may only SELECT and INSERT it
(``altay_skills.db_roles``): it owns no table, so it can neither TRUNCATE nor disable the
trigger. SQLite, the embedded demo default, has neither: there the chain only *detects*
tampering.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from altay_skills.lock_objects import lock_claim_ids

#: Claims read per round trip when every claim is checked against its last event.
CHUNK = 2_000


def canonical(
    *,
    claim_id: int,
    actor_id: int,
    at: datetime,
    action: str,
    from_status: str,
    to_status: str,
    reason: str,
    changes: Any,
) -> str:
    """The event as sorted, compact JSON; ``at`` in UTC with microseconds."""
    return canonical_json(
        {
            "claim": claim_id,
            "actor": actor_id,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "action": action,
            "from": from_status or "",
            "to": to_status or "",
            "reason": reason or "",
            "changes": json.loads(json.dumps(changes if changes is not None else {})),
        }
    )


def canonical_json(body: dict[str, Any]) -> str:
    """Sorted, compact JSON: the form every hash-chained trail hashes (a claim's here,
    a report's in ``quarters.events``)."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chain_hash(prev_hash: str, body: str, *, key: str | None = None) -> str:
    """One link: HMAC-SHA256 under the audit key (``settings.AUDIT_KEY`` unless
    ``key`` is given) over the previous hash and the event's canonical form (hex)."""
    secret = (settings.AUDIT_KEY if key is None else key).encode("utf-8")
    message = (prev_hash + body).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def event_hash(prev_hash: str, event: Any, *, key: str | None = None) -> str:
    """The link of one claim event over the previous hash (``chain_hash``)."""
    body = canonical(
        claim_id=event.claim_id,
        actor_id=event.actor_id,
        at=event.at,
        action=event.action,
        from_status=event.from_status,
        to_status=event.to_status,
        reason=event.reason,
        changes=event.changes,
    )
    return chain_hash(prev_hash, body, key=key)


def latest_hashes(model: Any, claim_ids: Iterable[int]) -> dict[int, str]:
    """claim id → hash of its latest (highest id) event, for claims that have one."""
    ids = set(claim_ids)
    if not ids:
        return {}
    last = (
        model.objects.filter(claim_id__in=ids)
        .values("claim_id")
        .annotate(last=Max("id"))
        .values("last")
    )
    return dict(model.objects.filter(id__in=last).values_list("claim_id", "hash"))


def record_events(events: list[Any]) -> list[Any]:
    """Chain and insert events (in list order; several may share a claim).

    Every event of the application goes through here. ``at`` is set before hashing:
    rows are never updated after insert.
    """
    from claims.models import ClaimEvent

    if not events:
        return []
    with transaction.atomic():
        claim_ids = sorted({e.claim_id for e in events})
        lock_claim_ids(claim_ids)
        last = latest_hashes(ClaimEvent, claim_ids)
        now = timezone.now()
        for event in events:
            if event.changes is None:
                event.changes = {}
            event.at = event.at or now
            event.prev_hash = last.get(event.claim_id, "")
            event.hash = event_hash(event.prev_hash, event)
            last[event.claim_id] = event.hash
        if len(events) == 1:
            events[0].save(force_insert=True)
            return events
        return ClaimEvent.objects.bulk_create(events, batch_size=1000)


@dataclass(frozen=True)
class BrokenLink:
    claim_id: int
    event_id: int
    expected_prev: str
    found_prev: str
    expected_hash: str
    found_hash: str

    def __str__(self) -> str:
        return (
            f"claim #{self.claim_id}, event #{self.event_id}: "
            f"expected prev {self.expected_prev or '(none)'}, found {self.found_prev or '(none)'}; "
            f"expected hash {self.expected_hash}, found {self.found_hash}"
        )


@dataclass(frozen=True)
class Verdict:
    events: int
    claims: int
    broken: BrokenLink | None


def walk(
    rows: Iterator[Any],
    *,
    owner: str = "claim_id",
    link: Callable[[str, Any], str] = event_hash,
) -> Verdict:
    """Recompute chains from rows ordered by (owner, id); stop at the first break.
    ``owner`` names the chain's owner (a claim; ``report_id`` for a report's trail,
    whose verdict then counts reports as ``claims`` and names one as ``claim_id``)."""
    events = claims = 0
    current: int | None = None
    prev = ""
    for row in rows:
        events += 1
        chain = getattr(row, owner)
        if chain != current:
            current, prev = chain, ""
            claims += 1
        expected = link(prev, row)
        if row.prev_hash != prev or row.hash != expected:
            return Verdict(
                events,
                claims,
                BrokenLink(chain, row.id, prev, row.prev_hash, expected, row.hash),
            )
        prev = row.hash
    return Verdict(events, claims, None)


def verify() -> Verdict:
    """Walk every claim's events in id order and recompute; stop at the first break."""
    from claims.models import ClaimEvent

    rows = ClaimEvent.objects.order_by("claim_id", "id").only(
        "id",
        "claim_id",
        "actor_id",
        "at",
        "action",
        "from_status",
        "to_status",
        "reason",
        "changes",
        "prev_hash",
        "hash",
    )
    return walk(rows.iterator(chunk_size=2000))


def claims_out_of_step() -> tuple[int, str | None]:
    """Every claim against its trail: (claims checked, the first disagreement in
    Chinese, or None). A claim's status is the ``to_status`` of its last event; a
    claim without any event, or an empty trail beside existing claims, is named."""
    from claims.models import Claim, ClaimEvent

    total = Claim.all_rows.count()  # deleted drafts keep their trail too
    if total and not ClaimEvent.objects.exists():
        return total, f"审计记录为空，但数据库中有 {total} 笔申报"
    last = ClaimEvent.objects.filter(claim_id=OuterRef("pk")).order_by("-id")
    claims = (
        Claim.all_rows.annotate(
            last_event=Subquery(last.values("id")[:1]),
            last_to=Subquery(last.values("to_status")[:1]),
        )
        .order_by("pk")
        .values_list("pk", "status", "last_event", "last_to")
    )
    for pk, status, last_event, last_to in claims.iterator(chunk_size=CHUNK):
        if last_event is None:
            return total, f"申报 #{pk} 没有任何审计记录"
        if last_to != status:
            return total, (
                f"申报 #{pk} 的状态为 {status}，"
                f"但其末条审计记录 #{last_event} 记为 {last_to or '(空)'}"
            )
    return total, None


#: A later stage whose documents are links of its own chains (``classes``): document id
#: → (the owner as a message names it, e.g. "培训班 #3 的"; the SHA-256 its chain
#: recorded, or None when its chain has none). Registered from ``AppConfig.ready()``.
DocumentChains = Callable[[], dict[int, tuple[str, str | None]]]
_document_chains: list[DocumentChains] = []


def offer_document_chains(source: DocumentChains) -> None:
    if source not in _document_chains:
        _document_chains.append(source)


def documents_verify() -> tuple[int, str | None]:
    """Every evidence document (issue 16) against its stored file and the chain:
    (documents checked, the first problem in Chinese, or None).

    The stored file is read and hashed again: a file replaced or edited in the store
    (the disk under ``MEDIA_ROOT``, or the bucket) no longer has the SHA-256 its record
    holds, and a file gone is missing. The record's hash must be the one its claim's
    ``attach_document`` event carries (a link of the HMAC chain, checked by
    ``verify``), so rewriting the row to the new file's hash is found as well, and an
    event naming a document that is not there."""
    from claims import evidence
    from claims.models import ClaimEvent, Document, DocumentKind

    if Document._meta.db_table not in connection.introspection.table_names():
        return 0, None  # a database not yet migrated to claims 0018 holds none
    chained: dict[int, tuple[int, str]] = {}
    events = ClaimEvent.objects.filter(action="attach_document").values_list(
        "claim_id", "changes"
    )
    for claim_id, changes in events.iterator(chunk_size=CHUNK):
        if isinstance(changes, dict) and isinstance(changes.get("document"), int):
            chained[changes["document"]] = (claim_id, str(changes.get("sha256", "")))
    owned: dict[int, tuple[str, str | None]] = {}
    for source in _document_chains:
        owned.update(source())
    labels = dict(DocumentKind.choices)
    checked = 0
    documents = Document.objects.order_by("pk").values_list(
        "pk", "claim_id", "kind", "sha256", "stored_as"
    )
    for pk, claim_id, kind, sha256, stored_as in documents.iterator(chunk_size=CHUNK):
        checked += 1
        other = owned.pop(pk, None)
        owner = f"申报 #{claim_id} 的" if claim_id is not None else ""
        if claim_id is None and other is not None:
            owner = other[0]
        name = f"{owner}材料 #{pk}（{labels.get(kind, kind)}）"
        if claim_id is None and other is not None:
            if other[1] is None:
                return checked, f"{name}在审计链中没有上传记录"
            if other[1] != sha256:
                return checked, (
                    f"{name}的记录与审计链不符：链中为 SHA-256 {other[1]}，"
                    f"记录为 SHA-256 {sha256}"
                )
        if claim_id is not None:
            link = chained.pop(pk, None)
            if link is None:
                return checked, f"{name}在审计链中没有上传记录"
            if link != (claim_id, sha256):
                return checked, (
                    f"{name}的记录与审计链不符：链中为申报 #{link[0]}、"
                    f"SHA-256 {link[1]}，记录为 SHA-256 {sha256}"
                )
        found = evidence.stored_sha256(stored_as)
        if found is None:
            return checked, f"{name}的文件缺失：{stored_as}"
        if found != sha256:
            return checked, (
                f"{name}的文件已被替换或改动：{stored_as}，"
                f"记录的 SHA-256 为 {sha256}，存储中的文件为 {found}"
            )
    if chained:
        pk, (claim_id, _) = min(chained.items())
        return checked, f"申报 #{claim_id} 的审计链记录了材料 #{pk}，但该材料记录不存在"
    if owned:
        pk, (owner, _) = min(owned.items())
        return checked, f"{owner}审计链记录了材料 #{pk}，但该材料记录不存在"
    return checked, None
