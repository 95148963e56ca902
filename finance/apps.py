from django.apps import AppConfig


class FinanceConfig(AppConfig):
    verbose_name = "汇总与拨付"
    name = "finance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from claims.signals import claim_moved
        from classes.signals import class_completed
        from finance.receivers import on_claim_moved, on_class_completed

        claim_moved.connect(on_claim_moved, dispatch_uid="finance.on_claim_moved")
        class_completed.connect(
            on_class_completed, dispatch_uid="finance.on_class_completed"
        )
