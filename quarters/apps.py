from django.apps import AppConfig


class QuartersConfig(AppConfig):
    verbose_name = "季度报表与审核"
    name = "quarters"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The reviewer's decisions, offered on the claim page and in the claim API
        # (claims may not import this stage: see claims.permissions).
        from claims.permissions import offer_approval_hint, offer_decisions
        from quarters.permissions import approval_hint, decisions_offered

        offer_decisions(decisions_offered)
        offer_approval_hint(approval_hint)
        # who put a claim in a report made it: none of them judges a trainee's "not me"
        from claims.selectors import offer_claim_makers
        from quarters.selectors import report_makers_of_claims

        offer_claim_makers(report_makers_of_claims)
