"""The registry's own pages, included by claims.urls under "trainees/" beside the pages
that show a person's claims (lookup, person page, reveal: ``claims.registry_views``)."""

from django.urls import URLPattern, URLResolver, path

from trainees import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("register/", views.trainee_register_view, name="trainee_register"),
    path("<int:pk>/edit/", views.trainee_edit_view, name="trainee_edit"),
]
