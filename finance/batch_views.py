"""The bank loop's staff pages (issue 18), in Chinese: payment batches (list, build,
download, mark sent, cancel, upload the bank's result), payee account changes (entered
by one person, confirmed by a second) and the reconciliation of a rollup per fund with
its workbook. Each action calls one service of ``finance.payouts``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.views import AuthedRequest, renders_domain_errors
from altay_skills.errors import DomainError, NotFound
from altay_skills.permissions import require, shown_on_page
from altay_skills.record_ids import record_id
from claims import rules
from finance import payouts, selectors
from finance.bank_rules import BANKS
from finance.models import (
    AccountChangeStatus,
    BankTemplate,
    BatchStatus,
    PayeeAccountChange,
    PaymentBatch,
    PaymentKind,
    Rollup,
    RollupStatus,
    TemplatePurpose,
)
from finance.permissions import (
    can_confirm_account_change,
    can_manage_batches,
    can_propose_account_change,
    can_read_account_changes,
    can_read_batches,
    can_read_full_account,
    can_release_batch,
)
from trainees.id_numbers import InvalidIdNumber
from trainees.selectors import trainee_by_id_number
from trainees.services import trainee_found

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_TYPES = {"csv": "text/csv", "fixed": "text/plain", "xlsx": XLSX}


def _int(value: object) -> int | None:
    return record_id(value, digits=11)


# --- Batches ---------------------------------------------------------------------------------
@login_required
@require_GET
@renders_domain_errors
def batch_list(request: AuthedRequest) -> HttpResponse:
    require(can_read_batches(request.user))
    return _render_batches(request)


def _render_batches(request: AuthedRequest, *, status: int = 200) -> HttpResponse:
    context = {
        "batches": list(selectors.batches()[:100]),
        "rollups": list(
            Rollup.objects.filter(status=RollupStatus.READY).order_by("-quarter")
        ),
        "templates": list(
            BankTemplate.objects.filter(purpose=TemplatePurpose.BATCH).order_by("name")
        ),
        "kinds": PaymentKind.choices,
        "can_manage": bool(can_manage_batches(request.user)),
    }
    return render(request, "finance/batches.html", context, status=status)


@login_required
@require_POST
@renders_domain_errors
def batch_build_view(request: AuthedRequest) -> HttpResponse:
    require(can_manage_batches(request.user))
    try:
        rollup_id, template_id = (
            _int(request.POST.get("rollup")),
            _int(request.POST.get("bank_template")),
        )
        if rollup_id is None or template_id is None:
            raise DomainError("invalid", "请选择汇总和银行模板")
        batch = payouts.batch_build(
            rollup_id=rollup_id,
            kind=request.POST.get("kind", ""),
            template_id=template_id,
            actor=request.user,
        )
    except DomainError as exc:
        messages.error(request, shown_on_page(exc).message)
        return _render_batches(request, status=exc.status_code)
    left_out = payouts.left_out_text(getattr(batch, "left_out", {}))
    messages.success(
        request,
        f"批次#{batch.pk}已生成：{batch.count}笔，共{rules.yuan(batch.total)}元。"
        # the claims it left out, named as when nothing is payable (the review of
        # session 25: two claims silently missing from a batch of one)
        + (f"未列入：{left_out.removeprefix('；')}。" if left_out else ""),
    )
    return redirect("batch_detail", pk=batch.pk)


@login_required
@require_GET
@renders_domain_errors
def batch_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    require(can_read_batches(request.user))
    return _render_batch(request, pk)


def holder_differs(line: Any) -> bool:
    """The account's holder is not the payee the claim names — the trainee, or the
    institution — as the bank will see it: worth a look before the file goes (an
    account entered for someone else is the classic way to redirect money). A school
    grant's family (三(三)11) is paid in a parent's name: not flagged."""
    claim = line.claim
    if claim.payee == "institution":
        return line.holder != claim.institution.name
    if claim.payee == "trainee":
        return line.holder != claim.trainee.name
    return False


def _not_releasable(user: User, batch: PaymentBatch) -> str:
    """Why ``user`` may not send ``batch`` or record its answer (a maker of one of its
    claims), or ``""``: the page offers neither then, and says why."""
    if batch.status not in (BatchStatus.BUILT, BatchStatus.SENT) or not (
        can_manage_batches(user)
    ):
        return ""
    act = payouts.SEND_ACT if batch.status == BatchStatus.BUILT else payouts.ANSWER_ACT
    refused = can_release_batch(user, act, selectors.batch_claims_made_by(batch, user))
    return "" if refused else refused.reason


def _render_batch(
    request: AuthedRequest, pk: int, *, status: int = 200
) -> HttpResponse:
    batch = selectors.batch_for(pk)
    full = bool(can_read_full_account(request.user))
    lines: list[dict[str, Any]] = [
        {
            "line": line,
            "account": line.account if full else "****" + line.account[-4:],
            "bank": BANKS.get(line.bank, BANKS["other"]).name,
            "other_holder": holder_differs(line),
        }
        for line in batch.lines.select_related(
            "claim", "claim__trainee", "claim__institution", "payment"
        ).order_by("seq")
    ]
    context = {
        "batch": batch,
        "lines": lines,
        "flagged": sum(1 for x in lines if x["line"].account_recent),
        "other_holders": sum(1 for x in lines if x["other_holder"]),
        "results": list(batch.results.select_related("uploaded_by")),
        "can_manage": bool(can_manage_batches(request.user)),
        "not_mine": _not_releasable(request.user, batch),
        # what changed since it was built, shown before the file goes to the bank
        "changed": (
            payouts.changed_since_built(batch)
            if batch.status == BatchStatus.BUILT and can_manage_batches(request.user)
            else []
        ),
        "built": batch.status == BatchStatus.BUILT,
        "sent": batch.status == BatchStatus.SENT,
    }
    return render(request, "finance/batch_detail.html", context, status=status)


@login_required
@require_GET
@renders_domain_errors
def batch_file(request: AuthedRequest, pk: int) -> HttpResponse:
    require(can_read_batches(request.user))
    batch = selectors.batch_for(pk)
    response = HttpResponse(
        bytes(batch.content), content_type=FILE_TYPES[batch.template.format]
    )
    ext = batch.filename.rsplit(".", 1)[-1]
    response["Content-Disposition"] = (
        f'attachment; filename="batch-{batch.pk}.{ext}"; '
        f"filename*=UTF-8''{quote(batch.filename)}"
    )
    response["X-Content-SHA256"] = batch.sha256
    return response


def _batch_action(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    require(can_manage_batches(request.user))
    try:
        if action == "sent":
            payouts.batch_mark_sent(
                batch_id=pk,
                actor=request.user,
                already_at_bank=request.POST.get("already_at_bank") == "1",
            )
            messages.success(request, f"批次#{pk}已标记为已报送银行。")
        elif action == "cancel":
            payouts.batch_cancel(batch_id=pk, actor=request.user)
            messages.success(request, f"批次#{pk}已作废，其中款项可重新列入批次。")
        else:
            upload = request.FILES.get("file")
            if upload is None:
                raise DomainError("invalid_file", "请选择银行回盘文件")
            outcome = payouts.batch_result_record(
                batch_id=pk, content=upload.read(), actor=request.user
            )
            if outcome.repeated:
                messages.info(request, "该回盘文件已登记过，本次未作任何改动。")
            else:
                messages.success(
                    request,
                    f"回盘已登记：成功{outcome.paid}笔（{rules.yuan(outcome.total_paid)}"
                    f"元），失败{outcome.failed}笔。",
                )
    except DomainError as exc:
        shown = shown_on_page(exc)
        messages.error(request, shown.message)
        for problem in (
            (shown.detail or {}).get("unmatched", [])
            if isinstance(shown.detail, dict)
            else []
        ):
            messages.warning(request, problem)
        return _render_batch(request, pk, status=exc.status_code)
    return redirect("batch_detail", pk=pk)


@login_required
@require_POST
@renders_domain_errors
def batch_sent_view(request: AuthedRequest, pk: int) -> HttpResponse:
    return _batch_action(request, pk, "sent")


@login_required
@require_POST
@renders_domain_errors
def batch_cancel_view(request: AuthedRequest, pk: int) -> HttpResponse:
    return _batch_action(request, pk, "cancel")


@login_required
@require_POST
@renders_domain_errors
def batch_result_view(request: AuthedRequest, pk: int) -> HttpResponse:
    return _batch_action(request, pk, "result")


# --- Reconciliation ----------------------------------------------------------------------------
@login_required
@require_GET
@renders_domain_errors
def reconciliation_view(request: AuthedRequest, pk: int) -> HttpResponse:
    require(can_read_batches(request.user))
    rollup = selectors.rollup_for(request.user, pk)
    rows = selectors.reconciliation(rollup)
    context = {
        "rollup": rollup,
        "rows": [(r.label, r) for r in rows],
    }
    return render(request, "finance/reconciliation.html", context)


@login_required
@require_GET
@renders_domain_errors
def reconciliation_xlsx(request: AuthedRequest, pk: int) -> HttpResponse:
    require(can_read_batches(request.user))
    rollup = selectors.rollup_for(request.user, pk)
    content = payouts.reconciliation_workbook(rollup, selectors.reconciliation(rollup))
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = (
        f'attachment; filename="reconciliation-{rollup.quarter}.xlsx"'
    )
    return response


# --- Payee accounts ----------------------------------------------------------------------------
@login_required
@require_GET
@renders_domain_errors
def account_change_list(request: AuthedRequest) -> HttpResponse:
    require(can_read_account_changes(request.user))
    return _render_accounts(request)


#: The account form's fields shown back after a refusal (the file cannot be: a
#: browser never fills a file input). ``owner_pk``: the payee a person's or an
#: institution's page linked to, by its number here.
TYPED_FIELDS = (
    "owner",
    "owner_ref",
    "owner_pk",
    "owner_linked",
    "bank",
    "number",
    "holder",
    "reason",
)


def _typed(data: Any) -> dict[str, str]:
    return {name: str(data.get(name, ""))[:200] for name in TYPED_FIELDS}


def _payee(
    user: Any, owner: str, ref: str, pk: str = "", linked: str = ""
) -> dict[str, int]:
    """The payee the form names: a person by their 18-digit ID number, an institution
    by its 18-character unified social credit code — what the clerk has on the signed
    request — or, from the link on its page, by its number in this system
    (``owner_pk``). A number typed as the payee is an ID number or a code, never a
    row's number: a truncated ID number was once taken for one."""
    ref = "".join(ref.split()).upper()  # spaces pasted inside the number too
    if linked and linked != owner:
        raise DomainError(
            "invalid", "收款人类别与从其页面带入的收款人不符，请重新打开录入页面"
        )
    if owner in ("trainee", "institution") and (number := _int(pk)) is not None:
        return {f"{owner}_id": number}
    if owner not in ("trainee", "institution") or not ref:
        raise DomainError(
            "invalid",
            "请选择收款人类别，并填写培训人员的身份证号码或机构的统一社会信用代码",
        )
    if owner == "trainee":
        try:
            person = trainee_by_id_number(user, ref)
        except InvalidIdNumber as exc:
            raise DomainError("invalid_id_number", exc.message) from None
        if person is None:
            raise DomainError(
                "invalid_reference",
                "该身份证号码尚未登记，请先在“培训人员”中登记该人员",
            )
        trainee_found(actor=user, trainee=person)
        return {"trainee_id": person.pk}
    institution = selectors.institution_by_credit_code(ref)
    if institution is None:
        raise DomainError(
            "invalid_reference", "未找到该统一社会信用代码的培训机构/企业"
        )
    return {"institution_id": institution.pk}


