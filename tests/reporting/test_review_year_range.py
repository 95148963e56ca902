"""A year outside what the system keeps is a 404 on the November review pages, not a 500."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/dashboards/review/99999/",
        "/dashboards/review/0/",
        "/dashboards/review/99999.xlsx",
        "/dashboards/review/99999/654301/",
    ],
)
def test_a_year_out_of_range_is_a_404(client, reviewer, url):
    client.force_login(reviewer)

    response = client.get(url)

    assert response.status_code == 404
    assert "zh-hans" in response.content.decode()  # the Chinese 404 page
