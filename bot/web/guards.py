"""Request guards shared by every blueprint: what a hostile or broken client meets first.

- **Size**: each endpoint has a body limit sized to what its caller really sends
  (`BODY_LIMITS`); a larger `Content-Length` is refused with 413 before a byte of the
  body is read, and a chunked body is cut off at the limit while it streams.
- **Parsing**: `parse_json` refuses nesting deeper than `MAX_JSON_DEPTH` (checked on the
  raw bytes, before the recursive parser runs), numbers that are not plain JSON numbers
  of sane length (`NaN`, `1e999999999`, 5,000-digit integers) and bodies that are not
  UTF-8 JSON; `wrong_types` checks provider payload fields against the types we read.
- **Headers**: `ascii_header` gives a header only if it is short printable ASCII, so a
  signature check never sees bytes `hmac.compare_digest` refuses.
- **Answers**: every response gets `X-Content-Type-Options`, frame and content-security
  policies (a page policy on HTML) and, unless the view chose its own caching,
  `Cache-Control: no-store`. Errors answer JSON (`{"error", "message"}`), or an empty
  TwiML under `/twilio/`, never a traceback.
- **URLs**: `public_url` builds absolute URLs from `PUBLIC_BASE_URL`, else from a Host
  header Flask has checked against `TRUSTED_HOSTS`, else gives the path alone.
- **API keys**: `api_key_lockout` / `count_api_key_failure` throttle failed key attempts
  per client in Redis (shared by every web process), in fixed windows that expire on
  their own, so the throttle cannot keep out a valid key longer than one window.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)

KIB = 1024
#: Body limits per endpoint. Twilio posts a form of ~30 fields whose `Body` is at most
#: 1,600 characters (SMS) or 4,096 (WhatsApp), up to 12 bytes each once UTF-8 and
#: percent-encoded, plus ten media URLs: 64 KiB. A status callback is a few hundred
#: bytes. The gateway posts one SMS as JSON (a long multi-part SMS is a few KiB of
#: UTF-8). Xendit posts one payout object. An order is a listing code and a quantity.
BODY_LIMITS = {
    "twilio.inbound_message": 64 * KIB,
    "twilio.status_callback": 16 * KIB,
    "gateway.android_webhook": 64 * KIB,
    "payouts.xendit_callback": 32 * KIB,
    "orders.create_order": 16 * KIB,
    "simulator.simulator": 16 * KIB,
    # A cooperative's member list as CSV (thousands of rows), from a signed-in coordinator.
    "desk.import_people": 2 * 1024 * KIB,
}
#: Limits per blueprint, for endpoints not named above: the desk's forms (a broadcast
#: text, a price, a person's details) are small.
BLUEPRINT_BODY_LIMITS = {"desk": 16 * KIB}
#: Everything else (GETs, order actions, unknown paths) has no business sending more.
DEFAULT_BODY_LIMIT = 4 * KIB
MAX_JSON_DEPTH = 20
#: Longest number text `parse_json` accepts (a rupiah amount or a quantity is far shorter).
MAX_NUMBER_LENGTH = 40
#: Longest header value `ascii_header` returns by default.
MAX_HEADER_LENGTH = 512

PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
               "frame-ancestors 'none'; base-uri 'none'")
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
#: What `security_headers` gives an answer that is not HTML and sets none of these itself.
DATA_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                ("Referrer-Policy", "no-referrer"), ("Content-Security-Policy", DATA_POLICY),
                ("Cache-Control", "no-store"))


class Malformed(ValueError):
    """A request body or field we refuse to interpret; the message says why."""


def install(app: Flask) -> None:
    """Register the guards on the app (before any blueprint's own hooks)."""
    app.before_request(limit_body)
    app.after_request(security_headers)
    app.register_error_handler(HTTPException, error_answer)


# --- size -------------------------------------------------------------------------------

def body_limit(endpoint: str | None) -> int:
    endpoint = endpoint or ""
    if endpoint in BODY_LIMITS:
        return BODY_LIMITS[endpoint]
    return BLUEPRINT_BODY_LIMITS.get(endpoint.partition(".")[0], DEFAULT_BODY_LIMIT)


def limit_body() -> None:
    """Refuse a declared body over the endpoint's limit before reading it; cap a chunked one."""
    limit = body_limit(request.endpoint)
    request.max_content_length = limit
    request.max_form_memory_size = limit
    length = request.content_length
    if length is not None:
        if length > limit:
            raise RequestEntityTooLarge(f"This endpoint accepts at most {limit} bytes.")
    elif "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        _read_chunked(limit)


def _read_chunked(limit: int) -> None:
    """Read a chunked body up to one byte past `limit` (413 if it has that byte) and
    present it as a sized one. Werkzeug alone would silently cut it at the limit, and a
    truncated body would then fail its signature check (403) instead of being a 413."""
    stream = request.environ["wsgi.input"]
    data = bytearray()
    try:
        while len(data) <= limit:
            piece = stream.read(min(64 * KIB, limit + 1 - len(data)))
            if not piece:
                break
            data += piece
    except Exception as exc:  # noqa: BLE001 - the server's chunk parser refused the framing
        raise BadRequest("The chunked body is malformed.") from exc
    if len(data) > limit:
        raise RequestEntityTooLarge(f"This endpoint accepts at most {limit} bytes.")
    request.environ["wsgi.input"] = io.BytesIO(bytes(data))
    request.environ["CONTENT_LENGTH"] = str(len(data))


# --- answers ----------------------------------------------------------------------------

def security_headers(response: Response) -> Response:
    """The headers every answer carries, errors included (`DATA_HEADERS`, with the page
    policy on HTML). Cache-Control: order documents, webhook answers and pages are not for
    caches, except what a view marks cacheable itself (the catalog's photos)."""
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    html = response.mimetype == "text/html"
    for name, value in DATA_HEADERS:
        if name.lower() not in present:
            headers.add(name, PAGE_POLICY if html and name == "Content-Security-Policy" else value)
    return response


def error_answer(error: HTTPException):
    """Every HTTP error as a small, fixed answer: JSON, or an empty TwiML for Twilio."""
    if error.code is None:
        return error
    if request.path.startswith("/twilio/"):
        response = Response(EMPTY_TWIML, status=error.code, mimetype="text/xml")
    elif request.path.startswith("/simulator"):
        return error
    else:
        response = jsonify(error=error.name.lower().replace(" ", "_"), message=error.description)
        response.status_code = error.code
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


# --- parsing ----------------------------------------------------------------------------

# A JSON string (closed or not: an unclosed one runs to the end, so no quadratic rescans)
# or one bracket. Brackets inside strings are therefore never counted.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)
_OPEN, _CLOSE = frozenset(b"[{"), frozenset(b"]}")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if `body` nests arrays/objects deeper than `limit` (scanned, not parsed)."""
    depth = 0
    for match in _JSON_TOKEN.finditer(body):
        first = match.group()[0]
        if first in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif first in _CLOSE:
            depth -= 1
    return False


def _number(text: str):
    if len(text) > MAX_NUMBER_LENGTH:
        raise Malformed("number too long")
    return text


def _int(text: str) -> int:
    return int(_number(text))


def _float(text: str) -> float:
    value = float(_number(text))
    if not math.isfinite(value):
        raise Malformed(f"number out of range: {text}")
    return value


def _constant(text: str):
    raise Malformed(f"{text} is not JSON")


def parse_json(body: bytes | str) -> object:
    """`body` as JSON, refusing deep nesting, odd numbers and anything not UTF-8 JSON."""
    raw = body.encode() if isinstance(body, str) else body
    if json_depth_exceeds(raw):
        raise Malformed(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except Malformed:
        raise
    except (ValueError, RecursionError) as exc:
        raise Malformed("body is not JSON") from exc
    # `"\ud800"` is valid JSON but no text: SQLite (and UTF-8) refuse a lone surrogate.
    # A phone can send one (a multi-part SMS split inside an emoji), so it becomes U+FFFD.
    return _without_surrogates(value) if _SURROGATE_ESCAPE.search(raw) else value


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _without_surrogates(value):
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def json_body(require_json_type: bool = False) -> object:
    """The request body parsed by `parse_json` (read within the endpoint's size limit)."""
    if require_json_type and not request.is_json:
        raise Malformed("Content-Type must be application/json")
    return parse_json(request.get_data(cache=True))


_TYPE_NAMES = {str: "a string", int: "a whole number", dict: "an object", list: "a list"}


def wrong_types(mapping: dict, types: dict) -> str | None:
    """The first field of `mapping` present (not null) with another type than `types`
    says, as a message; None if all fit. Fields not named in `types` are not checked:
    providers add fields without notice."""
    for name, expected in types.items():
        value = mapping.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, expected):
            wanted = "a number" if isinstance(expected, tuple) else _TYPE_NAMES.get(expected)
            return f"{name} must be {wanted or expected.__name__}"
    return None


def ascii_header(name: str, max_length: int = MAX_HEADER_LENGTH) -> str | None:
    """Header `name` if it is present, printable ASCII and at most `max_length` long."""
    value = request.headers.get(name)
    if value is None or len(value) > max_length or not value.isascii() or not value.isprintable():
        return None
    return value


# --- URLs -------------------------------------------------------------------------------

def parse_host_list(value) -> list[str] | None:
    """`TRUSTED_HOSTS` as Flask wants it: a list of names (comma-separated in the environment)."""
    if not value:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    hosts = [item.strip() for item in items if item and item.strip()]
    return hosts or None


def public_url(path: str) -> str:
    """An absolute URL for `path`, never built from an unchecked Host header: on
    PUBLIC_BASE_URL, else on the request's host when Flask has checked it against
    TRUSTED_HOSTS, else `path` itself (relative)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + path
    if current_app.config.get("TRUSTED_HOSTS"):
        return request.url_root.rstrip("/") + path
    return path


# --- API-key throttle -------------------------------------------------------------------

# INCR, and give the counter its window the first time (or if it somehow lost its TTL):
# a counter without expiry would lock a client out for good.
_COUNT_FAILURE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return n
"""


def client_address() -> str:
    """Who is asking, for throttling: the peer address (a proxy in front must be trusted)."""
    return request.remote_addr or "unknown"


def search_visitor() -> str:
    """Who searched, for counting a search once a day (`count_search` keeps only a keyed
    digest of it): the peer address and the browser's User-Agent."""
    return f"{client_address()}\n{request.headers.get('User-Agent', '')}"


def _throttle_key(client: str) -> str:
    return f"jembatan:api-key-failures:{client}"


def api_key_lockout(connection, config: dict, client: str) -> int | None:
    """Seconds `client` must wait before trying an API key again, or None if it may try.

    Redis unreachable (or not configured): None — the keys are long random secrets, the
    throttle only keeps guessing slow, and an outage must not lock buyers out.
    """
    limit = int(config.get("API_KEY_MAX_FAILURES") or 0)
    if connection is None or limit <= 0:
        return None
    try:
        key = _throttle_key(client)
        failures = connection.get(key)
        if failures is None or int(failures) < limit:
            return None
        ttl = connection.ttl(key)
    except Exception as exc:  # noqa: BLE001 - an unreachable Redis must not refuse requests
        log.warning("API-key throttle unavailable: %s", type(exc).__name__)
        return None
    if ttl is None or ttl < 0:
        return None
    return max(int(ttl), 1)


def count_api_key_failure(connection, config: dict, client: str) -> None:
    """Count one failed API-key attempt by `client` in the current window."""
    if connection is None or int(config.get("API_KEY_MAX_FAILURES") or 0) <= 0:
        return
    window = max(int(config.get("API_KEY_FAILURE_WINDOW_SECONDS") or 0), 1)
    try:
        connection.eval(_COUNT_FAILURE, 1, _throttle_key(client), window)
    except Exception as exc:  # noqa: BLE001
        log.warning("API-key throttle unavailable: %s", type(exc).__name__)
