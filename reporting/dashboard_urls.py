"""The dashboards, included by ``altay_skills.urls`` at ``dashboards/`` under the
``dashboards`` namespace (``reverse("dashboards:prefecture")``)."""

from django.urls import URLPattern, URLResolver, path

from reporting import dashboard_views as views

app_name = "dashboards"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("prefecture/", views.prefecture, name="prefecture"),
    path("unit/", views.unit, name="unit"),
    path("finance/", views.finance, name="finance"),
    path("anomalies/", views.anomalies, name="anomalies"),
    path("budgets/", views.budgets_page, name="budgets"),
    path("review/<int:year>/", views.review_page, name="review"),
    path("review/<int:year>.xlsx", views.review_xlsx, name="review_xlsx"),
    path("review/<int:year>/<str:code>/", views.review_unit_page, name="review_unit"),
]
