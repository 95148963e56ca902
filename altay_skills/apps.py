from django.apps import AppConfig


class AltaySkillsConfig(AppConfig):
    verbose_name = "系统核心"
    name = "altay_skills"
    default_auto_field = "django.db.models.BigAutoField"
