"""The registry pages, included by claims.urls under "trainees/"."""

from django.urls import URLPattern, URLResolver, path

from trainees import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.trainee_lookup, name="trainee_lookup"),
    path("register/", views.trainee_register_view, name="trainee_register"),
    path("<int:pk>/", views.trainee_detail, name="trainee_detail"),
    path("<int:pk>/edit/", views.trainee_edit_view, name="trainee_edit"),
    path(
        "<int:pk>/id-number/",
        views.trainee_id_number_reveal,
        name="trainee_id_number_reveal",
    ),
]
