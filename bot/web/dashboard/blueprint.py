"""The desk's blueprint and the guard every request passes (see the package docstring)."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, request, url_for

from bot.services.desk_auth import may_change
from bot.web.dashboard.common import (
    check_csrf,
    desk_secret,
    finish_response,
    load_cookie,
    template_globals,
)

bp = Blueprint("desk", __name__, url_prefix="/dashboard", template_folder="templates",
               static_folder="static", static_url_path="/static")

#: Endpoints open without signing in (posts among them still need the CSRF token).
OPEN_ENDPOINTS = {"desk.sign_in", "desk.verify", "desk.link", "desk.language", "desk.static"}
#: Posts that change nothing, open to viewers too.
READING_POSTS = {"desk.sign_out", "desk.broadcast_preview"}


@bp.record_once
def _remember_secret(state) -> None:
    state.app.extensions["jembatan.desk_secret"] = desk_secret(state.app.config)


@bp.before_request
def _guard():
    load_cookie()
    if request.endpoint == "desk.static":
        return None
    if request.method == "POST":
        check_csrf()
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if g.user is None:
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("desk.sign_in", next=target))
    if request.method == "POST" and request.endpoint not in READING_POSTS and not may_change(g.user):
        abort(403)
    return None


@bp.after_request
def _finish(response):
    return finish_response(response)


@bp.context_processor
def _globals():
    return template_globals()
