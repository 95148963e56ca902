from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    verbose_name = "补贴申报"
    name = "claims"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A person's claims are one ground for seeing their full ID number; the registry
        # (an earlier stage, which may not import this one) asks through this
        # registration: see trainees.selectors.
        # A live claim of a clerk's unit is also what lets the clerk open the person
        # by id (the limited view, issue 14, 3).
        from claims.selectors import claim_grounds_reads, claim_grounds_reveal
        from trainees.selectors import ground_reads, ground_reveals

        ground_reveals(claim_grounds_reveal)
        ground_reads(claim_grounds_reads)
