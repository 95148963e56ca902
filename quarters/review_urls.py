"""The reviewer's decision from a claim's own page: the address stays under ``claims/``
(mounted at the site root by ``altay_skills.urls``, before ``claims.urls``)."""

from django.urls import URLPattern, URLResolver, path

from quarters import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("claims/<int:pk>/review/", views.claim_review_view, name="claim_review"),
]
