from django.apps import AppConfig


class FinanceConfig(AppConfig):
    verbose_name = "汇总与拨付"
    name = "finance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from claims.signals import claim_moved
        from finance.receivers import on_claim_moved

        claim_moved.connect(on_claim_moved, dispatch_uid="finance.on_claim_moved")
