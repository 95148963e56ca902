"""The anomaly lists as the page reads them: a snapshot, kept fresh in the background
(issue 20).

Computing every list reads every claim (``reporting.anomalies``: 15 s over a million
claims, a full scan or self-join each); a reviewer opening the page should not wait for
that. So a Celery beat task (``reporting.tasks.refresh_anomalies``, every
``ANOMALY_REFRESH_SECONDS``, default 300) computes them and stores the result here; the
page reads the one row (a few milliseconds at any size) and says how old it is, and a
reviewer may ask for a fresh one (立即更新, queued). The first view with no snapshot —
a new installation, or a snapshot the code no longer reads after an upgrade — computes
one in the request and stores it.

The lists are findings for a person to look at, not refusals (the rules refuse at
submission, on locked rows): a list minutes old loses nothing a reviewer needs. What a
snapshot costs is the recompute, every claim each time — fine at a million claims,
heavy at ten; lists maintained per key as claims change are the next step
(``docs/scaling.md``).

The snapshot is JSON, not pickle (a row an attacker could write must not run code on
read): each list's dataclasses are written field by field and read back by their type
hints; dates and decimals carry a tag, so a field typed ``object`` keeps its type.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
import types
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Union, get_args, get_origin, get_type_hints

from django.conf import settings
from django.utils import timezone

from reporting.anomalies import Anomalies, anomalies
from reporting.models import AnomalySnapshot

logger = logging.getLogger(__name__)

DEFAULT_REFRESH_SECONDS = 5 * 60
#: The one row the snapshot lives in.
SNAPSHOT_ID = 1


def refresh_seconds() -> int:
    return int(getattr(settings, "ANOMALY_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS))


# --- JSON, both ways ------------------------------------------------------------------------
def encode(value: Any) -> Any:
    """A dataclass tree as JSON values (dates and decimals tagged)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot keep {type(value).__name__} in an anomaly snapshot")


def _tagged(data: Any) -> Any:
    if isinstance(data, dict) and len(data) == 1:
        ((tag, text),) = data.items()
        if tag == "$datetime":
            return datetime.fromisoformat(text)
        if tag == "$date":
            return date.fromisoformat(text)
        if tag == "$decimal":
            return Decimal(text)
    return data


def decode(kind: Any, data: Any) -> Any:
    """``data`` read back as ``kind`` (a dataclass, a list or tuple of them, a union
    with None, or a plain value)."""
    data = _tagged(data)
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        if data is None:
            return None
        options = [a for a in get_args(kind) if a is not type(None)]
        return decode(options[0], data)
    if origin is list:
        (item,) = get_args(kind)
        return [decode(item, v) for v in data]
    if origin is tuple:
        return tuple(decode(a, v) for a, v in zip(get_args(kind), data, strict=True))
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = _hints(kind)
        return kind(
            **{
                f.name: decode(hints[f.name], data[f.name])
                for f in dataclasses.fields(kind)
                if f.init
            }
        )
    return data


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    """A dataclass's field types, resolved once per process: ``get_type_hints``
    evaluates every string annotation again on each call, which was half of the page's
    time at 400 findings (issue 20)."""
    return get_type_hints(kind)


# --- The snapshot -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Snapshot:
    found: Anomalies
    computed_at: datetime
    took_ms: int

    @property
    def age(self) -> timedelta:
        return timezone.now() - self.computed_at

    @property
    def stale(self) -> bool:
        """Older than two refresh periods: the beat task is not running."""
        return self.age > timedelta(seconds=2 * refresh_seconds())


def anomalies_refresh() -> Snapshot:
    """Compute every list now and keep the result as the snapshot."""
    started = time.perf_counter()
    found = anomalies()
    took_ms = round((time.perf_counter() - started) * 1000)
    computed_at = timezone.now()
    AnomalySnapshot.objects.update_or_create(
        pk=SNAPSHOT_ID,
        defaults={
            "computed_at": computed_at,
            "took_ms": took_ms,
            "content": encode(found),
        },
    )
    logger.info("anomaly lists computed in %d ms (%d findings)", took_ms, found.total)
    return Snapshot(found, computed_at, took_ms)


def anomalies_current() -> Snapshot:
    """The snapshot the page shows; computed here when there is none or it no longer
    reads (its lists' shape changed with an upgrade)."""
    row = AnomalySnapshot.objects.filter(pk=SNAPSHOT_ID).first()
    if row is not None:
        try:
            return Snapshot(
                decode(Anomalies, row.content), row.computed_at, row.took_ms
            )
        except (TypeError, KeyError, ValueError, AttributeError):
            logger.warning("the anomaly snapshot no longer reads; computing it again")
    return anomalies_refresh()
