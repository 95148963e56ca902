from django.apps import AppConfig


class ClassesConfig(AppConfig):
    verbose_name = "培训班"
    name = "classes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A claim that came from a class is judged again (on submit) with the class's
        # attendance; claims may not import this stage, so it asks through this.
        from claims.facts import offer_attendance
        from classes.selectors import attendance_of_claim

        offer_attendance(attendance_of_claim)
