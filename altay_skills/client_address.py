"""The address of whoever sent a request, as far as this server can know it.

In production gunicorn sits behind a TLS reverse proxy, so the socket's peer
(``REMOTE_ADDR``, which gunicorn never rewrites) is the proxy itself: every request
would seem to come from 127.0.0.1. The proxy appends the address it saw to
``X-Forwarded-For``; anything to the left of that was written by the client and proves
nothing. So the header is read only when the peer is a trusted proxy
(``settings.TRUSTED_PROXIES``, the same ``FORWARDED_ALLOW_IPS`` that gunicorn trusts),
from the right, past the trusted proxies, to the first address a trusted proxy saw
connect to it. A request that did not come through a trusted proxy is its peer,
whatever headers it carries.

The one answer for the audit rows that record "from where" (a full ID number's reveal)
and for django-axes' lockouts (``AXES_CLIENT_IP_CALLABLE``).
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

from django.conf import settings

Address = IPv4Address | IPv6Address


def client_address(request: Any) -> str | None:
    """The client's address, or None when the request carries no usable peer."""
    meta = getattr(request, "META", {})
    peer = _address(meta.get("REMOTE_ADDR"))
    if peer is None:
        return None
    trusted = list(_networks(getattr(settings, "TRUSTED_PROXIES", ())))
    if not _is_trusted(peer, trusted):
        return str(peer)
    hops = str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")
    for hop in reversed(hops):
        seen = _address(hop)
        if seen is None:
            break  # not an address a proxy wrote: nothing to its left is believed
        peer = seen
        if not _is_trusted(seen, trusted):
            break
    return str(peer)


def _address(value: object) -> Address | None:
    try:
        return ip_address(str(value).strip())
    except ValueError:
        return None


def _networks(entries: Iterable[str]) -> Iterable[Any]:
    for entry in entries:
        entry = entry.strip()
        if entry == "*":
            yield entry
            continue
        try:
            yield ip_network(entry, strict=False)
        except ValueError:
            continue  # a typo trusts nobody rather than everybody


def _is_trusted(address: Address, trusted: list[Any]) -> bool:
    return any(
        net == "*" or (net.version == address.version and address in net)
        for net in trusted
    )
