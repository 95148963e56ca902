"""Sign in, sign out and change password (Django's auth views with this site's pages),
how a refusal of a service (``DomainError``) is shown on any HTML page, and the pages
of role changes (proposed by one administrator, confirmed by a second, read by the
auditor)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from django_htmx.middleware import HtmxDetails

from accounts.forms import ChangePasswordForm, LoginForm, RoleChangeProposalForm
from accounts.models import RoleChangeStatus, User
from accounts.permissions import (
    can_cancel_role_change,
    can_confirm_role_change,
    can_propose_role_change,
    can_read_role_changes,
)
from accounts.selectors import role_change_candidates, role_changes_visible_to
from accounts.services import (
    role_change_cancel,
    role_change_confirm,
    role_change_propose,
)
from accounts.tokens import tokens_revoke
from altay_skills.errors import DomainError, NotFound, PermissionDenied

ROLE_CHANGES_PER_PAGE = 50

_View = TypeVar("_View", bound=Callable[..., HttpResponse])


class AuthedRequest(HttpRequest):
    """A request behind ``login_required``: a signed-in staff ``User``, htmx details."""

    user: User
    htmx: HtmxDetails


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): the navbar's 退出 button is a small form."""

    def post(self, request, *args, **kwargs) -> HttpResponse:  # type: ignore[no-untyped-def]
        response = super().post(request, *args, **kwargs)
        messages.info(request, "您已安全退出。")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = ChangePasswordForm

    def form_valid(self, form: Any) -> HttpResponse:
        """A new password ends the user's API tokens (any other path that sets a
        password ends them too: ``accounts.tokens.fingerprint``)."""
        response = super().form_valid(form)
        tokens_revoke(user=form.user)
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


# --- Domain errors on HTML pages ---------------------------------------------------------
def domain_error_response(request: HttpRequest, exc: DomainError) -> HttpResponse:
    """A refusal as a page: missing or not yours → 404, forbidden → 403, else its 4xx.

    Never a 500: a ``DomainError`` is something the user can act on.
    """
    if isinstance(exc, NotFound):
        raise Http404(exc.message)
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(exc.message)
    return render(request, "error.html", {"error": exc}, status=exc.status_code or 400)


def renders_domain_errors(view: _View) -> _View:
    """Turn a ``DomainError`` that a view lets through into the page above."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            return domain_error_response(request, exc)

    return wrapped  # type: ignore[return-value]


# --- Role changes: proposed by one administrator, confirmed by a second ------------------
@login_required
@require_GET
def role_change_list(request: AuthedRequest) -> HttpResponse:
    """Every role change (who, when, from, to, why, who confirmed): the administrators
    act on the open ones here, the auditor reads them all."""
    allowed, why = can_read_role_changes(request.user)
    if not allowed:
        raise DjangoPermissionDenied(why)
    status = request.GET.get("status", "")
    changes = role_changes_visible_to(request.user, status=status)
    page = Paginator(changes, ROLE_CHANGES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "change": change,
            "can_confirm": change.status == RoleChangeStatus.PROPOSED
            and can_confirm_role_change(request.user, change)[0],
            "can_cancel": change.status == RoleChangeStatus.PROPOSED
            and can_cancel_role_change(request.user, change)[0],
        }
        for change in page.object_list
    ]
    context = {
        "page": page,
        "rows": rows,
        "status": status if status in RoleChangeStatus.values else "",
        "status_choices": RoleChangeStatus.choices,
        "may_propose": can_propose_role_change(request.user)[0],
    }
    return render(request, "accounts/role_changes.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@renders_domain_errors
def role_change_propose_view(request: AuthedRequest) -> HttpResponse:
    allowed, why = can_propose_role_change(request.user)
    if not allowed:
        raise DjangoPermissionDenied(why)
    candidates = role_change_candidates(request.user)
    if request.method == "GET":
        form = RoleChangeProposalForm(
            candidates=candidates, initial={"user": request.GET.get("user")}
        )
        return render(request, "accounts/role_change_propose.html", {"form": form})
    form = RoleChangeProposalForm(request.POST, candidates=candidates)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            change = role_change_propose(
                actor=request.user,
                user_id=data["user"].pk,
                role=data["role"],
                unit_code=data["unit"].pk if data["unit"] else None,
                reason=data["reason"],
            )
        except DomainError as exc:
            if isinstance(exc, PermissionDenied | NotFound):
                raise
            form.add_error(None, exc.message)
            status = exc.status_code
        else:
            messages.success(
                request,
                f"已提议将 {change.user.username} 的角色变更为"
                f"{change.get_to_role_display()}，须由另一位系统管理员确认后生效。",
            )
            return redirect("role_change_list")
    context = {"form": form}
    return render(request, "accounts/role_change_propose.html", context, status=status)


@login_required
@require_POST
@renders_domain_errors
def role_change_confirm_view(request: AuthedRequest, pk: int) -> HttpResponse:
    change = role_change_confirm(actor=request.user, change_id=pk)
    messages.success(
        request,
        f"已确认：{change.user.username} 的角色现为{change.get_to_role_display()}"
        "（其登录和 API 令牌已失效，须重新登录）。",
    )
    return redirect("role_change_list")


@login_required
@require_POST
@renders_domain_errors
def role_change_cancel_view(request: AuthedRequest, pk: int) -> HttpResponse:
    change = role_change_cancel(actor=request.user, change_id=pk)
    messages.info(request, f"已取消对 {change.user.username} 的角色变更提议。")
    return redirect("role_change_list")
