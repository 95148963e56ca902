from django.apps import AppConfig

from axes.apps import AppConfig as AxesAppConfig


class AltaySkillsConfig(AppConfig):
    default = True  # apps.py holds two configs: this one is the app's own
    verbose_name = "系统核心"
    name = "altay_skills"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # a task names the request that queued it (issue 19)
        from altay_skills import languages, metrics, request_context

        languages.register_languages()

        request_context.connect_task_signals()
        metrics.connect_task_signals()


class AxesConfig(AxesAppConfig):
    """django-axes under a Chinese name in the admin (its models and fields are named
    in Chinese by locale/zh_Hans)."""

    verbose_name = "登录保护"
