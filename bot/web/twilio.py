"""Twilio webhooks: inbound SMS/WhatsApp (`/twilio/messages`) and status callbacks.

Both verify `X-Twilio-Signature` against the URL Twilio called (`PUBLIC_BASE_URL` behind
a proxy) and every POST parameter, never a whitelist: Twilio adds parameters without
notice. A forged request gets 403 and nothing is stored.
"""

from __future__ import annotations

import base64
import hmac
import io
import json
from urllib.parse import unquote
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator, get_signature_algorithm
from werkzeug.sansio.utils import host_is_trusted

from bot.phones import InvalidPhoneNumber, normalize_phone, parse_bsuid
from bot.pipeline.inbound import accept_inbound_message
from bot.services import outbox
from bot.sms import sms_body
from bot.storage import sync_if_written, transaction, utcnow
from bot.web import guards
from bot.web.db import app_redis, get_db, get_redis, thread_db
from bot.web.engine import EngineClient, EngineLost, EngineUnavailable, engine_socket_path
from bot.web.guards import EMPTY_TWIML, ascii_header

bp = Blueprint("twilio", __name__, url_prefix="/twilio")


def signed_url() -> str:
    """The URL Twilio signed: our public base URL when behind a proxy, else the request's."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        return request.url
    query = request.query_string.decode()
    return base.rstrip("/") + request.path + (f"?{query}" if query else "")


def _plain_url(config, env: dict) -> str | None:
    """The request's URL straight from the WSGI environ (cheap), when no proxy base is set:
    for an ASCII path it is what `request.url` spells with more work."""
    if config.get("PUBLIC_BASE_URL"):
        return None
    host = env.get("HTTP_HOST")
    if not host:
        return None
    query = env.get("QUERY_STRING")
    return (f"{env['wsgi.url_scheme']}://{host}{env.get('SCRIPT_NAME', '')}{env.get('PATH_INFO', '')}"
            + (f"?{query}" if query else ""))


def _require_signature() -> None:
    config, env = current_app.config, request.environ
    validator = RequestValidator(config["TWILIO_AUTH_TOKEN"])
    # Headers that are not short printable ASCII cannot be Twilio's (and would make
    # compare_digest raise): refused like any wrong signature.
    signature = ascii_header("X-Twilio-Signature", 128) or ""
    settings = ascii_header("X-Twilio-Webhooks-Signature-Settings")
    if settings is None and "X-Twilio-Webhooks-Signature-Settings" in request.headers:
        abort(403)
    algorithm = get_signature_algorithm(settings)
    if algorithm.upper() not in (HMAC_SHA1, HMAC_SHA256):
        abort(403)
    if not signature:
        abort(403)
    form = request.form
    # The common case first: one HMAC over the URL as the environ spells it. Then the URL
    # as Flask rebuilds it, and `validate`, which also tries it with and without an
    # explicit port, as Twilio's own backends differ.
    plain = _plain_url(config, env)
    if plain is not None and hmac.compare_digest(
            validator.compute_signature(plain, form, algorithm), signature):
        return
    url = signed_url()
    if (url != plain and hmac.compare_digest(validator.compute_signature(url, form, algorithm),
                                             signature)) or validator.validate(url, form, signature,
                                                                               algorithm):
        return
    abort(403)


def _twiml_text(text: str | None) -> str:
    """TwiML with one <Message> (or none), as `MessagingResponse` would write it."""
    if not text:
        return EMPTY_TWIML
    return (f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}'
            "</Message></Response>")


@bp.post("/messages")
def inbound_message():
    """An SMS or WhatsApp message from Twilio; the reply goes back as TwiML."""
    _require_signature()
    form = request.form
    sid, sender = form.get("MessageSid"), form.get("From")
    if not sid or not sender:
        abort(400, "MessageSid and From are required")
    channel, phone, bsuid = _sender(form, sender)
    if phone is None:
        abort(400, "From is not a phone number")
    raw = {key: values if len(values) > 1 else values[0] for key, values in form.lists()}
    return Response(_answer(current_app.config, get_db(), get_redis(), raw, form.get("Body", ""), sid,
                            channel, phone, bsuid), mimetype="text/xml")


def _sender(form, sender: str) -> tuple[str, str | None, str | None]:
    """The channel, the sender's address (None if `From` is no phone number) and BSUID."""
    channel = "twilio_whatsapp" if sender.lower().startswith("whatsapp:") else "twilio_sms"
    # A WhatsApp user with a username may come as a BSUID (`whatsapp:ID.1502…`) instead of
    # a number, or with both (`ExternalUserId`). The BSUID is kept as sent; a number is
    # never made up from it.
    bsuid = parse_bsuid(form.get("ExternalUserId")) if channel == "twilio_whatsapp" else None
    phone = parse_bsuid(sender) if channel == "twilio_whatsapp" else None
    bsuid = bsuid or phone
    if phone is None:
        try:
            phone = normalize_phone(sender)
        except InvalidPhoneNumber:
            return channel, None, bsuid
    return channel, phone, bsuid


