"""The money pages, included at the site root by ``altay_skills.urls`` (before
``claims.urls``). Names stay outside a namespace; the notices of
``reporting.selectors.notifications_for`` link to ``/rollups/<id>/`` and ``/finance/``."""

from django.urls import URLPattern, URLResolver, path

from finance import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("reports/", views.report_list, name="report_list"),
    path("rollups/request/", views.rollup_request_view, name="rollup_request"),
    path("rollups/<int:pk>/", views.rollup_detail, name="rollup_detail"),
    path("rollups/<int:pk>/progress/", views.rollup_progress, name="rollup_progress"),
    path(
        "rollups/<int:pk>/claims/<int:claim_id>/",
        views.rollup_claim_row,
        name="rollup_claim_row",
    ),
    path("finance/", views.finance_home, name="finance_home"),
    path("finance/payments/", views.payment_record_view, name="payment_record"),
    path(
        "finance/classes/<int:pk>/advance/",
        views.class_advance_view,
        name="class_advance_pay",
    ),
    path(
        "finance/recoveries/<int:pk>/settle/",
        views.recovery_settle_view,
        name="recovery_settle",
    ),
]
