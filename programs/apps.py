from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    verbose_name = "项目与政策"
    name = "programs"
    default_auto_field = "django.db.models.BigAutoField"
