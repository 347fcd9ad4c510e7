"""Sign-in by a one-time code sent through the outbox, by a one-time link, and sign-out."""

from __future__ import annotations

from secrets import token_urlsafe
from urllib.parse import urlsplit

from flask import current_app, g, redirect, render_template, request, url_for

from bot.phones import InvalidPhoneNumber, normalize_phone
from bot.services import desk_auth
from bot.storage import to_db_time, transaction, utcnow
from bot.web.dashboard.blueprint import bp
from bot.web.dashboard.common import (
    LANGUAGES,
    client_address,
    gettext,
    hand_over,
    local_time,
    set_cookie_values,
)
from bot.web.db import get_db
from conversations.news.notify import queue_notification


def _safe_next(target: str | None) -> str:
    """Only a path inside the desk: never an open redirect."""
    if target and target.startswith("/dashboard") and not urlsplit(target).netloc and "//" not in target:
        return target
    return url_for("desk.overview")


def _signed_in(user: dict, target: str | None):
    token = desk_auth.start_session(get_db(), user["id"], client_address(), utcnow())
    # A new browser id too: a token fixed before sign-in is worthless after it.
    set_cookie_values(s=token, a=token_urlsafe(16))
    return redirect(_safe_next(target))


@bp.route("/masuk", methods=["GET", "POST"])
def sign_in():
    """Step one: the phone number. A code is sent if the number may use the desk; the answer
    is the same either way, so the page does not tell who is a coordinator."""
    if g.user is not None and request.method == "GET":
        return redirect(url_for("desk.overview"))
    error, phone_text = None, request.form.get("phone", "")
    target = request.values.get("next")
    if request.method == "POST":
        try:
            phone = normalize_phone(phone_text)
        except InvalidPhoneNumber:
            error = gettext("{phone} bukan nomor telepon.", phone=phone_text)
        else:
            db, now = get_db(), utcnow()
            with transaction(db):
                asked = desk_auth.request_code(db, phone, client_address(), now)
                outbox_id = None
                if asked.outcome == "sent":
                    outbox_id = queue_notification(db, current_app.config, asked.contact, "desk.code",
                                                   now, code=asked.code)
            if outbox_id:
                hand_over([outbox_id])
            if asked.outcome == "throttled":
                error = gettext("Terlalu banyak permintaan kode. Coba lagi dalam 15 menit.")
            elif asked.outcome == "locked":
                error = gettext("Nomor ini dikunci sampai {time} karena kode salah berulang kali.",
                                time=local_time_of(asked.until))
            else:
                return render_template("desk/verify.html", phone=phone, next=target, error=None)
    return render_template("desk/sign_in.html", error=error, phone=phone_text, next=target)


def local_time_of(moment) -> str:
    """A lock's end as `14.30 WIB`."""
    return local_time(to_db_time(moment), "HH.mm")


@bp.post("/masuk/kode")
def verify():
    """Step two: the code."""
    try:
        phone = normalize_phone(request.form.get("phone", ""))
    except InvalidPhoneNumber:
        return redirect(url_for("desk.sign_in"))
    target = request.form.get("next")
    result = desk_auth.verify_code(get_db(), phone, request.form.get("code", ""), client_address(), utcnow())
    if result.outcome == "ok":
        return _signed_in(result.user, target)
    messages = {
        "wrong": gettext("Kode salah. Sisa percobaan: {left}.", left=result.attempts_left),
        "expired": gettext("Kode tidak berlaku lagi. Minta kode baru."),
        "throttled": gettext("Terlalu banyak percobaan. Coba lagi dalam 15 menit."),
        "locked": gettext("Nomor ini dikunci sampai {time} karena kode salah berulang kali.",
                          time=local_time_of(result.until)) if result.until else "",
    }
    status = 429 if result.outcome in ("throttled", "locked") else 400
    return render_template("desk/verify.html", phone=phone, next=target,
                           error=messages[result.outcome]), status


@bp.route("/masuk/tautan/<token>", methods=["GET", "POST"])
def link(token: str):
    """A one-time link from `jembatan desk link`: GET shows a button (link previews and
    scanners must not spend it), POST signs in."""
    if request.method == "GET":
        return render_template("desk/link.html", token=token)
    result = desk_auth.redeem_link_token(get_db(), token, client_address(), utcnow())
    if result.outcome != "ok":
        return render_template("desk/sign_in.html", phone="", next=None,
                               error=gettext("Tautan ini sudah dipakai atau kedaluwarsa.")), 400
    return _signed_in(result.user, None)


@bp.post("/keluar")
def sign_out():
    """End the session now (a viewer may sign out too: the guard lets this through)."""
    token = g.desk.get("s")
    if token:
        desk_auth.end_session(get_db(), token, utcnow())
    set_cookie_values(s=None)
    return redirect(url_for("desk.sign_in"))


@bp.get("/bahasa/<lang>")
def language(lang: str):
    """Switch the desk's language (stored in the cookie)."""
    if lang in LANGUAGES:
        set_cookie_values(l=lang)
    return redirect(_safe_next(request.args.get("next")))
