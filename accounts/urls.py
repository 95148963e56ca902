"""Sign in and out, and the role changes. Names stay outside a namespace:
settings.LOGIN_URL = "login", LOGOUT_REDIRECT_URL = "login" and Django's password views
reverse them as they are."""

from django.urls import URLPattern, URLResolver, path

from accounts import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # a change of role or unit: one administrator proposes, a second confirms
    path("role-changes/", views.role_change_list, name="role_change_list"),
    path(
        "role-changes/propose/",
        views.role_change_propose_view,
        name="role_change_propose",
    ),
    path(
        "role-changes/<int:pk>/confirm/",
        views.role_change_confirm_view,
        name="role_change_confirm",
    ),
    path(
        "role-changes/<int:pk>/cancel/",
        views.role_change_cancel_view,
        name="role_change_cancel",
    ),
]
