from django.contrib import admin
from django.urls import include, path

from altay_skills import assets

admin.site.site_header = "阿勒泰地区职业技能提升补贴管理系统"
admin.site.site_title = "职业技能提升补贴"
admin.site.index_title = "系统管理"

# Under /api/ the API's JSON error, elsewhere the Chinese pages (altay_skills.error_pages).
handler400 = "altay_skills.error_pages.bad_request"
handler403 = "altay_skills.error_pages.permission_denied"
handler404 = "altay_skills.error_pages.page_not_found"
handler500 = "altay_skills.error_pages.server_error"

urlpatterns = [
    path("favicon.ico", assets.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/", include("altay_skills.api_urls")),
    path("accounts/", include("accounts.urls")),
    path("claims/import/", include("claims.import_urls")),
    path("reports/", include("quarters.urls")),
    path("classes/", include("classes.urls")),
    path("dashboards/", include("reporting.dashboard_urls")),
    path("", include("finance.urls")),
    path("", include("reporting.urls")),
    path("", include("quarters.public_urls")),
    # the challenge's pictures (django-simple-captcha, issue 17): drawn here, no CDN
    path("captcha/", include("captcha.urls")),
    path("", include("quarters.review_urls")),
    path("", include("claims.urls")),
]
