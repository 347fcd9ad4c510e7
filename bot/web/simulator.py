"""`/simulator`: play seller, buyer and coordinator in a browser, in the desk's look.

Development only: it lets anyone act as any phone number, so it is served only when
`SIMULATOR=on` (`jembatan up` turns it on unless told otherwise). A message typed here
takes exactly the webhook's path (`accept_inbound_message`, channel `simulator`). The page
shows the conversation of the number in play, newest first, in local time, with each
outgoing message's true state (queued is not delivered), sensitive texts masked. The list
of every outgoing message is for signed-in desk users only.

The From field always wins: the form posts to the bare URL and a post reads the form only,
so a `?phone=` left in the address bar from an earlier send cannot redirect later ones.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from bot.phones import InvalidPhoneNumber, normalize_phone
from bot.pipeline.inbound import accept_inbound_message
from bot.services.contacts import find_contact_by_phone
from bot.services.masking import mask_rows
from bot.storage import fetch_all, utcnow
from bot.web.dashboard.common import (
    check_csrf,
    finish_response,
    gettext,
    load_cookie,
    template_globals,
)
from bot.web.db import get_db, get_redis

bp = Blueprint("simulator", __name__)
DEFAULT_PHONE = "+6281234567890"


@bp.before_request
def _cookie():
    load_cookie()
    if request.method == "POST":
        check_csrf()


@bp.after_request
def _finish(response):
    return finish_response(response)


@bp.context_processor
def _globals():
    return template_globals()


def delivery_state(row: dict) -> str:
    """What honestly happened to an outgoing row: queued, sent to the provider, delivered,
    read, failed or expired (a reply shown in the simulator itself counts as delivered)."""
    if row["status"] in ("pending", "sending"):
        return "queued"
    if row["status"] in ("failed", "expired"):
        return row["status"]
    if row["channel"] == "simulator" or row.get("provider_status") in ("delivered", "read"):
        return "delivered" if row.get("provider_status") != "read" else "read"
    return "sent"


@bp.route("/simulator", methods=["GET", "POST"])
def simulator():
    """Show the page; on POST, send the typed text as the number in the From field."""
    error = None
    if request.method == "POST":
        typed = request.form.get("phone", "")
        try:
            phone = normalize_phone(typed)
        except InvalidPhoneNumber:
            error = gettext("{phone} bukan nomor telepon: pesan tidak dikirim.", phone=typed)
            return _page(typed, error, request.form.get("text", "")), 400
        accept_inbound_message(
            get_db(), current_app.config, get_redis(), channel="simulator",
            provider_id=f"sim-{uuid.uuid4().hex}", phone=phone,
            body=request.form.get("text", ""), raw={"simulator": True}, now=utcnow(),
            reply_inline=True,
        )
        return redirect(url_for("simulator.simulator", phone=phone))
    typed = request.args.get("phone", DEFAULT_PHONE)
    try:
        phone = normalize_phone(typed)
    except InvalidPhoneNumber:
        # Only a page to show (nothing was sent): the number is kept in the field, escaped.
        return _page(typed, gettext("{phone} bukan nomor telepon.", phone=typed), "")
    return _page(phone, None, "")


def _page(phone: str, error: str | None, text: str):
    db = get_db()
    contact = find_contact_by_phone(db, phone)
    conversation = fetch_all(
        db,
        # Through the contact's indexes. A reply has its message's timestamp: at equal times
        # 'out' is shown above 'in'.
        "SELECT * FROM (SELECT 'in' AS direction, body, NULL AS reply_id, received_at AS at, NULL AS status, "
        "NULL AS channel, NULL AS provider_status FROM inbound WHERE contact_id = :c "
        "UNION ALL SELECT 'out', body, reply_id, created_at, status, channel, provider_status "
        "FROM outbox WHERE contact_id = :c) "
        "ORDER BY at DESC, direction ASC LIMIT 40",
        {"c": contact["id"] if contact else -1},
    )
    for row in conversation:
        row["state"] = delivery_state(row) if row["direction"] == "out" else None
    outgoing = []
    if g.user is not None:
        outgoing = fetch_all(db, "SELECT * FROM outbox ORDER BY id DESC LIMIT 50")
        for row in outgoing:
            row["state"] = delivery_state(row)
    return render_template("desk/simulator.html", phone=phone, error=error, text=text,
                           conversation=mask_rows(conversation), outgoing=mask_rows(outgoing, "out"))
