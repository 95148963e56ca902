"""Sign in, sign out, password change and lockout: in Chinese, never a 500."""

from django.test import override_settings
from django.urls import reverse

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Altay-2019"


def test_the_login_page_is_in_chinese(client):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'lang="zh-hans"' in html
    for text in (
        "阿勒泰地区职业技能提升补贴管理系统",
        "用户登录",
        "用户名",
        "密码",
        "登录",
    ):
        assert text in html
    assert "Username" not in html and "Password" not in html


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_wrong_password_is_refused_in_chinese(client, clerk):
    response = client.post(
        reverse("login"), {"username": clerk.username, "password": "wrong"}
    )
    assert response.status_code == 200
    assert "请输入一个正确的用户名和密码" in response.content.decode()


def test_a_clerk_signs_in_and_lands_on_the_home_page(client, clerk):
    response = client.post(
        reverse("login"), {"username": clerk.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    home = client.get(reverse("home"))
    html = home.content.decode()
    assert home.status_code == 200
    assert "阿勒泰市" in html and "县(市)经办人" in html
    assert 'href="/claims/import/"' in html


def test_logout_is_a_post_and_ends_the_session(client, clerk):
    client.force_login(clerk)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_password_change_in_chinese(client, clerk):
    client.force_login(clerk)
    page = client.get(reverse("password_change")).content.decode()
    assert "旧密码" in page and "新密码确认" in page
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Altay-new-2026!",
            "new_password2": "Altay-new-2026!",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    clerk.refresh_from_db()
    assert clerk.check_password("Altay-new-2026!")
    assert (
        "密码已修改成功" in client.get(reverse("password_change_done")).content.decode()
    )


def test_password_change_errors_are_in_chinese(client, clerk):
    client.force_login(clerk)
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "a", "new_password2": "b"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "你的旧密码不正确" in html
    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)


@override_settings(AXES_FAILURE_LIMIT=3)
def test_too_many_failures_lock_the_account_with_a_chinese_page(client):
    # given a user who keeps mistyping
    UserFactory(username="clumsy")
    for _ in range(2):
        client.post(reverse("login"), {"username": "clumsy", "password": "x"})
    # when the limit is reached
    response = client.post(reverse("login"), {"username": "clumsy", "password": "x"})
    # then a Chinese page with 429, not a 500; even the right password is refused now
    assert response.status_code == 429
    assert "已暂时锁定" in response.content.decode()
    again = client.post(reverse("login"), {"username": "clumsy", "password": PASSWORD})
    assert again.status_code == 429


@override_settings(AXES_FAILURE_LIMIT=2)
def test_one_locked_account_does_not_lock_another(client, clerk):
    for _ in range(2):
        client.post(reverse("login"), {"username": "someone", "password": "x"})
    response = client.post(
        reverse("login"), {"username": clerk.username, "password": PASSWORD}
    )
    assert response.status_code == 302
