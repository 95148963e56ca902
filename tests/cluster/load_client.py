"""How the faults-under-load test's clients read an answer through HAProxy.

A client of a cluster in which machines die must tell three outcomes apart:

- an answer (a status and its JSON body), final when it is a 2xx or a 4xx;
- an answer of the 5xx kind ("try again"), the proxy's or the application's;
- no answer at all: the connection refused, reset or timed out, or cut off after the
  status line (the app host died while its answer was on the wire: the headers reached
  the client, the body never did).

The last two are retried with the same ``Idempotency-Key``. A cut-off answer is "no
answer", whatever its status line said: the client cannot know what the server did, and
only the key makes the second try safe.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

#: what the client got instead of an answer, as ``(None, <the error's name>)``
NO_ANSWER = (OSError, http.client.HTTPException)


def answer_of(
    request: urllib.request.Request, *, timeout: float = 60
) -> tuple[int | None, Any]:
    """``(status, JSON body)``, or ``(None, "<error>")`` when no whole answer came."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # nosec B310: the cluster's own address
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        try:
            raw = error.read()
        except NO_ANSWER as cut:
            return None, type(cut).__name__
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode("utf-8", "replace")[:200]
    except NO_ANSWER as error:  # refused, reset, timed out, cut off
        return None, type(error).__name__
