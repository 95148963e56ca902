from django.apps import AppConfig


class TraineesConfig(AppConfig):
    verbose_name = "培训人员实名库"
    name = "trainees"
    default_auto_field = "django.db.models.BigAutoField"