def _linked_payee(user: Any, owner: str, pk: str) -> str:
    """How the form names the payee its page linked to: the person's masked name and
    ID number, or the institution's name ("" if there is none)."""
    number = _int(pk)
    if number is None:
        return ""
    if owner == "institution":
        found = selectors.institution_named(number)
        return found or ""
    return selectors.trainee_named_masked(user, number) or ""


def _render_accounts(
    request: AuthedRequest, *, status: int = 200, typed: dict[str, str] | None = None
) -> HttpResponse:
    changes = list(
        PayeeAccountChange.objects.select_related(
            "trainee", "institution", "proposed_by", "decided_by"
        ).filter(
            **(
                {"proposed_by__unit_id": request.user.unit_id}
                if request.user.is_clerk
                else {}
            )
        )[:100]
    )
    for change in changes:
        rule = BANKS.get(change.bank)
        change.bank_name = rule.name if rule else change.bank  # type: ignore[attr-defined]
    typed = typed or {
        "owner": "institution"
        if request.GET.get("owner") == "institution"
        else "trainee",
        "owner_pk": str(_int(request.GET.get("owner_id")) or ""),
    }
    context = {
        "changes": changes,
        # a change entered before a newer one in force is only sent back
        "superseded": selectors.superseded_account_changes(changes),
        "banks": [(code, rule.name) for code, rule in BANKS.items()],
        # the checker holds a waiting change's whole number and bank to the signed
        # request (shown masked, it was confirmed unseen: the review of session 25)
        "full_numbers": bool(can_read_full_account(request.user)),
        "can_confirm": bool(can_confirm_account_change(request.user)),
        "can_propose": bool(can_propose_account_change(request.user)),
        "proposed": AccountChangeStatus.PROPOSED,
        # refused: what was typed; linked from a person's or a claim's page: its payee
        "typed": typed,
        "linked_payee": _linked_payee(
            request.user, typed.get("owner", ""), typed.get("owner_pk", "")
        ),
        "request_file_again": typed is not None and bool(request.FILES),
    }
    return render(request, "finance/accounts.html", context, status=status)


