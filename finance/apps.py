from django.apps import AppConfig


class FinanceConfig(AppConfig):
    verbose_name = "汇总与拨付"
    name = "finance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from claims.selectors import offer_claim_payers
        from claims.signals import claim_moved
        from classes.signals import class_completed
        from finance.receivers import on_claim_moved, on_class_completed
        from finance.selectors import payers_of_claims

        # who paid a claim never decides it (maker, checker and payer: three people)
        offer_claim_payers(payers_of_claims)
        claim_moved.connect(on_claim_moved, dispatch_uid="finance.on_claim_moved")
        class_completed.connect(
            on_class_completed, dispatch_uid="finance.on_class_completed"
        )
