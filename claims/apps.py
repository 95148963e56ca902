from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    verbose_name = "补贴申报"
    name = "claims"
    default_auto_field = "django.db.models.BigAutoField"
