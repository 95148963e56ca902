from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "阿勒泰地区职业技能提升补贴管理系统"
admin.site.site_title = "职业技能提升补贴"
admin.site.index_title = "系统管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("altay_skills.api_urls")),
    path("accounts/", include("accounts.urls")),
    path("claims/import/", include("claims.import_urls")),
    path("reports/", include("quarters.urls")),
    path("dashboards/", include("reporting.dashboard_urls")),
    path("", include("finance.urls")),
    path("", include("reporting.urls")),
    path("", include("quarters.review_urls")),
    path("", include("claims.urls")),
]
