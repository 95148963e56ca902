"""The class pages (issue 16), included under "classes/" by ``altay_skills.urls``.
Names stay outside a namespace, like the claims' pages."""

from django.urls import URLPattern, URLResolver, path

from classes import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.class_list, name="class_list"),
    path("new/", views.class_create_view, name="class_create"),
    path("<int:pk>/", views.class_detail, name="class_detail"),
    path(
        "<int:pk>/confirmation-slips/",
        views.class_confirmation_slips,
        name="class_confirmation_slips",
    ),
    path("<int:pk>/roster/", views.class_roster_view, name="class_roster"),
    path("<int:pk>/file/", views.class_file_view, name="class_file"),
    path("<int:pk>/accept/", views.class_accept_view, name="class_accept"),
    path("<int:pk>/return/", views.class_return_view, name="class_return"),
    path("<int:pk>/start/", views.class_start_view, name="class_start"),
    path("<int:pk>/cancel/", views.class_cancel_view, name="class_cancel"),
    path("<int:pk>/sessions/", views.class_session_view, name="class_session"),
    path(
        "<int:pk>/documents/",
        views.class_document_upload_view,
        name="class_document_upload",
    ),
    path("<int:pk>/complete/", views.class_complete_view, name="class_complete"),
    path(
        "<int:pk>/complete/import/",
        views.class_complete_import_view,
        name="class_complete_import",
    ),
]
