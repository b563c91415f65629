"""Errors are pages in the user's language, not bare server responses."""

from django.test import Client


def test_unknown_page_is_a_translated_404(db):
    response = Client().get("/khong-co-trang-nay/")
    assert response.status_code == 404
    assert 'lang="vi"' in response.content.decode()


def test_a_form_without_its_csrf_token_gets_a_page_that_says_what_to_do(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "<h1>" in response.content.decode()
