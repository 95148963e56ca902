from django.apps import AppConfig

from axes.apps import AppConfig as AxesAppConfig


class AltaySkillsConfig(AppConfig):
    verbose_name = "系统核心"
    name = "altay_skills"
    default_auto_field = "django.db.models.BigAutoField"


class AxesConfig(AxesAppConfig):
    """django-axes under a Chinese name in the admin (its models and fields are named
    in Chinese by locale/zh_Hans)."""

    verbose_name = "登录保护"
