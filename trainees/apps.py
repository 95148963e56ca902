from typing import Any

from django.apps import AppConfig


class TraineesConfig(AppConfig):
    verbose_name = "培训人员实名库"
    name = "trainees"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A Celery worker replaces the root logger's handlers with its own: mask those
        # too, so no task's log line carries a full ID number.
        from celery.signals import after_setup_logger, after_setup_task_logger

        after_setup_logger.connect(_mask_celery_handlers, weak=False)
        after_setup_task_logger.connect(_mask_celery_handlers, weak=False)
        # Errors to the prefecture's own Sentry, scrubbed (issue 19), in the web and
        # the worker alike: both load the apps.
        from django.conf import settings

        if settings.SENTRY_DSN:
            from trainees.error_reports import start_sentry

            start_sentry(settings.SENTRY_DSN, environment=settings.SENTRY_ENVIRONMENT)


def _mask_celery_handlers(logger: Any = None, **kwargs: Any) -> None:
    from trainees.log_masking import mask_handlers_of

    if logger is not None:
        mask_handlers_of(logger)
