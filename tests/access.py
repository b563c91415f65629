"""Who is asking, for the access tests every staff page has (one role per parametrised case)."""

from django.urls import reverse


def login_as(client, request, role: str):
    """Log `client` in as the user of fixture `role` ("anonymous": stay logged out)."""
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    return client


def assert_login_redirect(response) -> None:
    """An anonymous visitor of a staff page is sent to log in, and back afterwards."""
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
