"""The public pages, included at the site root by ``altay_skills.urls`` (before
``claims.urls``). Names stay outside a namespace; ``/public/disclosure/`` is the path
api-contract.md names."""

from django.urls import URLPattern, URLResolver, path

from reporting import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("public/disclosure/", views.public_disclosure, name="public_disclosure"),
    path("public/programs/", views.public_programs, name="public_programs"),
    path("public/institutions/", views.public_institutions, name="public_institutions"),
]
