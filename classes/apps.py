from django.apps import AppConfig


class ClassesConfig(AppConfig):
    verbose_name = "培训班"
    name = "classes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A claim that came from a class is judged again (on submit) with the class's
        # attendance; claims may not import this stage, so it asks through this.
        # The same for a class's documents: who beyond the unit scope may open them
        # (the institution's staff), and the chain each one's hash is a link of.
        from claims.audit import offer_document_chains
        from claims.facts import offer_attendance, offer_class_seats
        from claims.selectors import offer_claim_makers, offer_document_reads
        from classes.selectors import (
            attendance_of_claim,
            class_document_chains,
            class_document_reads,
            class_makers_of_claims,
            class_seats_of_people,
        )

        offer_attendance(attendance_of_claim)
        # ... and a claim typed by hand for the training a class gave is refused
        offer_class_seats(class_seats_of_people)
        # who made a class made its claims: none of them judges a trainee's "not me"
        offer_claim_makers(class_makers_of_claims)
        offer_document_reads(class_document_reads)
        offer_document_chains(class_document_chains)
        # ... and its warnings carry the class's (issue 16: classes.warnings)
        from claims.warnings import offer_warnings
        from classes.warnings import LABELS, warnings_for_class_claims

        offer_warnings(warnings_for_class_claims, LABELS)
