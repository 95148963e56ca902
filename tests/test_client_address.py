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


# --- Issue 14 (7): every sign-in door counts failures per client, behind the proxy -------
PASSWORD = "pw-Altay-2019"


def _token(
    client: Any, password: str, forwarded: str, remote: str = "127.0.0.1"
) -> Any:
    return client.post(
        "/api/auth/token/",
        {"username": "shared", "password": password},
        content_type="application/json",
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def _admin(
    client: Any, password: str, forwarded: str, remote: str = "127.0.0.1"
) -> Any:
    return client.post(
        "/admin/login/",
        {"username": "shared", "password": password, "next": "/admin/"},
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=5)
def test_five_token_failures_via_the_proxy_lock_that_client_not_another(client) -> None:
    UserFactory(username="shared")
    for _ in range(5):
        _token(client, "wrong", "203.0.113.66")

    locked = _token(client, PASSWORD, "203.0.113.66")
    other = _token(client, PASSWORD, "203.0.113.9")

    assert (locked.status_code, other.status_code) == (429, 200)
    assert locked.json()["code"] == "locked_out"
    assert set(other.json()) == {"token"}


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=5)
def test_five_admin_failures_via_the_proxy_lock_that_client_not_another(client) -> None:
    UserFactory(username="shared", role="administrator", is_staff=True)
    for _ in range(5):
        _admin(client, "wrong", "203.0.113.66")

    locked = _admin(client, PASSWORD, "203.0.113.66")
    other = _admin(client, PASSWORD, "203.0.113.9")

    assert (locked.status_code, other.status_code) == (429, 302)


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=3)
def test_an_untrusted_peer_cannot_dodge_the_lockout_with_its_own_header(client) -> None:
    """A client reaching the server directly writes whatever X-Forwarded-For it likes:
    it is ignored, every failure counts against the peer itself."""
    UserFactory(username="shared")
    for i in range(3):
        _token(client, "wrong", f"203.0.113.{i + 1}", remote="198.51.100.20")

    again = _token(client, PASSWORD, "203.0.113.99", remote="198.51.100.20")
    elsewhere = _token(client, PASSWORD, "203.0.113.99", remote="198.51.100.21")

    assert (again.status_code, elsewhere.status_code) == (429, 200)


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=2)
def test_the_lockout_is_recorded_with_the_client_and_logged_without_the_proxy(
    client, caplog
) -> None:
    """The attempt rows (what the admin shows and the cool-off counts) name the client;
    axes' own log lines mask addresses and user names (AXES_SENSITIVE_PARAMETERS), and
    never name the proxy as the culprit."""
    from axes.models import AccessAttempt

    UserFactory(username="shared")
    with caplog.at_level("WARNING", logger="axes"):
        for _ in range(2):
            _token(client, "wrong", "203.0.113.66")

    logged = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("axes")
    )
    assert "login failure" in logged
    assert "127.0.0.1" not in logged
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {
        "203.0.113.66"
    }
