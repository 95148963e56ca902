"""The catalogue (programs, institutions, dated policy entries) as the rules engine's
plain facts: the claim stage reads the catalogue, the catalogue knows nothing of claims."""

from __future__ import annotations

from decimal import Decimal

from claims.rules import InstitutionFacts, PolicyTerm, ProgramFacts
from programs.models import Institution, PolicyEntry, Program, fund_label


def policy_terms() -> list[PolicyTerm]:
    """Every policy entry, past and future: the rules pick what is in force on a date.

    The table holds dozens of rows, so one query serves every decision.
    """
    terms = []
    for e in PolicyEntry.objects.all():
        value = e.value
        terms.append(
            PolicyTerm(
                entry_id=e.pk,
                kind=e.kind,
                value=Decimal(value) if value is not None else Decimal(0),
                effective_from=e.effective_from,
                effective_to=e.effective_to,
                clause=e.clause,
                source_document=e.source_document,
                program=e.program_id,
                level=e.level_id,
                unit=e.unit_id,
            )
        )
    return terms


def program_facts(program: Program) -> ProgramFacts:
    return ProgramFacts(
        number=program.number,
        name=program.name,
        section=program.section,
        claimable=program.claimable,
        fund=program.fund,
        fund_label=fund_label(program.fund, blank=""),
    )


def institution_facts(institution: Institution | None) -> InstitutionFacts | None:
    if institution is None:
        return None
    return InstitutionFacts(
        kind=institution.kind,
        unit=institution.unit_id,
        certified_difficult=institution.certified_difficult,
        name=institution.name,
        admitted=institution.admitted,
    )
