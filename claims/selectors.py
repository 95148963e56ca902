"""Every read of claims goes through here, with the user's unit scope applied.

A claim the user may not see is answered exactly like one that does not exist (404).

A person's subsidy history (五(二): how many counted claims this year, the trade/levels
already subsidised) is read here too, not in the registry (``trainees``): it is the
person's claims, and the registry is an earlier stage that never imports this one. So is
the claim part of the rule for seeing a full ID number (``claim_grounds_reveal``), which
``ClaimsConfig.ready()`` hands to the registry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.base import ModelState

from accounts.models import User
from altay_skills.errors import NotFound
from altay_skills.statements import rows_for_keys
from claims import rules, workflow
from claims.facts import policy_terms
from claims.models import Claim, ClaimAction, ClaimEvent, Document
from claims.rules import PriorClaim
from claims.warnings import ClaimWarning
from programs.models import Institution
from trainees.models import Trainee

# --- Who made a claim (经办与审核分离, issue 12) ------------------------------------------
#: A claim's own trail: the acts of whoever made the claim what it is — its evidence
#: uploaded too (who put a certificate in the file never checks it). A decision, a
#: spot check or a payment is not among them: the reviewer who returned a claim decides
#: it again once it is corrected.
MAKER_ACTIONS = (
    ClaimAction.CREATE,
    ClaimAction.EDIT,
    ClaimAction.SUBMIT,
    ClaimAction.WITHDRAW,
    ClaimAction.REPORT,
    ClaimAction.ATTACH_DOCUMENT,
)


#: A later stage whose records make claims too (``classes``: the class a claim came
#: from — who drafted, rostered, filed and accepted it and recorded its sessions):
#: claim ids → their makers there. Registered from its ``AppConfig.ready()`` (as
#: ``claims.facts.offer_attendance``), since this stage may not import that one.
ClaimMakerSource = Callable[[list[int]], dict[int, frozenset[int]]]
_claim_maker_sources: list[ClaimMakerSource] = []


def offer_claim_makers(source: ClaimMakerSource) -> None:
    if source not in _claim_maker_sources:
        _claim_maker_sources.append(source)


#: Who paid a claim (``finance``: its payments' recorders, and the payer of the advance
#: of the class it came from): claim ids → those people. They never decide it, check
#: its documents or rule on an objection to it — maker, checker and payer are three
#: people. Registered from ``finance``'s ``AppConfig.ready()``; not makers (a payer
#: of the advance pays the balance too).
_claim_payer_sources: list[ClaimMakerSource] = []


def offer_claim_payers(source: ClaimMakerSource) -> None:
    if source not in _claim_payer_sources:
        _claim_payer_sources.append(source)


def offered_claim_payers(claim_ids: list[int]) -> dict[int, frozenset[int]]:
    found: dict[int, set[int]] = {}
    for source in _claim_payer_sources:
        for claim_id, actors in source(claim_ids).items():
            found.setdefault(claim_id, set()).update(actors)
    return {pk: frozenset(actors) for pk, actors in found.items()}


#: A claim's own trail: the acts that checked or decided it — the reviewer's decisions
#: and spot checks. Whoever did one never pays the claim.
CHECKER_ACTIONS = (
    ClaimAction.APPROVE,
    ClaimAction.REJECT,
    ClaimAction.RETURN,
    ClaimAction.SPOT_CHECK,
)


def claim_trail_makers_and_payers(
    claims: Collection[Claim],
) -> dict[int, frozenset[int]]:
    """``claim_trail_makers`` and whoever paid the claim (``offered_claim_payers``):
    who may not rule on its trainee's "not me" — a dismissal releases the hold on a
    balance (the attacker review had the officer who paid the advance dismiss it)."""
    found = claim_trail_makers(claims)
    payers = offered_claim_payers(list(found))
    return {pk: actors | payers.get(pk, frozenset()) for pk, actors in found.items()}


def claim_trail_makers(claims: Collection[Claim]) -> dict[int, frozenset[int]]:
    """Who made each claim what it is by its own trail (one query): its creator and
    the actors of its ``MAKER_ACTIONS`` — and, for a claim a class created, who made
    the class (``offer_claim_makers``). ``quarters.selectors.claim_makers`` adds the
    makers of the reports that held it, for the reviewer's decisions."""
    makers: dict[int, set[int]] = {c.pk: {c.created_by_id} for c in claims}
    for claim_id, actor_id in ClaimEvent.objects.filter(
        claim_id__in=list(makers), action__in=MAKER_ACTIONS
    ).values_list("claim_id", "actor_id"):
        makers[claim_id].add(actor_id)
    for claim_id, actors in offered_claim_makers(list(makers)).items():
        makers[claim_id].update(actors)
    return {
        pk: frozenset(a for a in actors if a is not None)
        for pk, actors in makers.items()
    }