@login_required
@require_POST
@renders_domain_errors
def account_change_propose_view(request: AuthedRequest) -> HttpResponse:
    require(can_propose_account_change(request.user))
    try:
        payee = _payee(
            request.user,
            request.POST.get("owner", ""),
            request.POST.get("owner_ref") or "",
            # ``owner_id``: the form's earlier name, still taken
            request.POST.get("owner_pk") or request.POST.get("owner_id") or "",
            request.POST.get("owner_linked", ""),
        )
        change = payouts.account_change_propose(
            actor=request.user,
            bank=request.POST.get("bank", ""),
            number=request.POST.get("number", ""),
            holder=request.POST.get("holder", ""),
            reason=request.POST.get("reason", ""),
            request_file=request.FILES.get("request_file"),
            **payee,
        )
    except NotFound:
        # a payee not there, or not one this user may enter: the same words either way
        messages.error(
            request,
            "未找到该收款人，或无权为其录入账户：请核对身份证号码或统一社会信用代码",
        )
        return _render_accounts(request, status=400, typed=_typed(request.POST))
    except DomainError as exc:
        messages.error(request, shown_on_page(exc).message)
        return _render_accounts(
            request, status=exc.status_code, typed=_typed(request.POST)
        )
    messages.success(
        request, f"账户变更已录入（新账号 {change.new_masked}），待财政另一人确认。"
    )
    return redirect("account_change_list")


@login_required
@require_POST
@renders_domain_errors
def account_change_refuse_view(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decide_account_change(
        request,
        lambda: payouts.account_change_refuse(change_id=pk, actor=request.user),
        lambda change: f"账户变更（新账号 {change.new_masked}）已退回，未生效。",
    )


@login_required
@require_POST
@renders_domain_errors
def account_change_confirm_view(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decide_account_change(
        request,
        lambda: payouts.account_change_confirm(change_id=pk, actor=request.user),
        lambda account: f"收款账户 {account.masked} 已确认生效。",
    )


def _decide_account_change(
    request: AuthedRequest, decide: Any, said: Any
) -> HttpResponse:
    """Finance's second look at a change (confirm or send back): refused, the list
    again with the reason; done, the list with what was done."""
    require(can_confirm_account_change(request.user))
    try:
        done = decide()
    except DomainError as exc:
        messages.error(request, shown_on_page(exc).message)
        return _render_accounts(request, status=exc.status_code)
    messages.success(request, said(done))
    return redirect("account_change_list")
