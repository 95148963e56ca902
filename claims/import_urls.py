"""Spreadsheet import, mounted at ``claims/import/`` by ``altay_skills.urls``."""

from django.urls import URLPattern, URLResolver, path

from claims import import_views

app_name = "claims_import"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", import_views.import_start, name="start"),
    path("template.xlsx", import_views.import_template, name="template"),
    path("<str:token>/", import_views.import_result, name="result"),
    path(
        "<str:token>/result.xlsx",
        import_views.import_result_xlsx,
        name="result_xlsx",
    ),
    path("<str:token>/progress/", import_views.import_progress, name="progress"),
    path("<str:token>/save/", import_views.import_save, name="save"),
]
