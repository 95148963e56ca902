"""The public notice pages (公示, issue 17), mounted at the site root by
``altay_skills.urls``; names outside a namespace, like the other public pages."""

from django.urls import URLPattern, URLResolver, path

from quarters import public_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("public/notices/", views.public_notice_list, name="public_notices"),
    path("public/notices/<int:pk>/", views.public_notice_detail, name="public_notice"),
    path(
        "public/notices/<int:pk>/lines/<int:line>/objection/",
        views.public_objection_new,
        name="public_objection_new",
    ),
    path(
        "public/objections/",
        views.public_objection_lookup,
        name="public_objection_lookup",
    ),
]
