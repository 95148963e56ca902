"""``create_staff_user USERNAME --role ROLE [--unit CODE] [--institution ID] --password PW``
(api-contract.md): ``--institution`` is required for ``institution_staff``.

The operator's tool for setting up a new system (the first administrators, the demo
users), run with shell access to the server. Once the system is running, a change of
a user's role or unit is proposed by one administrator and confirmed by a second on the
role-change page (``accounts.services``), which records both; this command does not.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Role, User


class Command(BaseCommand):
    help = (
        "Create or update a staff user with a role (and a unit for county clerks). "
        "For setting up a new system only: once it runs, a change of role or unit is "
        "proposed by one administrator and confirmed by a second (角色变更), and is "
        "recorded; this command records no role change."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--unit", help="unit code, required for county_clerk")
        parser.add_argument(
            "--institution",
            type=int,
            help="institution id, required for institution_staff",
        )
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", default="", help="display name (姓名)")
        parser.add_argument(
            "--skip-password-check",
            action="store_true",
            help="accept a weak password (demo data only)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        role, unit_code = opts["role"], opts["unit"]
        unit: Any = None
        if unit_code:
            # The unit model through the user's own field: accounts sits below the
            # catalogue (programs) and does not import it.
            units = User._meta.get_field("unit").related_model._default_manager
            unit = units.filter(code=unit_code).first()
            if unit is None:
                raise CommandError(f"unknown unit code {unit_code!r}")
        if role == Role.COUNTY_CLERK and unit is None:
            raise CommandError("--unit is required for county_clerk")
        institution: Any = None
        if opts["institution"] is not None:
            if role != Role.INSTITUTION_STAFF:
                raise CommandError("--institution is only for institution_staff")
            institutions = User._meta.get_field("institution").related_model
            institution = institutions._default_manager.filter(
                pk=opts["institution"]
            ).first()
            if institution is None:
                raise CommandError(f"unknown institution id {opts['institution']}")
        if role == Role.INSTITUTION_STAFF and institution is None:
            raise CommandError("--institution is required for institution_staff")
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=opts["username"])
            if not opts["skip_password_check"]:
                try:
                    validate_password(opts["password"], user)
                except ValidationError as exc:
                    raise CommandError("; ".join(exc.messages)) from exc
            user.role = role
            # by key: the models come through the user's own fields (see above)
            user.unit_id = unit.pk if unit is not None else None
            user.institution_id = institution.pk if institution is not None else None
            user.is_staff = role == Role.ADMINISTRATOR
            user.is_superuser = False
            if opts["name"]:
                user.first_name = opts["name"]
            user.set_password(opts["password"])
            user.save()
        verb = "created" if created else "updated"
        where = f", {unit_code}" if unit else ""
        if institution is not None:
            where = f", institution {institution.pk}"
        self.stdout.write(f"{verb} {user.username} ({role}{where})")
