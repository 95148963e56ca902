"""What a claim tells the later stages, inside the transaction that changed it.

The claim stage must not import the stages after it (quarters, finance, reporting), yet
some of its changes oblige them to act at once — a rejected claim whose advance was
paid owes a recovery in the same transaction. The later stage subscribes in its
``AppConfig.ready()``; the claim stage only sends. Receivers run synchronously, so
what they write commits or rolls back with the claim's own change.
"""

from __future__ import annotations

from django.dispatch import Signal

#: Sent by ``claims.services.claim_move`` after the claim is saved and its event
#: recorded, and by ``claim_update`` after an edit (``action="edit"``). Keyword
#: arguments: ``claim`` (locked), ``action``, ``actor``, ``reason``.
claim_moved = Signal()
