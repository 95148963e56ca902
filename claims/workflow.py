"""Which action moves a claim from which status to which, and which role takes it: one
table, plain Python.

``(status, action) → (next status, roles, whether a reason is needed)``. It answers for
the status and the role only, and every service asks it before it changes a claim.
It is not the whole of "may this be done": the unit, maker ≠ checker, the report a
decision needs and a pending spot check are the permission functions'
(``claims.permissions``, ``quarters.permissions``), and the budget's reason
(七(五)) is ``quarters.services``' — all of them consulted by the service as well.
"""

from __future__ import annotations

from dataclasses import dataclass

DRAFT = "draft"
SUBMITTED = "submitted"
APPROVED = "approved"
REJECTED = "rejected"
RETURNED = "returned"
WITHDRAWN = "withdrawn"
#: A draft its clerk deleted (删除草稿): the row and its trail stay, for the audit, but
#: no reader sees it (``claims.models.Claim.objects``).
DELETED = "deleted"

STATUS_LABELS = {
    DRAFT: "草稿",
    SUBMITTED: "已提交",
    APPROVED: "已核准",
    REJECTED: "已驳回",
    RETURNED: "已退回",
    WITHDRAWN: "已撤回",
    DELETED: "已删除",
}

#: Every action a claim's trail records — the transitions below and the rest — with
#: its label: the one source of ``claims.models.ClaimAction`` (this table is plain
#: Python and imports no model, so the choices take their labels from here).
ACTION_LABELS = {
    "create": "创建",
    "edit": "修改",
    "submit": "提交",
    "withdraw": "撤回",
    "delete": "删除草稿",
    "approve": "核准",
    "reject": "驳回",
    "return": "退回",
    "report": "随季度报表报送",
    "spot_check": "抽查核对",
    # evidence (issue 16): a document attached, its SHA-256 a link of the chain
    "attach_document": "上传材料",
    # the claim's money (finance.models.LedgerEntry): each ledger line is also a link
    # of the claim's chain, so a payment or a recovery cannot be rewritten unnoticed
    "owed": "核定应付",
    "paid": "拨付",
    "failed": "拨付失败",
    "recovery": "应追回",
    "recovered": "追回到账",
    "netted": "追回冲抵",
}

CLERK = "county_clerk"
REVIEWER = "prefecture_reviewer"

#: What a reviewer is told when a reason is missing (or says nothing): a rejection or a
#: return (五(一)), approving past a fund's budget (七(五)), approving a claim whose
#: spot check found the documents inconsistent (issue 12).
REVIEW_REASON = "驳回或退回须填写理由"
BUDGET_REASON = "超预算核准须说明理由"
SPOT_CHECK_REASON = "抽查材料不符仍予核准须说明理由"


@dataclass(frozen=True)
class Transition:
    target: str
    roles: frozenset[str]
    needs_reason: bool = False


TRANSITIONS: dict[tuple[str, str], Transition] = {
    (DRAFT, "edit"): Transition(DRAFT, frozenset({CLERK})),
    (RETURNED, "edit"): Transition(RETURNED, frozenset({CLERK})),
    (DRAFT, "submit"): Transition(SUBMITTED, frozenset({CLERK})),
    (RETURNED, "submit"): Transition(SUBMITTED, frozenset({CLERK})),
    (DRAFT, "withdraw"): Transition(WITHDRAWN, frozenset({CLERK})),
    (DRAFT, "delete"): Transition(DELETED, frozenset({CLERK})),
    (SUBMITTED, "withdraw"): Transition(WITHDRAWN, frozenset({CLERK})),
    (RETURNED, "withdraw"): Transition(WITHDRAWN, frozenset({CLERK})),
    (SUBMITTED, "approve"): Transition(APPROVED, frozenset({REVIEWER})),
    (SUBMITTED, "reject"): Transition(
        REJECTED, frozenset({REVIEWER}), needs_reason=True
    ),
    (SUBMITTED, "return"): Transition(
        RETURNED, frozenset({REVIEWER}), needs_reason=True
    ),
}


def transition_for(status: str, action: str) -> Transition | None:
    return TRANSITIONS.get((status, action))
