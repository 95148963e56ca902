from django.apps import AppConfig


class ReportingConfig(AppConfig):
    verbose_name = "统计与公开"
    name = "reporting"
    default_auto_field = "django.db.models.BigAutoField"
