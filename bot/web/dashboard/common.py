"""What every desk page shares (and the simulator borrows): the signed cookie, the
signed-in user, CSRF tokens, the page language, security headers, local times, and handing
the outbox rows a change wrote to the workers after its commit.

The cookie is the desk's own (not Flask's session), signed with a key derived from
`SECRET_KEY`: it holds a
random browser id (the CSRF token is an HMAC of it), the session token, and the language.
It is HttpOnly, SameSite=Lax, and Secure whenever the request came over https.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from flask import abort, current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup

from bot.config import secret_key
from bot.services.desk_auth import session_user
from bot.services.handover import Handover
from bot.storage import utcnow
from bot.web.db import get_db
from bot.web.db import hand_over as dispatch_handover
from conversations.i18n import load_translations, zone_abbreviation


def N_(text: str) -> str:
    """Mark a text for extraction into the desk catalog without translating it here."""
    return text


#: Words the pages translate from data (roles, statuses): listed so the catalog has them.
DATA_WORDS = (
    N_("seller"), N_("buyer"), N_("coordinator"), N_("admin"), N_("viewer"), N_("sms"), N_("import"),
    N_("pending"), N_("sending"), N_("sent"), N_("failed"), N_("expired"), N_("new"), N_("processed"),
    N_("queued"), N_("delivered"), N_("read"), N_("accepted"), N_("shipped"), N_("received"),
    N_("declined"), N_("cancelled"), N_("active"), N_("withdrawn"), N_("requested"),
    N_("submitted"), N_("processing"), N_("succeeded"), N_("reversed"),
    N_("visible"), N_("hidden"),
)
COOKIE = "jembatan_desk"
LANGUAGES = ("id", "en")
SECURITY_HEADERS = {
    # bot.web.guards' page policy, plus the desk's own stylesheet and script (no inline
    # style or script at all, so none of 'unsafe-inline').
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; "
                               "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Sign-in links carry a token in the URL: never hand it to another site.
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}


def desk_secret(config: dict) -> str:
    """The desk's own key, derived from `SECRET_KEY` (bot.config.secret_key): statements and
    cookies never share a key, so a signature made for one means nothing to the other."""
    return hmac.new(secret_key(config).encode(), b"jembatan desk cookies", hashlib.sha256).hexdigest()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.extensions["jembatan.desk_secret"], salt="desk-cookie")


def load_cookie() -> None:
    """Read the desk cookie into `g.desk` (a fresh one if absent or forged)."""
    raw = request.cookies.get(COOKIE)
    data = None
    if raw:
        try:
            data = _serializer().loads(raw)
        except BadSignature:
            data = None
    if not isinstance(data, dict) or not isinstance(data.get("a"), str):
        data = {"a": secrets.token_urlsafe(16)}
        g.desk_changed = True
    else:
        g.desk_changed = False
    g.desk = data
    g.user = None
    token = data.get("s")
    if token:
        idle = timedelta(minutes=int(current_app.config.get("DESK_IDLE_MINUTES") or 30))
        g.user = session_user(get_db(), token, utcnow(), idle)
        if g.user is None:
            data.pop("s", None)
            g.desk_changed = True


def set_cookie_values(**values) -> None:
    """Change the cookie (None removes a key); written with the response."""
    for key, value in values.items():
        if value is None:
            g.desk.pop(key, None)
        else:
            g.desk[key] = value
    g.desk_changed = True


def finish_response(response):
    """Write the cookie if it changed and add the security headers."""
    if getattr(g, "desk_changed", False) and hasattr(g, "desk"):
        response.set_cookie(COOKIE, _serializer().dumps(g.desk), httponly=True, samesite="Lax",
                            secure=request.is_secure, path="/", max_age=60 * 60 * 24 * 30)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def csrf_token() -> str:
    """The form token of this browser: an HMAC of its random id."""
    key = current_app.extensions["jembatan.desk_secret"].encode()
    return hmac.new(key, b"csrf:" + g.desk["a"].encode(), hashlib.sha256).hexdigest()


def csrf_field() -> Markup:
    """The hidden input every form carries."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(csrf_token())


def check_csrf() -> None:
    """Refuse (400) a form post whose token is missing or wrong."""
    sent = request.form.get("csrf_token", "")
    if not hmac.compare_digest(sent.encode(), csrf_token().encode()):
        abort(400, description="csrf")


def language() -> str:
    """The page language: the cookie's choice, else Indonesian."""
    chosen = g.desk.get("l") if hasattr(g, "desk") else None
    return chosen if chosen in LANGUAGES else "id"


def gettext(text: str, **values) -> str:
    """`text` (the Indonesian original) in the page language, filled with `values`."""
    translated = load_translations(language(), "desk").gettext(text)
    return translated.format(**values) if values else translated


#: The few date patterns pages use, as strftime formats (Babel's formatter costs a
#: millisecond per call; a conversation page shows hundreds of times).
_PATTERNS = {"dd/MM/yyyy HH.mm": "%d/%m/%Y %H.%M", "dd/MM HH.mm": "%d/%m %H.%M",
             "dd/MM HH.mm.ss": "%d/%m %H.%M.%S", "HH.mm": "%H.%M"}


def local_time(stamp: str | None, pattern: str = "dd/MM/yyyy HH.mm") -> str:
    """A stored UTC time in the desk's time zone (`28/11/2026 09.30 WIB`)."""
    if not stamp:
        return "-"
    zone = current_app.config.get("DEFAULT_TIMEZONE") or "Asia/Jakarta"
    moment = datetime.fromisoformat(stamp).astimezone(_zone(zone))
    return f"{moment.strftime(_PATTERNS[pattern])} {zone_abbreviation(zone)}"


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def hand_over(outbox_ids: list[int] = (), broadcast_ids: list[int] = ()) -> None:
    """After the commit: give the texts (and broadcasts to plan) a change wrote to the
    workers; if Redis is down they wait in SQLite for the sweep."""
    handover = Handover(outbox_ids=list(outbox_ids), broadcast_ids=list(broadcast_ids))
    if handover:
        dispatch_handover(handover)


def client_address() -> str:
    """Who is asking, for throttling: the peer address (the hub serves its LAN directly)."""
    return request.remote_addr or "unknown"


def flash(text: str, category: str = "ok") -> None:
    """A notice for the next page this browser sees (kept in the signed cookie)."""
    notices = list(g.desk.get("n") or [])[-4:]
    set_cookie_values(n=[*notices, [category, text]])


def take_notices() -> list[tuple[str, str]]:
    """The notices waiting for this page; shown once."""
    notices = g.desk.get("n") if hasattr(g, "desk") else None
    if notices:
        set_cookie_values(n=None)
    return [tuple(item) for item in notices or []]


def template_globals() -> dict:
    """Names every desk template may use."""
    return {"_": gettext, "csrf_token": csrf_token, "csrf_field": csrf_field, "local_time": local_time,
            "user": g.get("user"), "lang": language(), "take_notices": take_notices}
