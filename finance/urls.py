"""The money pages, included at the site root by ``altay_skills.urls`` (before
``claims.urls``). Names stay outside a namespace; the notices of
``reporting.selectors.notifications_for`` link to ``/rollups/<id>/`` and ``/finance/``."""

from django.urls import URLPattern, URLResolver, path

from finance import batch_views, views

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
    # the bank loop (issue 18)
    path("finance/batches/", batch_views.batch_list, name="batch_list"),
    path("finance/batches/build/", batch_views.batch_build_view, name="batch_build"),
    path("finance/batches/<int:pk>/", batch_views.batch_detail, name="batch_detail"),
    path(
        "finance/batches/<int:pk>/download/",
        batch_views.batch_file,
        name="batch_file",
    ),
    path(
        "finance/batches/<int:pk>/sent/", batch_views.batch_sent_view, name="batch_sent"
    ),
    path(
        "finance/batches/<int:pk>/cancel/",
        batch_views.batch_cancel_view,
        name="batch_cancel",
    ),
    path(
        "finance/batches/<int:pk>/result/",
        batch_views.batch_result_view,
        name="batch_result",
    ),
    path(
        "rollups/<int:pk>/reconciliation/",
        batch_views.reconciliation_view,
        name="rollup_reconciliation",
    ),
    path(
        "rollups/<int:pk>/reconciliation/xlsx/",
        batch_views.reconciliation_xlsx,
        name="rollup_reconciliation_xlsx",
    ),
    path(
        "finance/accounts/", batch_views.account_change_list, name="account_change_list"
    ),
    path(
        "finance/accounts/propose/",
        batch_views.account_change_propose_view,
        name="account_change_propose",
    ),
    path(
        "finance/accounts/<int:pk>/confirm/",
        batch_views.account_change_confirm_view,
        name="account_change_confirm",
    ),
    path(
        "finance/accounts/<int:pk>/refuse/",
        batch_views.account_change_refuse_view,
        name="account_change_refuse",
    ),
]