def _answer(config, db, redis_connection, raw: dict, body: str, sid: str, channel: str, phone: str,
            bsuid: str | None) -> str:
    """Store and handle a verified inbound message (`raw`: its parameters, a list for a
    repeated name); the TwiML answer's text."""
    response, _ = accept_inbound_message(
        db, config, redis_connection, channel=channel, provider_id=sid, phone=phone,
        body=body, raw=raw, now=utcnow(), reply_inline=True, bsuid=bsuid,
    )
    return _reply_twiml(channel, None if response is None else response.reply)


def _reply_twiml(channel: str, reply: str | None) -> str:
    """The TwiML answer carrying `reply` inline (empty without one: a repeat of a message
    we already answered, or one left for the sweep, whose reply then goes out through the
    REST API)."""
    if reply is None:
        return _twiml_text(None)
    return _twiml_text(sms_body(reply) if channel == "twilio_sms" else reply)


def form_pairs(text: str) -> list[tuple[str, str]]:
    """`parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")` (how werkzeug
    reads a form body), without its per-call setup and with `unquote` only where a `%`
    needs it (DECISIONS 471); a test compares the two over odd bodies."""
    pairs = []
    for piece in text.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "+" in name:
            name = name.replace("+", " ")
        if "%" in name:
            name = unquote(name, errors="werkzeug.url_quote")
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = unquote(value, errors="werkzeug.url_quote")
        pairs.append((name, value))
    return pairs


def form_params(text: str) -> dict:
    """A form body's parameters as the inbound row keeps them: name -> value, or the list
    of values of a repeated name, names in the order they first came."""
    raw: dict = {}
    for name, value in form_pairs(text):
        if name not in raw:
            raw[name] = value
        elif type(raw[name]) is list:
            raw[name].append(value)
        else:
            raw[name] = [raw[name], value]
    return raw


