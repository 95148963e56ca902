"""What a training class tells the later stages, inside the transaction that changed
it (as ``claims.signals`` does for a claim).

The classes stage must not import finance, yet a class's completion obliges finance to
act at once: the class's advance, paid when it started, is split over the claims just
created and what is not owed of it is opened as a recovery (五(二), issue 16). Finance
subscribes in its ``AppConfig.ready()``; this stage only sends. Receivers run
synchronously, so what they write commits or rolls back with the completion.
"""

from __future__ import annotations

from django.dispatch import Signal

#: Sent by ``classes.services.class_complete`` once the claims are created and the
#: class is ``completed``. Keyword arguments: ``training_class`` (locked, its people
#: locked too), ``claims`` (the claims created, in roster order), ``actor``.
class_completed = Signal()
