from django.apps import AppConfig


class QuartersConfig(AppConfig):
    verbose_name = "季度报表与审核"
    name = "quarters"
    default_auto_field = "django.db.models.BigAutoField"