class InboundFastPath:
    """WSGI middleware in front of the Flask app for the hottest request we serve: a
    well-formed, correctly signed `POST /twilio/messages`, answered without Flask's
    request machinery (request context, routing, hooks, `Response` headers), which cost
    more CPU than the rest of the web layer together (DECISIONS 350).

    It takes only the plain case and checks it exactly as the Flask path would: the body
    limit (a declared length within `BODY_LIMITS`, never chunked), the Host against
    `TRUSTED_HOSTS`, the form parsed as werkzeug parses it, the signature over every
    parameter. Anything else (another path, another content type, a signature that does
    not match the plain URL at once, a missing field, an unusable number) goes to the
    Flask app with the body as it arrived, which answers it as before (403, 400, 413...).
    The answer carries the headers `guards.security_headers` gives every response, and
    like every request the connection's writes are durable before it goes out.
    """

    PATH = "/twilio/messages"

    def __init__(self, app):
        self.app = app
        self.flask = app.wsgi_app
        self.limit = guards.body_limit("twilio.inbound_message")
        # The key's HMAC state made once; each signature copies it (cheaper than `hmac.digest`
        # setting the key up again).
        self.keyed = hmac.new(app.config["TWILIO_AUTH_TOKEN"].encode(), digestmod="sha1")
        trusted = app.config.get("TRUSTED_HOSTS")
        self.trusted = list(trusted) if trusted else None
        base = app.config.get("PUBLIC_BASE_URL")
        self.base = base.rstrip("/") if base else None
        # The inbound engine, when it runs, stores and answers for every worker on one warm
        # connection (DECISIONS 496); this worker processes the message itself otherwise.
        self.engine = EngineClient(engine_socket_path(app.config)) \
            if (app.config.get("INBOUND_ENGINE") or "on") == "on" else None

    def _answer_by_engine(self, raw: dict, body: str, sid: str, channel: str, phone: str,
                          bsuid: str | None) -> tuple[str, str] | None:
        """(status, TwiML) from the engine, or None when it is not running (the message is
        then processed here). No answer from an engine that took the message is a 500: the
        provider posts it again, and the inbox's key makes the repeat harmless."""
        try:
            answer = self.engine.process({"channel": channel, "provider_id": sid, "phone": phone,
                                          "body": body, "raw": raw, "bsuid": bsuid})
        except EngineUnavailable:
            return None
        except EngineLost:
            self.app.logger.error("the inbound engine gave no answer for %s", sid, exc_info=True)
            return "500 INTERNAL SERVER ERROR", EMPTY_TWIML
        if not isinstance(answer, dict) or "error" in answer:
            self.app.logger.error("the inbound engine failed on %s: %s", sid, answer)
            return "500 INTERNAL SERVER ERROR", EMPTY_TWIML
        return "200 OK", _reply_twiml(channel, answer.get("reply"))

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != self.PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.flask(environ, start_response)
        raw = self._verified_form(environ)
        if raw is None:
            return self.flask(environ, start_response)
        # Each name's first value, as a werkzeug form's `get` gives it.
        form = raw if all(type(value) is str for value in raw.values()) else {
            name: value if type(value) is str else value[0] for name, value in raw.items()}
        sid, sender = form.get("MessageSid"), form.get("From")
        channel, phone, bsuid = _sender(form, sender) if sid and sender else ("", None, None)
        if phone is None:
            return self.flask(environ, start_response)
        if self.engine is not None:
            answered = self._answer_by_engine(raw, form.get("Body", ""), sid, channel, phone, bsuid)
            if answered is not None:
                return self._send(start_response, *answered)
        app, db = self.app, None
        try:
            db = thread_db(app)
            text = _answer(app.config, db, app_redis(app), raw, form.get("Body", ""), sid, channel,
                           phone, bsuid)
            status = "200 OK"
        except Exception:
            # As Flask answers a view's exception: raised when testing or debugging, else
            # logged and answered 500 (with the empty TwiML `guards.error_answer` gives).
            if app.config.get("PROPAGATE_EXCEPTIONS") or app.testing or app.debug:
                raise
            app.logger.error(f"Exception on {self.PATH} [POST]", exc_info=True)
            text, status = EMPTY_TWIML, "500 INTERNAL SERVER ERROR"
        if db is not None:
            sync_if_written(db)  # as `make_writes_durable` after every request
        return self._send(start_response, status, text)

    def _verified_form(self, environ) -> dict | None:
        """The parameters of a plain, correctly signed request (name -> value, or the list
        of values of a repeated name, in the order they came), or None (for Flask)."""
        mimetype, _, options = environ.get("CONTENT_TYPE", "").partition(";")
        if mimetype.strip().lower() != "application/x-www-form-urlencoded" or (
                options.strip() and options.strip().lower() != "charset=utf-8"):
            return None
        length = environ.get("CONTENT_LENGTH", "")
        if not length.isdigit() or int(length) > self.limit or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        host = environ.get("HTTP_HOST")
        if not host or not host_is_trusted(host, self.trusted):
            return None
        signature = environ.get("HTTP_X_TWILIO_SIGNATURE", "")
        if (not signature or len(signature) > 128 or not signature.isascii() or not signature.isprintable()
                or "HTTP_X_TWILIO_WEBHOOKS_SIGNATURE_SETTINGS" in environ):
            return None
        body = environ["wsgi.input"].read(int(length))
        # From here on Flask, if it takes over, reads the body we have read.
        environ["wsgi.input"] = io.BytesIO(body)
        environ.pop("wsgi.input_terminated", None)
        try:
            text = body.decode()
        except UnicodeDecodeError:
            return None
        raw = form_params(text)
        query = environ.get("QUERY_STRING")
        suffix = f"{environ.get('PATH_INFO')}" + (f"?{query}" if query else "")
        url = (self.base + suffix if self.base is not None else
               f"{environ['wsgi.url_scheme']}://{host}{environ.get('SCRIPT_NAME', '')}{suffix}")
        if not hmac.compare_digest(self._signature(url, raw), signature):
            return None
        return raw

    def _signature(self, url: str, raw: dict) -> str:
        """`RequestValidator.compute_signature(url, form)` (HMAC-SHA1) over the parameters:
        the URL, then each name with each of its distinct values, both sorted. The same
        text and key, made in one pass and hashed from a keyed HMAC made once, at a fraction of the
        cost (DECISIONS 402); a test compares the two over odd forms."""
        parts = [url]
        for name, values in sorted(raw.items()):
            if type(values) is str:
                parts.append(name + values)
            else:
                parts.extend(name + value for value in sorted(set(values)))
        signer = self.keyed.copy()
        signer.update("".join(parts).encode())
        return base64.b64encode(signer.digest()).decode()

    @staticmethod
    def _send(start_response, status: str, text: str):
        body = text.encode()
        start_response(status, [("Content-Type", "text/xml; charset=utf-8"),
                                ("Content-Length", str(len(body))), *guards.DATA_HEADERS])
        return [body]


@bp.post("/status")
def status_callback():
    """Delivery status for a message we sent; a status never moves backwards."""
    _require_signature()
    form = request.form
    sid, status = form.get("MessageSid") or form.get("SmsSid"), form.get("MessageStatus")
    if not sid or not status:
        abort(400, "MessageSid and MessageStatus are required")
    recipient = form.get("To", "")
    channel = "twilio_whatsapp" if recipient.lower().startswith("whatsapp:") else "twilio_sms"
    error_code = form.get("ErrorCode") or None
    db = get_db()
    now = utcnow()
    with transaction(db):
        if outbox.record_delivery_event(db, channel, sid, status.lower(), error_code,
                                        json.dumps(form.to_dict()), now):
            outbox.apply_provider_status(db, channel, sid, status, error_code, now)
            outbox.apply_provider_opt_out(db, channel, sid, recipient, error_code, now)
    return Response(status=204)
