"""The REST API under ``/api/`` (api-contract.md), its schema and its docs."""

from django.urls import URLPattern, URLResolver, path, re_path

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.apis import TokenLogoutApi, TokenObtainApi
from altay_skills import assets
from altay_skills.api import RedocView, api_not_found
from claims import apis as claims
from claims import confirmation_apis as confirmations
from claims import registry_apis
from classes import apis as classes
from finance import apis as finance
from programs import apis as programs
from quarters import apis as reports
from quarters import public_apis as public_notice
from reporting import apis as reporting
from trainees import apis as trainees

urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("auth/logout/", TokenLogoutApi.as_view(), name="api-token-logout"),
    # reference data
    path("units/", programs.UnitListApi.as_view(), name="api-units"),
    path("programs/", programs.ProgramListApi.as_view(), name="api-programs"),
    path("trades/", programs.TradeListApi.as_view(), name="api-trades"),
    path("levels/", programs.LevelListApi.as_view(), name="api-levels"),
    path(
        "institutions/",
        programs.InstitutionListCreateApi.as_view(),
        name="api-institutions",
    ),
    path(
        "institutions/<int:pk>/admit/",
        programs.InstitutionAdmitApi.as_view(),
        name="api-institution-admit",
    ),
    path(
        "policy-entries/",
        programs.PolicyEntryListCreateApi.as_view(),
        name="api-policy-entries",
    ),
    # the real-name registry (a person's page with their subsidy history is the claim
    # stage's: claims.registry_apis)
    path("trainees/", registry_apis.TraineeListApi.as_view(), name="api-trainees"),
    path(
        "trainees/<int:pk>/",
        registry_apis.TraineeDetailApi.as_view(),
        name="api-trainee-detail",
    ),
    path(
        "trainees/<int:pk>/id-number/",
        trainees.TraineeIdNumberApi.as_view(),
        name="api-trainee-id-number",
    ),
    # the trainee's confirmation (issue 17): no login, rate-limited
    path(
        "confirmations/<str:code>/",
        confirmations.ConfirmationApi.as_view(),
        name="api-confirmation",
    ),
    path(
        "trainee-grievances/",
        confirmations.GrievanceListApi.as_view(),
        name="api-trainee-grievances",
    ),
    path(
        "trainee-grievances/<int:pk>/finding/",
        confirmations.GrievanceFindingApi.as_view(),
        name="api-trainee-grievance-finding",
    ),
    # the public notice (公示, issue 17): no login
    path(
        "public/notices/",
        public_notice.PublicNoticeListApi.as_view(),
        name="api-public-notices",
    ),
    path(
        "public/challenge/",
        public_notice.PublicChallengeApi.as_view(),
        name="api-public-challenge",
    ),
    path(
        "public/objections/",
        public_notice.PublicObjectionLodgeApi.as_view(),
        name="api-public-objections",
    ),
    path(
        "public/objections/<str:reference>/",
        public_notice.PublicObjectionOutcomeApi.as_view(),
        name="api-public-objection",
    ),
    path("objections/", reports.ObjectionListApi.as_view(), name="api-objections"),
    path(
        "objections/<int:pk>/finding/",
        reports.ObjectionFindingApi.as_view(),
        name="api-objection-finding",
    ),
    # claims
    path("claims/", claims.ClaimListCreateApi.as_view(), name="api-claims"),
    path("claims/check/", claims.ClaimCheckApi.as_view(), name="api-claim-check"),
    path("claims/<int:pk>/", claims.ClaimDetailApi.as_view(), name="api-claim-detail"),
    path(
        "claims/<int:pk>/events/",
        claims.ClaimEventListApi.as_view(),
        name="api-claim-events",
    ),
    path(
        "claims/<int:pk>/documents/",
        claims.ClaimDocumentsApi.as_view(),
        name="api-claim-documents",
    ),
    path(
        "documents/<int:pk>/",
        claims.DocumentDownloadApi.as_view(),
        name="api-document",
    ),
    path(
        "claims/<int:pk>/submit/",
        claims.ClaimSubmitApi.as_view(),
        name="api-claim-submit",
    ),
    path(
        "claims/<int:pk>/withdraw/",
        claims.ClaimWithdrawApi.as_view(),
        name="api-claim-withdraw",
    ),
    path(
        "claims/<int:pk>/approve/",
        reports.ClaimApproveApi.as_view(),
        name="api-claim-approve",
    ),
    path(
        "claims/<int:pk>/reject/",
        reports.ClaimRejectApi.as_view(),
        name="api-claim-reject",
    ),
    path(
        "claims/<int:pk>/return/",
        reports.ClaimReturnApi.as_view(),
        name="api-claim-return",
    ),
    path(
        "claims/approve-bulk/",
        reports.ClaimApproveBulkApi.as_view(),
        name="api-claims-approve-bulk",
    ),
    path(
        "claims/<int:pk>/payments/",
        finance.ClaimPaymentsApi.as_view(),
        name="api-claim-payments",
    ),
    # training classes (issue 16): filing, roster, sessions, completion
    path("classes/", classes.ClassListCreateApi.as_view(), name="api-classes"),
    path(
        "classes/<int:pk>/", classes.ClassDetailApi.as_view(), name="api-class-detail"
    ),
    path(
        "classes/<int:pk>/roster/",
        classes.ClassRosterApi.as_view(),
        name="api-class-roster",
    ),
    path(
        "classes/<int:pk>/file/", classes.ClassFileApi.as_view(), name="api-class-file"
    ),
    path(
        "classes/<int:pk>/accept/",
        classes.ClassAcceptApi.as_view(),
        name="api-class-accept",
    ),
    path(
        "classes/<int:pk>/return/",
        classes.ClassReturnApi.as_view(),
        name="api-class-return",
    ),
    path(
        "classes/<int:pk>/cancel/",
        classes.ClassCancelApi.as_view(),
        name="api-class-cancel",
    ),
    path(
        "classes/<int:pk>/start/",
        classes.ClassStartApi.as_view(),
        name="api-class-start",
    ),
    path(
        "classes/<int:pk>/documents/",
        classes.ClassDocumentsApi.as_view(),
        name="api-class-documents",
    ),
    path(
        "classes/<int:pk>/sessions/",
        classes.ClassSessionApi.as_view(),
        name="api-class-sessions",
    ),
    path(
        "classes/<int:pk>/complete/",
        classes.ClassCompleteApi.as_view(),
        name="api-class-complete",
    ),
    path(
        "classes/<int:pk>/advance/",
        finance.ClassAdvanceApi.as_view(),
        name="api-class-advance",
    ),
    # the county quarterly report and its spot checks
    path("reports/", reports.ReportListCreateApi.as_view(), name="api-reports"),
    path(
        "reports/<int:pk>/", reports.ReportDetailApi.as_view(), name="api-report-detail"
    ),
    path(
        "reports/<int:pk>/submit/",
        reports.ReportSubmitApi.as_view(),
        name="api-report-submit",
    ),
    path(
        "reports/<int:pk>/discard/",
        reports.ReportDiscardApi.as_view(),
        name="api-report-discard",
    ),
    path(
        "reports/<int:pk>/spot-checks/",
        reports.ReportSpotChecksApi.as_view(),
        name="api-report-spot-checks",
    ),
    path(
        "reports/<int:pk>/close/",
        reports.ReportCloseApi.as_view(),
        name="api-report-close",
    ),
    path(
        "spot-checks/<int:pk>/",
        reports.SpotCheckRecordApi.as_view(),
        name="api-spot-check",
    ),
    # the prefecture rollup, its workbook, and what finance pays
    path("rollups/", finance.RollupListCreateApi.as_view(), name="api-rollups"),
    path(
        "rollups/<int:pk>/",
        finance.RollupDetailApi.as_view(),
        name="api-rollup-detail",
    ),
    path(
        "rollups/<int:pk>/xlsx/",
        finance.RollupWorkbookApi.as_view(),
        name="api-rollup-xlsx",
    ),
    path("payments/", finance.PaymentListCreateApi.as_view(), name="api-payments"),
    path("advances/", finance.AdvanceListApi.as_view(), name="api-advances"),
    path("recoveries/", finance.RecoveryListApi.as_view(), name="api-recoveries"),
    path(
        "recoveries/<int:pk>/settle/",
        finance.RecoverySettleApi.as_view(),
        name="api-recovery-settle",
    ),
    # the bank loop (issue 18): templates, batches, the bank's answer
    path(
        "bank-templates/",
        finance.BankTemplateListApi.as_view(),
        name="api-bank-templates",
    ),
    path(
        "payment-batches/",
        finance.PaymentBatchCreateApi.as_view(),
        name="api-payment-batches",
    ),
    path(
        "payment-batches/<int:pk>/file/",
        finance.PaymentBatchFileApi.as_view(),
        name="api-payment-batch-file",
    ),
    path(
        "payment-batches/<int:pk>/sent/",
        finance.PaymentBatchSentApi.as_view(),
        name="api-payment-batch-sent",
    ),
    path(
        "payment-batches/<int:pk>/result/",
        finance.PaymentBatchResultApi.as_view(),
        name="api-payment-batch-result",
    ),
    path(
        "notifications/",
        reporting.NotificationListApi.as_view(),
        name="api-notifications",
    ),
    # the public side: no login, no personal data
    path(
        "public/disclosure/",
        reporting.PublicDisclosureApi.as_view(),
        name="api-public-disclosure",
    ),
    path(
        "public/programs/",
        reporting.PublicProgramListApi.as_view(),
        name="api-public-programs",
    ),
    path(
        "public/institutions/",
        reporting.PublicInstitutionListApi.as_view(),
        name="api-public-institutions",
    ),
    # OpenAPI: the schema, Swagger UI and ReDoc (assets served locally by the sidecar)
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path("redoc/", RedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("redoc/redoc.standalone.js", assets.redoc_bundle, name="api-redoc-bundle"),
    # anything else under /api/ answers JSON, not the HTML 404 page
    re_path(r"^.*$", api_not_found),
]
