"""Whose address a request is (issue 12, 4): the client behind the trusted reverse
proxy, never an address a client wrote into a header itself.

gunicorn keeps ``REMOTE_ADDR`` at the socket's peer (the proxy on 127.0.0.1); the proxy
appends the address it saw to ``X-Forwarded-For``. ``client_address`` believes that
header only from ``settings.TRUSTED_PROXIES`` (the ``FORWARDED_ALLOW_IPS`` gunicorn
reads) and only from the right. The reveal's audit row and django-axes both use it.
"""

from __future__ import annotations

from typing import Any

from django.test import RequestFactory, override_settings
from django.urls import reverse

import pytest
from axes.helpers import get_client_ip_address

from altay_skills.client_address import client_address
from tests.factories import UserFactory


def request(remote: str, forwarded: str | None = None) -> Any:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # a request straight from the client: its peer, whatever it claims
        ("198.51.100.20", None, "198.51.100.20"),
        ("198.51.100.20", "203.0.113.7", "198.51.100.20"),
        # through the proxy on this host: the address the proxy appended
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
        ("::1", "2001:db8::7", "2001:db8::7"),
        # what the client wrote itself (to the left) is not believed
        ("127.0.0.1", "10.1.2.3, 203.0.113.7", "203.0.113.7"),
        ("127.0.0.1", "127.0.0.1, 203.0.113.7", "203.0.113.7"),
        # the proxy itself, or a header that is no address: the proxy
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "unknown", "127.0.0.1"),
        ("127.0.0.1", "203.0.113.7, garbage", "127.0.0.1"),
        # no usable peer at all
        ("", "203.0.113.7", None),
        ("not-an-address", "203.0.113.7", None),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    remote: str, forwarded: str | None, expected: str | None
) -> None:
    assert client_address(request(remote, forwarded)) == expected


@override_settings(TRUSTED_PROXIES=["127.0.0.1", "10.0.0.0/8"])
def test_a_chain_of_trusted_proxies_is_walked_through() -> None:
    # a load balancer on 10.0.0.2 in front of the proxy on this host
    assert client_address(request("127.0.0.1", "203.0.113.7, 10.0.0.2")) == (
        "203.0.113.7"
    )
    # a client that pretends to be a load balancer gains nothing
    assert client_address(request("198.51.100.20", "10.0.0.2")) == "198.51.100.20"


@override_settings(TRUSTED_PROXIES=[])
def test_with_no_trusted_proxy_the_header_is_ignored() -> None:
    assert client_address(request("127.0.0.1", "203.0.113.7")) == "127.0.0.1"


@override_settings(TRUSTED_PROXIES=["not-a-network"])
def test_a_mistyped_proxy_trusts_nobody() -> None:
    assert client_address(request("127.0.0.1", "203.0.113.7")) == "127.0.0.1"


@override_settings(TRUSTED_PROXIES=["*"])
def test_a_star_trusts_any_peer_as_gunicorn_does() -> None:
    assert client_address(request("192.0.2.1", "203.0.113.7")) == "203.0.113.7"


def test_the_setting_is_the_one_gunicorn_reads() -> None:
    import runpy

    from django.conf import settings

    config = runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))
    assert config["forwarded_allow_ips"].split(",") == settings.TRUSTED_PROXIES


def test_axes_locks_out_by_the_same_address() -> None:
    assert get_client_ip_address(request("127.0.0.1", "203.0.113.7")) == "203.0.113.7"
    assert get_client_ip_address(request("198.51.100.20", "203.0.113.7")) == (
        "198.51.100.20"
    )


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=2)
def test_behind_the_proxy_one_client_s_failures_do_not_lock_another(client) -> None:
    """Before, every request through the proxy was 127.0.0.1 to django-axes."""
    UserFactory(username="shared")
    login = reverse("login")
    for _ in range(2):
        client.post(
            login,
            {"username": "shared", "password": "x"},
            HTTP_X_FORWARDED_FOR="203.0.113.66",
        )
    locked = client.post(
        login,
        {"username": "shared", "password": "pw-Altay-2019"},
        HTTP_X_FORWARDED_FOR="203.0.113.66",
    )
    other = client.post(
        login,
        {"username": "shared", "password": "pw-Altay-2019"},
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert (locked.status_code, other.status_code) == (429, 302)
