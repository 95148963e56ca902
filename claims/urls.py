"""The browser pages at the site root. Names stay outside a namespace: settings
LOGIN_REDIRECT_URL = "home", and the spreadsheet import is included separately under
"claims/import/" (it comes first in altay_skills/urls.py, so it is never shadowed here).

Under "trainees/": the registry's pages that show a person's claims are this stage's
(``registry_views``); registration and the change of a person's facts are the registry's
own (``trainees.urls``).
"""

from django.urls import URLPattern, URLResolver, include, path

from claims import confirmation_views, registry_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    # the trainee's confirmation (issue 17): /t/<code>/ needs no login
    path(
        "t/<str:code>/",
        confirmation_views.trainee_confirmation,
        name="trainee_confirmation",
    ),
    path(
        "claims/<int:pk>/confirmation-slip/",
        confirmation_views.claim_confirmation_slip,
        name="claim_confirmation_slip",
    ),
    path("grievances/", confirmation_views.grievance_list, name="grievance_list"),
    path(
        "grievances/<int:pk>/finding/",
        confirmation_views.grievance_finding_view,
        name="grievance_finding",
    ),
    path("claims/", views.claim_list, name="claim_list"),
    path("claims/new/", views.claim_create_view, name="claim_create"),
    path("claims/check/", views.claim_check_view, name="claim_check"),
    path("claims/trainee/", views.claim_trainee_view, name="claim_trainee"),
    path(
        "claims/register-trainee/",
        views.claim_register_trainee_view,
        name="claim_register_trainee",
    ),
    path("claims/<int:pk>/", views.claim_detail, name="claim_detail"),
    path("claims/<int:pk>/edit/", views.claim_edit_view, name="claim_edit"),
    path("claims/<int:pk>/check/", views.claim_check_view, name="claim_check_edit"),
    path("claims/<int:pk>/submit/", views.claim_submit_view, name="claim_submit"),
    path("claims/<int:pk>/withdraw/", views.claim_withdraw_view, name="claim_withdraw"),
    path("claims/<int:pk>/delete/", views.claim_delete_view, name="claim_delete"),
    path(
        "claims/<int:pk>/documents/",
        views.claim_document_upload_view,
        name="claim_document_upload",
    ),
    path("trainees/", registry_views.trainee_lookup, name="trainee_lookup"),
    path("trainees/<int:pk>/", registry_views.trainee_detail, name="trainee_detail"),
    path(
        "trainees/<int:pk>/id-number/",
        registry_views.trainee_id_number_reveal,
        name="trainee_id_number_reveal",
    ),
    path("trainees/", include("trainees.urls")),
]
