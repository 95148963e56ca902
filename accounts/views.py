"""Sign in, sign out and change password (Django's auth views with this site's pages),
and how a refusal of a service (``DomainError``) is shown on any HTML page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from django_htmx.middleware import HtmxDetails

from accounts.forms import ChangePasswordForm, LoginForm
from accounts.models import User
from altay_skills.errors import DomainError, NotFound, PermissionDenied

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
