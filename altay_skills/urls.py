from django.contrib import admin
from django.urls import path

admin.site.site_header = "阿勒泰地区职业技能提升补贴管理系统"
admin.site.site_title = "职业技能提升补贴"
admin.site.index_title = "系统管理"

urlpatterns = [
    path("admin/", admin.site.urls),
]
