"""The quarterly report pages, mounted at ``reports/`` by ``altay_skills.urls`` (the list
at ``reports/`` itself is ``finance.views.report_list``: the reviewer's quarter shows
the rollup too). Names
stay outside a namespace, like ``claims.urls``; the notices of
``reporting.selectors.notifications_for`` link to ``/reports/<id>/``."""

from django.urls import URLPattern, URLResolver, path

from quarters import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("build/", views.report_build_view, name="report_build"),
    path("objections/", views.objection_list_view, name="objection_list"),
    path("<int:pk>/", views.report_detail, name="report_detail"),
    path("<int:pk>/submit/", views.report_submit_view, name="report_submit"),
    path("<int:pk>/discard/", views.report_discard_view, name="report_discard"),
    path(
        "<int:pk>/approve/", views.report_approve_bulk_view, name="report_approve_bulk"
    ),
    path(
        "<int:pk>/spot-checks/",
        views.report_spot_checks_view,
        name="report_spot_checks",
    ),
    path("<int:pk>/close/", views.report_close_view, name="report_close"),
    path(
        "spot-checks/<int:pk>/",
        views.spot_check_record_view,
        name="spot_check_record",
    ),
]
