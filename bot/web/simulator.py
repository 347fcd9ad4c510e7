"""`/simulator`: play seller, buyer and coordinator in a browser, and see every message.

Development only: it lets anyone act as any phone number, so it is served only when
`SIMULATOR=on` (`jembatan up` turns it on unless told otherwise). A message typed here
takes exactly the webhook's path (`accept_inbound_message`, channel `simulator`); the
page then lists the conversation of that number and every outgoing message, whoever
it is for and whatever channel carries it.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, current_app, redirect, render_template_string, request, url_for

from bot.phones import InvalidPhoneNumber, normalize_phone
from bot.pipeline.inbound import accept_inbound_message
from bot.storage import fetch_all, utcnow
from bot.web.db import get_db, get_redis

bp = Blueprint("simulator", __name__)

PAGE = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Jembatan simulator</title>
<style>
 body{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}
 .in{background:#eef}.out{background:#efe}.msg{padding:.3rem .5rem;margin:.2rem 0;border-radius:.3rem}
 small{color:#666} table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #ddd;
 padding:.2rem .4rem;text-align:left;vertical-align:top}
</style></head><body>
<h1>Jembatan simulator</h1>
<form method="post">
 <label>From <input name="phone" value="{{ phone }}" size="16"></label>
 <input name="text" size="50" autofocus placeholder="DAFTAR Siti, Sukamaju">
 <button>Send</button>
</form>
{% if error %}<p style="color:#a00">{{ error }}</p>{% endif %}
<h2>Conversation of {{ phone }}</h2>
{% for m in conversation %}
 <div class="msg {{ m.direction }}"><small>{{ m.at }}</small> {{ m.body }}</div>
{% else %}<p>Nothing yet. Try <code>DAFTAR Siti, Sukamaju</code> or <code>BANTUAN</code>.</p>{% endfor %}
<h2>Every outgoing message (newest first)</h2>
<table><tr><th>#</th><th>to</th><th>channel</th><th>kind</th><th>status</th><th>text</th></tr>
{% for m in outgoing %}<tr><td>{{ m.id }}</td><td>{{ m.phone }}</td><td>{{ m.channel }}</td>
<td>{{ m.kind }}</td><td>{{ m.status }}{% if m.error_code %} ({{ m.error_code }}){% endif %}</td>
<td>{{ m.body }}</td></tr>{% endfor %}</table>
</body></html>"""


@bp.route("/simulator", methods=["GET", "POST"])
def simulator():
    """Show the page; on POST, send the typed text as the given number first."""
    phone, error = request.values.get("phone", "+6281234567890"), None
    if request.method == "POST":
        try:
            phone = normalize_phone(phone)
        except InvalidPhoneNumber:
            error = f"{phone} is not a phone number"
        else:
            accept_inbound_message(
                get_db(), current_app.config, get_redis(), channel="simulator",
                provider_id=f"sim-{uuid.uuid4().hex}", phone=phone,
                body=request.form.get("text", ""), raw={"simulator": True}, now=utcnow(),
                reply_inline=True,
            )
            return redirect(url_for("simulator.simulator", phone=phone))
    db = get_db()
    conversation = fetch_all(
        db,
        # A reply has its message's timestamp: at equal times 'in' sorts before 'out'.
        "SELECT * FROM (SELECT 'in' AS direction, body, received_at AS at FROM inbound "
        "WHERE phone = :p UNION ALL SELECT 'out', body, created_at FROM outbox WHERE phone = :p) "
        "ORDER BY at DESC, direction DESC LIMIT 40",
        {"p": phone},
    )
    outgoing = fetch_all(db, "SELECT * FROM outbox ORDER BY id DESC LIMIT 50")
    return render_template_string(PAGE, phone=phone, error=error,
                                  conversation=list(reversed(conversation)), outgoing=outgoing)
