"""Desk fixtures: a signed-in browser per role, and the CSRF token of a page."""

from __future__ import annotations

import re

import pytest

from bot.services import desk_auth
from bot.storage import utcnow

ADMIN, COORDINATOR, VIEWER = "+6281100000001", "+6281100000002", "+6281100000003"


def csrf_of(page) -> str:
    """The CSRF token in a rendered page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def sign_in(client, db, phone: str, role: str):
    """Give `phone` the role and sign the client in with a one-time link (no SMS needed)."""
    desk_auth.grant_role(db, phone, role, utcnow())
    token = desk_auth.create_link_token(db, phone, utcnow())
    page = client.get(f"/dashboard/masuk/tautan/{token}")
    answer = client.post(f"/dashboard/masuk/tautan/{token}", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


@pytest.fixture
def admin(app, db):
    return sign_in(app.test_client(), db, ADMIN, "admin")


@pytest.fixture
def viewer(app, db):
    return sign_in(app.test_client(), db, VIEWER, "viewer")


def post(client, path: str, data: dict, page: str = "/dashboard/"):
    """POST a form with the CSRF token of `page`, as a browser would."""
    return client.post(path, data={**data, "csrf_token": csrf_of(client.get(page))})