def offered_claim_makers(
    claim_ids: list[int], *, besides: ClaimMakerSource | None = None
) -> dict[int, frozenset[int]]:
    """The makers the later stages offer (``offer_claim_makers``) for these claims —
    all but ``besides``, the caller's own source (``quarters.selectors.claim_makers``
    reads its reports itself and asks the others: a class's makers)."""
    found: dict[int, set[int]] = {}
    for source in _claim_maker_sources:
        if source is besides:
            continue
        for claim_id, actors in source(claim_ids).items():
            found.setdefault(claim_id, set()).update(actors)
    return {pk: frozenset(actors) for pk, actors in found.items()}


def claims_visible_to(user: User) -> QuerySet[Claim]:
    qs = Claim.objects.select_related(
        "trainee",
        "program",
        "trade",
        "level",
        "institution",
        "employer",
        "unit",
        "created_by",
        # claims.permissions reads the report's status: one join, not a query per claim
        "report",
    )
    return unit_scoped(qs, user)


def claims_listed(user: User) -> QuerySet[Claim]:
    """The claim list's rows (page and API): the claims the user may see, from the
    claims table alone. Planning the ten joins of ``claims_visible_to`` took
    PostgreSQL 100-190 ms on a million claims while running it took under 10 ms; the
    rows each listed claim names (its person, institution, program and the rest) are
    attached in the same statement (``read_listed``)."""
    return unit_scoped(Claim.objects.all(), user)


#: What the claim list shows of the other rows a claim points to (the report's status
#: and whether its sample is drawn decide which actions are offered): at most two
#: fields a row.
LIST_NAMES: dict[str, tuple[str, ...]] = {
    "trainee": ("name", "id_number"),  # the number only masked (id_number_masked)
    "institution": ("name",),
    "program": ("name",),
    "trade": ("name",),
    "level": ("name",),
    "unit": ("name",),
    "created_by": ("username",),
    "reviewed_by": ("username",),
    "report": ("status", "spot_check_seed"),
}


#: Claims whose policy entries one statement reads (SQLite's parameter limit).
CLAIMS_PER_STATEMENT = 1000


def policy_entry_ids(claim_ids: Collection[int]) -> dict[int, list[int]]:
    """The ids of the policy entries each claim's decision stands on, smallest first:
    one statement on the link table, no policy rows read (the list shows only ids).
    Written from the link table's columns: the ORM's compiling cost more than the
    reading (issue 20)."""
    found: dict[int, list[int]] = {pk: [] for pk in claim_ids}
    through: Any = Claim.policy_entries.through._meta
    q = connection.ops.quote_name
    table = q(through.db_table)
    claim, entry = (
        q(through.get_field(name).column) for name in ("claim", "policyentry")
    )
    rows = rows_for_keys(
        lambda marks: (  # identifiers from the model, every value a parameter
            f"SELECT {claim}, {entry} FROM {table} "  # noqa: S608  # nosec B608
            f"WHERE {claim} IN ({marks}) ORDER BY {entry}"
        ),
        found,
        per=CLAIMS_PER_STATEMENT,
    )
    for claim_id, entry_id in rows:
        found[claim_id].append(entry_id)
    return found


