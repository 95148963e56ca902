"""Unique chain links, and on PostgreSQL a trigger that makes claim events append-only.

The trigger refuses every UPDATE and DELETE of ``claims_claimevent``, raw SQL included.
TRUNCATE is not blocked (the test database is flushed with it). SQLite, the embedded
demo default, gets no trigger: there ``verify_audit`` only detects tampering.
"""

from django.db import migrations, models

CREATE = [
    """
    CREATE OR REPLACE FUNCTION claims_claimevent_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'claim events are append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS claims_claimevent_append_only ON claims_claimevent",
    """
    CREATE TRIGGER claims_claimevent_append_only
        BEFORE UPDATE OR DELETE ON claims_claimevent
        FOR EACH ROW EXECUTE FUNCTION claims_claimevent_append_only()
    """,
]

DROP = [
    "DROP TRIGGER IF EXISTS claims_claimevent_append_only ON claims_claimevent",
    "DROP FUNCTION IF EXISTS claims_claimevent_append_only()",
]


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0005_claimevent_hash_chain_backfill"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="claimevent",
            constraint=models.UniqueConstraint(
                fields=("hash",), name="claimevent_hash_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="claimevent",
            constraint=models.UniqueConstraint(
                fields=("claim", "prev_hash"), name="claimevent_chain_no_fork"
            ),
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
