from django.core.management import call_command

import pytest


@pytest.mark.django_db
def test_models_and_migrations_agree():
    # Fails when a model changed without a migration, or a migration is unstable.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