def read_listed(ids: QuerySet[Claim], *, newest_first: bool = True) -> list[Claim]:
    """The claims a page of the list holds, with the rows they name attached, in one
    statement: ``ids`` is the page as a queryset of primary keys (filtered, ordered
    and cut to the page by the caller: ``claims.listing``), read back newest (or
    oldest) first with every column of the claim and, through one scalar subquery a
    value, the fields ``LIST_NAMES`` shows of its person, institution, program, trade,
    level, unit, creator, reviewer and report (their other fields are deferred).

    The claims and their rows are made the way ``Model.from_db`` leaves them, but
    without ``Model.__init__``, which was a third of the time of the ORM's reading
    and the names' own statement (190 instances a page). At a million claims this
    read takes 7.2 ms where those two took 8.8 (medians of 300, interleaved; issue 20,
    docs/performance.md section 14), and the list sends one statement fewer.

    Every column goes through the database's and the field's converters as the ORM's
    do (``_converters``), and the claim remembers its summarised fields as
    ``from_db`` has it do (``Claim.remember_loaded``); tests/claims/test_read_listed.py
    compares each claim and row with the ORM's. A row named by several claims of the
    page is one object.

    The claims come back in the list's order (``created_at``, then the id), whatever
    order ``ids`` cut the page by. ``ids`` may not be ``distinct()``: its ordering
    would join its one column in the ``IN``."""
    if ids.query.distinct:
        raise TypeError("read_listed takes the page's ids, not a distinct() queryset")
    db = connections[ids.db]
    q = db.ops.quote_name
    meta: Any = Claim._meta  # a concrete field's column is a name, never None
    try:  # compiled for the database it is read from
        inner, params = ids.values("pk").query.get_compiler(using=ids.db).as_sql()
    except EmptyResultSet:  # a scope or filter that matches nothing: no query
        return []
    columns = list(meta.concrete_fields)
    select = [f"c.{q(f.column)}" for f in columns]
    named: list[tuple[Any, list[Any]]] = []  # (foreign key, the fields it shows)
    for relation, shown in LIST_NAMES.items():
        key: Any = meta.get_field(relation)  # a foreign key of LIST_NAMES
        model = key.related_model
        fields = [model._meta.get_field(name) for name in shown]
        named.append((key, fields))
        select += [  # identifiers from the models
            f"(SELECT n.{q(f.column)} FROM {q(model._meta.db_table)} n "  # noqa: S608  # nosec B608
            f"WHERE n.{q(model._meta.pk.column)} = c.{q(key.column)})"
            for f in fields
        ]
        columns += fields
    way = "DESC" if newest_first else "ASC"
    statement = (  # identifiers from the models, every value a parameter of ``ids``
        f"SELECT {', '.join(select)} FROM {q(meta.db_table)} c "  # noqa: S608  # nosec B608
        f"WHERE c.{q(meta.pk.column)} IN ({inner}) "
        f"ORDER BY c.{q(meta.get_field('created_at').column)} {way}, "
        f"c.{q(meta.pk.column)} {way}"
    )
    with db.cursor() as cursor:
        cursor.execute(statement, params)
        rows = [list(row) for row in cursor.fetchall()]
    for at, column, converters in _converters(db, columns):
        for row in rows:
            for convert in converters:
                row[at] = convert(row[at], column, db)
    width, alias = len(meta.concrete_fields), db.alias
    own = [f.attname for f in meta.concrete_fields]
    made: dict[tuple[str, Any], Any] = {}
    claims = []
    for row in rows:
        claim = _as_loaded(Claim, own, row[:width], alias)
        claim.remember_loaded()
        at = width
        for key, fields in named:
            values = row[at : at + len(fields)]
            at += len(fields)
            pk = getattr(claim, key.attname)
            if pk is None:
                continue  # the descriptor answers None without a query
            if values[0] is None and not fields[0].null:
                # no such row (a foreign key is checked at commit): the descriptor
                # reads it when asked, and answers DoesNotExist as the ORM's would
                continue
            if (key.name, pk) not in made:
                model = key.related_model
                made[key.name, pk] = _as_loaded(
                    model,
                    [model._meta.pk.attname, *(f.attname for f in fields)],
                    (pk, *values),
                    alias,
                )
            # the cache select_related fills (the row the claim's own key names)
            key.set_cached_value(claim, made[key.name, pk])
        claims.append(claim)
    return claims


def _converters(
    db: BaseDatabaseWrapper, fields: Sequence[Any]
) -> list[tuple[int, Any, list[Any]]]:
    """For each of ``fields`` that has any, the converters the ORM passes its value
    through: the database's (SQLite's dates, times and decimals) and the field's own
    (a JSON field's text) — as ``(position, column, converters)``."""
    found = []
    for at, shown in enumerate(fields):
        column = shown.get_col(shown.model._meta.db_table)
        converters = db.ops.get_db_converters(column) + column.get_db_converters(db)
        if converters:
            found.append((at, column, converters))
    return found


def _as_loaded(
    model: Any, attnames: Sequence[str], values: Sequence[Any], alias: str
) -> Any:
    """An instance of ``model`` as ``Model.from_db`` leaves it — these attributes
    loaded, the rest deferred, not adding, of the database ``alias`` — without running
    ``Model.__init__`` (no model has init signals; tests/claims/test_read_listed.py
    checks)."""
    instance = model.__new__(model)
    instance.__dict__.update(zip(attnames, values, strict=True))
    state = ModelState()
    state.adding = False
    state.db = alias
    instance._state = state
    return instance


