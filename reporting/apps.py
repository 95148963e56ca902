from django.apps import AppConfig


class ReportingConfig(AppConfig):
    verbose_name = "汇总与拨付"
    name = "reporting"
    default_auto_field = "django.db.models.BigAutoField"
