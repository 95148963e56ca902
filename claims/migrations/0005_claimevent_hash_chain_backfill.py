"""Chain the events written before the hash chain existed, per claim in id order."""

from django.db import migrations


def backfill(apps, schema_editor):
    from claims.audit import event_hash

    ClaimEvent = apps.get_model("claims", "ClaimEvent")
    events = ClaimEvent.objects.using(schema_editor.connection.alias)
    rows = events.order_by("claim_id", "id")
    current, prev, batch = None, "", []
    for event in rows.iterator(chunk_size=2000):
        if event.claim_id != current:
            current, prev = event.claim_id, ""
        event.prev_hash = prev
        event.hash = prev = event_hash(prev, event)
        batch.append(event)
        if len(batch) >= 1000:
            events.bulk_update(batch, ["prev_hash", "hash"])
            batch = []
    if batch:
        events.bulk_update(batch, ["prev_hash", "hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0004_claimevent_hash_chain_fields"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
