"""The dashboards, included by ``altay_skills.urls`` at ``dashboards/`` under the
``dashboards`` namespace (``reverse("dashboards:prefecture")``)."""

from django.urls import URLPattern, URLResolver, path

from reporting.dashboard_views import budgets_page, review_pages, roles

app_name = "dashboards"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", roles.index, name="index"),
    path("prefecture/", roles.prefecture, name="prefecture"),
    path("unit/", roles.unit, name="unit"),
    path("finance/", roles.finance, name="finance"),
    path("anomalies/", roles.anomalies, name="anomalies"),
    path("anomalies/refresh/", roles.anomalies_refresh, name="anomalies_refresh"),
    path("budgets/", budgets_page.budgets_page, name="budgets"),
    path("review/<int:year>/", review_pages.review_page, name="review"),
    path("review/<int:year>.xlsx", review_pages.review_xlsx, name="review_xlsx"),
    path(
        "review/<int:year>/<str:code>/",
        review_pages.review_unit_page,
        name="review_unit",
    ),
]