def unit_scoped(qs: QuerySet[Any], user: User) -> QuerySet[Any]:
    """The one unit scope: a clerk sees their unit's rows; the reviewer, finance and the
    auditor every unit's; anyone else (the administrator included) none."""
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.is_clerk:
        return qs.filter(unit_id=user.unit_id)
    if user.is_reviewer or user.is_finance or user.is_auditor:
        return qs
    return qs.none()


def warnings_seen_by(
    user: User, found: Mapping[int, Sequence[ClaimWarning]]
) -> dict[int, list[dict[str, Any]]]:
    """Claims' warnings as a page shows them to ``user``: each other claim by its id,
    marked ``visible`` (a link) only when the user may open it (one query)."""
    ids = {i for warnings in found.values() for w in warnings for i in w.claims}
    visible = (
        set(
            unit_scoped(Claim.objects.filter(pk__in=ids), user).values_list(
                "pk", flat=True
            )
        )
        if ids
        else set()
    )
    return {
        pk: [
            {
                "code": w.code,
                "label": w.label,
                "message": w.message,
                "claims": [{"id": i, "visible": i in visible} for i in w.claims],
            }
            for w in warnings
        ]
        for pk, warnings in found.items()
    }


def claim_for(user: User, claim_id: int) -> Claim:
    try:
        return claims_visible_to(user).get(pk=claim_id)
    except (Claim.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到该申报") from None


def claim_events(user: User, claim_id: int) -> QuerySet[ClaimEvent]:
    claim = claim_for(user, claim_id)
    return claim.events.select_related("actor").order_by("at", "id")


def prior_claims_of(
    trainee_id: int, *, exclude_claim_id: int | None = None
) -> list[PriorClaim]:
    """A person's claims in every unit, as the rules see them (五(二): prefecture-wide).

    Drafts are left out: they count for nothing until submitted.
    """
    history = prior_claims_of_many([trainee_id])[trainee_id]
    return [p for p in history if p.claim_id != exclude_claim_id]


def prior_claims_of_many(trainee_ids: Sequence[int]) -> dict[int, list[PriorClaim]]:
    """``prior_claims_of`` for many people in one query (the spreadsheet import)."""
    history: dict[int, list[PriorClaim]] = defaultdict(list)
    if not trainee_ids:
        return history
    # Plain tuples, not model instances: building 20,000 Claims with three related
    # objects each was most of an import check on a million claims (11.7 s → 1.9 s).
    rows = (
        Claim.objects.filter(trainee_id__in=list(trainee_ids))
        .exclude(status=workflow.DRAFT)
        .values_list(
            "id",
            "trainee_id",
            "program_id",
            "status",
            "training_end",
            "trade_id",
            "level_id",
            "unit__name",
            "trade__name",
            "level__name",
            "work_in_lieu_months",
        )
    )
    for row in rows:
        pk, trainee, program, status, end, trade, level, unit, tname, lname, wil = row
        history[trainee].append(
            PriorClaim(
                claim_id=pk,
                program=program,
                status=status,
                training_end=end,
                trade=trade,
                level=level,
                unit_name=unit,
                trade_name=tname or "",
                level_name=lname or "",
                work_in_lieu_months=wil or 0,
            )
        )
    return history


# --- A person's claims, as the registry's pages show them ---------------------------------
@dataclass(frozen=True)
class UsedTradeLevel:
    trade: str
    level: str
    unit: str
    year: int
    status: str


@dataclass(frozen=True)
class SubsidyHistory:
    """What a clerk may see of a person's subsidies in every unit."""

    year: int
    counted_this_year: int
    annual_limit: int | None
    used: list[UsedTradeLevel] = field(default_factory=list)
    by_year: dict[int, int] = field(default_factory=dict)

    @property
    def remaining_this_year(self) -> int | None:
        if self.annual_limit is None:
            return None
        return max(0, self.annual_limit - self.counted_this_year)


def subsidy_history(
    trainee: Trainee, *, year: int | None = None, exclude_claim_id: int | None = None
) -> SubsidyHistory:
    """Counting claims (submitted, approved, returned) in every unit, one query;
    ``exclude_claim_id``: the claim being edited, which the rules leave out too.

    Prefecture-wide on purpose (a person may claim in any unit, 五(二)): the history
    shows counts and trade/levels, never another unit's claim itself.
    """
    year = year or date.today().year
    claims = (
        Claim.objects.filter(trainee=trainee, status__in=rules.COUNTING_STATUSES)
        .select_related("unit", "trade", "level")
        .order_by("training_end")
    )
    if exclude_claim_id is not None:
        claims = claims.exclude(pk=exclude_claim_id)
    counted_this_year = 0
    by_year: dict[int, int] = {}
    used = []
    for c in claims:
        if not rules.counts_toward_limits(c.program_id):
            continue
        end_year = c.training_end.year
        by_year[end_year] = by_year.get(end_year, 0) + 1
        if end_year == year:
            counted_this_year += 1
        if c.trade is not None and c.level is not None:  # select_related: no query
            used.append(
                UsedTradeLevel(
                    trade=c.trade.name,
                    level=c.level.name,
                    unit=c.unit.name,
                    year=end_year,
                    status=c.status,
                )
            )
    term = rules.term_in_force(policy_terms(), "annual_limit", on=date(year, 12, 31))
    return SubsidyHistory(
        year=year,
        counted_this_year=counted_this_year,
        annual_limit=int(term.value) if term else None,
        used=used,
        by_year=by_year,
    )


def claim_grounds_reveal(user: User, trainee: Trainee) -> bool:
    """Whether the person's claims make their full ID number ``user``'s business: for a
    clerk, a *live* claim of their unit for the person — submitted and not withdrawn or
    rejected (``rules.COUNTING_STATUSES``: submitted, approved, returned); for the
    prefecture roles, a claim beyond a draft (one that reached review and payment).

    A draft never counts: anyone may type one, for anybody, for one yuan (issue 12, 4),
    and a withdrawn or rejected claim is over. A returned claim was submitted and still
    holds its place (it counts toward the limits too), so its unit keeps the ground.

    The registry asks this through ``trainees.selectors.id_number_reveal_refusal``
    (registered by ``ClaimsConfig.ready()``); the role check and the registering unit
    are the registry's own part of that rule.
    """
    claims = Claim.objects.filter(trainee=trainee)
    if user.is_clerk:
        return claims.filter(
            unit_id=user.unit_id, status__in=sorted(rules.COUNTING_STATUSES)
        ).exists()
    return claims.exclude(status=workflow.DRAFT).exists()


def claim_grounds_reads(user: User) -> QuerySet[Any]:
    """The people a clerk may open by id although another unit registered them: those
    with a live claim of the clerk's unit (``rules.COUNTING_STATUSES``, as for a
    reveal: a draft anyone may type for anybody opens nothing). Registered by
    ``ClaimsConfig.ready()`` with ``trainees.selectors.ground_reads``; the prefecture
    roles read everyone anyway."""
    if not user.is_clerk or not user.unit_id:
        return Claim.objects.none().values("trainee_id")
    return Claim.objects.filter(
        unit_id=user.unit_id, status__in=sorted(rules.COUNTING_STATUSES)
    ).values("trainee_id")


def import_institutions(user: User) -> list[Institution]:
    """The training institutions the import offers a clerk (issue 15, item 5): their
    unit's, admitted to the catalogue (七(三)), by name. Other institutions are still
    accepted by their code."""
    if not user.unit_id:
        return []
    return list(
        Institution.objects.filter(unit_id=user.unit_id, admitted=True).order_by(
            "name", "credit_code"
        )
    )


# --- Evidence (issue 16) -----------------------------------------------------------------
#: A later stage whose documents some users open beyond the unit scope (``classes``:
#: institution staff, their institution's classes' documents): user → a subquery of
#: document ids, or None. This stage may not import that one, so it registers from its
#: ``AppConfig.ready()`` (as ``claims.facts.offer_attendance``).
DocumentReads = Callable[[User], QuerySet[Any] | None]
_document_reads: list[DocumentReads] = []


def offer_document_reads(source: DocumentReads) -> None:
    if source not in _document_reads:
        _document_reads.append(source)


def documents_visible_to(user: User) -> QuerySet[Document]:
    """The documents the user may open: the owner's scope (``unit_scoped`` on the
    document's unit, which is its claim's or its class's; a class's documents to its
    institution's staff too, ``offer_document_reads``), a deleted draft's left out like
    the draft."""
    qs = Document.objects.select_related("claim").exclude(
        claim__status=workflow.DELETED
    )
    scoped = unit_scoped(qs, user)
    for source in _document_reads:
        ids = source(user)
        if ids is not None:
            scoped = scoped | qs.filter(pk__in=ids)
    return scoped


def document_for(user: User, document_id: int) -> Document:
    """One document the user may open; another unit's answers like a missing one."""
    try:
        return documents_visible_to(user).get(pk=document_id)
    except (Document.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到该材料") from None


def claim_documents(user: User, claim: Claim) -> list[Document]:
    """A claim's documents, oldest first, as the user may see them."""
    return list(
        documents_visible_to(user)
        .filter(claim_id=claim.pk)
        .select_related("uploaded_by")
        .order_by("uploaded_at", "id")
    )
