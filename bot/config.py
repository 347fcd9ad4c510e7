"""Settings from the environment, with the stable names from DESIGN.md section 7.

The settings are a plain dict so that tests (and `create_app(test_config)`) can hand in
their own; nothing reads `os.environ` after `load_config` except the RQ jobs, which
call it again in their own process.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.liveness import read_owned

#: Every environment variable the application reads, with its default. The README's
#: configuration table mirrors this dict; a test keeps them in step.
ENV_DEFAULTS: dict[str, str | None] = {
    "DATABASE_PATH": "var/jembatan.db",
    "SQLITE_CHECKPOINTS": "sweep",  # or "external" (Litestream checkpoints; we never do)
    # The inbound engine (`jembatan engine`, DECISIONS 496): `on` = web workers hand verified
    # Twilio messages to it when it runs (and process them themselves when it does not).
    "INBOUND_ENGINE": "on",
    "INBOUND_ENGINE_SOCKET": None,  # unset: `<DATABASE_PATH>-engine.sock`
    "MEDIA_DIR": None,  # unset: media/ beside DATABASE_PATH (bot.services.media.media_dir)
    "REDIS_URL": None,
    "TWILIO_ACCOUNT_SID": None,
    "TWILIO_AUTH_TOKEN": None,
    "TWILIO_API_BASE_URL": "https://api.twilio.com",
    "TWILIO_SMS_FROM": None,
    "TWILIO_WHATSAPP_FROM": None,
    "TWILIO_MESSAGING_SERVICE_SID": None,
    "TWILIO_WHATSAPP_TEMPLATE_SID": None,
    "PUBLIC_BASE_URL": None,
    # A number buyers may text orders to from the storefront; unset: WhatsApp links only
    # (the hub SIM's SMS are capped and precious).
    "BUYER_SMS_NUMBER": None,
    "TRUSTED_HOSTS": None,
    # Signs what must not be forged (seller statements, and the desk's sessions). Unset: a
    # random key kept in `secret.key` beside the database (bot.config.secret_key).
    "SECRET_KEY": None,
    "ANDROID_GATEWAY_URL": None,
    "ANDROID_GATEWAY_USER": None,
    "ANDROID_GATEWAY_PASSWORD": None,
    "ANDROID_GATEWAY_SIGNING_KEY": None,
    "XENDIT_API_BASE_URL": "https://api.xendit.co",
    "XENDIT_SECRET_KEY": None,
    "XENDIT_CALLBACK_TOKEN": None,
    "PAYOUT_PROVIDER": "manual",
    "COOPERATIVE_FEE_BPS": "0",
    "PAYOUT_MIN_AMOUNT": "10000",
    "PAYOUT_DAILY_MAX": "5000000",
    # Above this many rupiah a payout needs two coordinators (maker-checker); 0 = never.
    "PAYOUT_SECOND_APPROVAL_ABOVE": "0",
    # How far withdrawals may run ahead of buyers' payments, in rupiah; unset = no limit.
    "PAYOUT_ADVANCE_LIMIT": None,
    # How buyers pay, told them when the seller accepts (bank transfer details, QRIS, COD).
    "PAYMENT_INSTRUCTIONS": None,
    "DEFAULT_LOCALE": "id",
    "DEFAULT_TIMEZONE": "Asia/Jakarta",
    "SMS_CHANNEL": None,
    "PROVIDER_TIMEOUT_SECONDS": "10",
    "GATEWAY_MAX_CLOCK_SKEW_SECONDS": "300",
    "DIALOG_TIMEOUT_MINUTES": "30",
    "OUTBOX_MAX_ATTEMPTS": "10",
    "OUTBOX_RETRY_BASE_SECONDS": "15",
    "QUIET_HOURS": "21:00-06:00",
    "PRICE_BROADCAST_TTL_HOURS": "6",
    "BROADCAST_RATE_TWILIO_SMS": "1",
    "BROADCAST_RATE_TWILIO_WHATSAPP": "10",
    "BROADCAST_RATE_ANDROID_SMS": "0.5",
    "BROADCAST_BATCH_SIZE": "100",
    "SIMULATOR": "off",
    "ORDER_REMINDER_MINUTES": "120",
    "ORDER_EXPIRY_MINUTES": "360",
    "WEBHOOK_RETRY_BASE_SECONDS": "30",
    "WEBHOOK_RETRY_HOURS": "24",
    "LOOP_MAX_REPEATS": "10",
    "LOOP_WINDOW_MINUTES": "5",
    "OUTBOUND_PER_NUMBER_PER_MINUTE": "10",
    "ANDROID_GATEWAY_DAILY_LIMIT": None,
    "ANDROID_GATEWAY_OVERFLOW": "twilio",
    "ANDROID_GATEWAY_HEALTH_SECONDS": "300",
    "HUB_SILENT_MINUTES": "15",
    "HUB_BATTERY_LOW_PERCENT": "20",
    "SWEEP_INTERVAL_SECONDS": "30",
    "DELIVERY_MAX_SWEEP_AGE_SECONDS": "120",
    "DELIVERY_MAX_BACKLOG_AGE_SECONDS": "600",
    "API_KEY_MAX_FAILURES": "10",
    "API_KEY_FAILURE_WINDOW_SECONDS": "300",
    "DESK_IDLE_MINUTES": "30",
    # Federation (issue 18, DECISIONS 275-): `standalone` is one deployment as before;
    # a `hub` publishes its catalog changes, a `city` applies every hub's.
    "JEMBATAN_ROLE": "standalone",
    "JEMBATAN_HUB_ID": None,  # a hub's letter, prefixed to its codes at the city
    "JEMBATAN_NATS_URL": None,  # unset: the embedded nats-server `jembatan up` started
    "JEMBATAN_HUBS": None,  # the city's hubs, comma-separated letters: "A,B"
    # For the embedded nats-server of `jembatan up`: a hub's uplink to the city's leaf port
    # (nats-leaf://hub-a:password@city.example.org:7422), the city's leaf port and the
    # password of each hub ("A=secret,B=other").
    "JEMBATAN_LEAF_URL": None,
    "JEMBATAN_LEAF_PORT": "7422",
    "JEMBATAN_LEAF_USERS": None,
    # Continuous backup of the database with Litestream (file:///... or s3://...).
    "LITESTREAM_REPLICA_URL": None,
    # Days a hub keeps events JetStream acknowledged (the newest of each entity stays).
    "JEMBATAN_EVENTS_RETENTION_DAYS": "7",
    # Hours a city order waits for its hub to take it; later the hub refuses it (DECISIONS 422).
    "JEMBATAN_REQUEST_WAIT_HOURS": "24",
}

#: Roles a deployment may take (DECISIONS 275).
ROLES = ("standalone", "hub", "city")
#: The letters a hub id may be: the listing-code letters (no I, L, O, P), so that a
#: city code (`AC7`: hub A's C7) is as easy to type as a hub's own.
HUB_ID_LETTERS = "ABCDEFGHJKMNQRSTUVWXYZ"

_INT_SETTINGS = {
    "PROVIDER_TIMEOUT_SECONDS",
    "GATEWAY_MAX_CLOCK_SKEW_SECONDS",
    "DIALOG_TIMEOUT_MINUTES",
    "OUTBOX_MAX_ATTEMPTS",
    "OUTBOX_RETRY_BASE_SECONDS",
    "COOPERATIVE_FEE_BPS",
    "PAYOUT_MIN_AMOUNT",
    "PAYOUT_DAILY_MAX",
    "PAYOUT_SECOND_APPROVAL_ABOVE",
    "PAYOUT_ADVANCE_LIMIT",
    "PRICE_BROADCAST_TTL_HOURS",
    "BROADCAST_BATCH_SIZE",
    "ORDER_REMINDER_MINUTES",
    "ORDER_EXPIRY_MINUTES",
    "WEBHOOK_RETRY_BASE_SECONDS",
    "WEBHOOK_RETRY_HOURS",
    "LOOP_MAX_REPEATS",
    "LOOP_WINDOW_MINUTES",
    "OUTBOUND_PER_NUMBER_PER_MINUTE",
    "ANDROID_GATEWAY_DAILY_LIMIT",
    "ANDROID_GATEWAY_HEALTH_SECONDS",
    "HUB_SILENT_MINUTES",
    "HUB_BATTERY_LOW_PERCENT",
    "SWEEP_INTERVAL_SECONDS",
    "DELIVERY_MAX_SWEEP_AGE_SECONDS",
    "DELIVERY_MAX_BACKLOG_AGE_SECONDS",
    "API_KEY_MAX_FAILURES",
    "API_KEY_FAILURE_WINDOW_SECONDS",
    "DESK_IDLE_MINUTES",
    "JEMBATAN_LEAF_PORT",
    "JEMBATAN_EVENTS_RETENTION_DAYS",
    "JEMBATAN_REQUEST_WAIT_HOURS",
}


def load_dotenv_if_present(path: str | os.PathLike = ".env") -> None:
    """Read a development `.env` file into the environment (never overriding real vars)."""
    if Path(path).exists():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def load_config(environ: dict | None = None) -> dict:
    """Return the settings dict built from `environ` (default: the process environment).

    Empty strings count as unset, so `TWILIO_AUTH_TOKEN=` in a deploy script does not
    silently turn into an empty signing key.
    """
    environ = os.environ if environ is None else environ
    config: dict = {}
    for name, default in ENV_DEFAULTS.items():
        value = environ.get(name) or default
        if name in _INT_SETTINGS and value is not None:
            value = int(value)
        config[name] = value
    return config


def sms_channel(config: dict) -> str | None:
    """Which transport carries outbound SMS that is not a reply to a gateway message.

    `SMS_CHANNEL` may name `android` or `twilio`; otherwise the Android gateway wins when
    configured, because Indonesian SIMs reach basic phones more reliably than an
    international sender.
    """
    chosen = config.get("SMS_CHANNEL")
    if chosen in ("android", "twilio"):
        return "android_sms" if chosen == "android" else "twilio_sms"
    if config.get("ANDROID_GATEWAY_URL"):
        return "android_sms"
    if config.get("TWILIO_ACCOUNT_SID") and (
        config.get("TWILIO_SMS_FROM") or config.get("TWILIO_MESSAGING_SERVICE_SID")
    ):
        return "twilio_sms"
    return None


#: PAYMENT_INSTRUCTIONS travel in one SMS with the order code and total around them.
PAYMENT_INSTRUCTIONS_MAX = 90


class ConfigError(RuntimeError):
    """The settings contradict each other; the app refuses to start rather than guess."""


def check_config(config: dict) -> None:
    """Refuse combinations that would silently accept forged traffic."""
    if config.get("TWILIO_ACCOUNT_SID") and not config.get("TWILIO_AUTH_TOKEN"):
        raise ConfigError(
            "TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not: the Twilio webhook "
            "cannot verify signatures. Set the token (or unset the SID)."
        )
    if config.get("ANDROID_GATEWAY_URL") and not config.get("ANDROID_GATEWAY_SIGNING_KEY"):
        raise ConfigError(
            "ANDROID_GATEWAY_URL is set but ANDROID_GATEWAY_SIGNING_KEY is not: gateway "
            "webhooks could not be verified. Set the key from the app's webhook settings."
        )
    if (config.get("INBOUND_ENGINE") or "on") not in ("on", "off"):
        raise ConfigError("INBOUND_ENGINE must be `on` or `off`.")
    if (config.get("SQLITE_CHECKPOINTS") or "sweep") not in ("sweep", "external"):
        raise ConfigError("SQLITE_CHECKPOINTS must be `sweep` or `external` (Litestream).")
    provider = config.get("PAYOUT_PROVIDER") or "manual"
    if provider not in ("manual", "xendit"):
        raise ConfigError(f"PAYOUT_PROVIDER is {provider!r}: use manual or xendit.")
    if provider == "xendit" and not (
        config.get("XENDIT_SECRET_KEY") and config.get("XENDIT_CALLBACK_TOKEN")
    ):
        raise ConfigError(
            "PAYOUT_PROVIDER=xendit needs XENDIT_SECRET_KEY (to create payouts) and "
            "XENDIT_CALLBACK_TOKEN (to trust the callbacks that settle them)."
        )
    if not 0 <= int(config.get("COOPERATIVE_FEE_BPS") or 0) <= 10000:
        raise ConfigError("COOPERATIVE_FEE_BPS is basis points: 0 (no fee) to 10000 (100%).")
    expiry = int(config.get("ORDER_EXPIRY_MINUTES") or 0)
    reminder = int(config.get("ORDER_REMINDER_MINUTES") or 0)
    if expiry <= 0 or not 0 <= reminder < expiry:
        raise ConfigError("ORDER_EXPIRY_MINUTES must be positive and ORDER_REMINDER_MINUTES "
                          "(0: no reminder) shorter than it.")
    instructions = config.get("PAYMENT_INSTRUCTIONS")
    if instructions and not (instructions.isprintable() and len(instructions) <= PAYMENT_INSTRUCTIONS_MAX):
        raise ConfigError(f"PAYMENT_INSTRUCTIONS is told to buyers in one SMS: at most "
                          f"{PAYMENT_INSTRUCTIONS_MAX} plain characters, e.g. 'Transfer BRI 1234567890 "
                          f"a.n. Koperasi Tani Makmur'.")
    if int(config.get("WEBHOOK_RETRY_HOURS") or 0) < 24:
        raise ConfigError("WEBHOOK_RETRY_HOURS is at least 24: buyers' servers get a day to recover.")
    _check_federation(config)


def _valid_hub_id(value: object) -> bool:
    return isinstance(value, str) and len(value) == 1 and value in HUB_ID_LETTERS


def _check_federation(config: dict) -> None:
    role = role_of(config)
    if role not in ROLES:
        raise ConfigError(f"JEMBATAN_ROLE is {role!r}: use standalone, hub or city.")
    if role == "hub" and not _valid_hub_id(config.get("JEMBATAN_HUB_ID")):
        raise ConfigError(f"JEMBATAN_ROLE=hub needs JEMBATAN_HUB_ID: one capital letter of "
                          f"{HUB_ID_LETTERS} (it prefixes the hub's codes at the city).")
    if role == "city":
        hubs = city_hubs(config)
        if not hubs or not all(_valid_hub_id(hub) for hub in hubs) or len(set(hubs)) != len(hubs):
            raise ConfigError("JEMBATAN_ROLE=city needs JEMBATAN_HUBS: the hubs' letters, "
                              "comma-separated and each once (A,B).")


def role_of(config: dict) -> str:
    """The deployment's federation role: standalone (the default), hub or city."""
    return (config.get("JEMBATAN_ROLE") or "standalone").strip().lower()


def leaf_users(config: dict) -> dict[str, str]:
    """The city's leaf credentials per hub letter (`JEMBATAN_LEAF_USERS=A=s1,B=s2`)."""
    pairs = (part.split("=", 1) for part in (config.get("JEMBATAN_LEAF_USERS") or "").split(",")
             if "=" in part)
    return {hub.strip().upper(): password.strip() for hub, password in pairs}


def city_hubs(config: dict) -> list[str]:
    """The hub letters a city sources (`JEMBATAN_HUBS=A,B` -> ["A", "B"])."""
    return [part.strip().upper() for part in (config.get("JEMBATAN_HUBS") or "").split(",")
            if part.strip()]


def secret_key(config: dict) -> str:
    """SECRET_KEY, else a random key made once and kept in `secret.key` beside the
    database (readable by its owner only), so a hub works out of the box and keeps its
    signatures valid across restarts."""
    if config.get("SECRET_KEY"):
        return str(config["SECRET_KEY"])
    path = Path(config["DATABASE_PATH"]).parent / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole to a private temporary file, then linked into place: several
        # processes starting at once agree on one key, and none reads a half-written one.
        partial = path.with_name(f".secret.key.{os.getpid()}")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(os.urandom(32).hex())
        try:
            os.link(partial, path)
        except FileExistsError:
            pass  # another process won; use its key
        finally:
            partial.unlink()
    return path.read_text().strip()


def embedded_redis_url_file(config: dict) -> Path:
    """Where `jembatan up` writes the embedded Redis URL, beside the database."""
    return Path(config["DATABASE_PATH"]).parent / "redis.url"


def resolve_redis_url(config: dict) -> str | None:
    """`REDIS_URL`, else the embedded Redis that `jembatan up` started, else None."""
    return _configured_or_embedded(config, "REDIS_URL", embedded_redis_url_file(config))


def _configured_or_embedded(config: dict, setting: str, url_file: Path) -> str | None:
    if config.get(setting):
        return config[setting]
    return read_owned(url_file)


def web_url_file(config: dict) -> Path:
    """Where `jembatan up` writes the address its web server listens on, beside the database."""
    return Path(config["DATABASE_PATH"]).parent / "web.url"


def local_base_url(config: dict) -> str:
    """The base of links the CLI prints (`jembatan desk link`): `PUBLIC_BASE_URL`, else
    the address a running `jembatan up` serves (its `--port` included), else its default."""
    url = _configured_or_embedded(config, "PUBLIC_BASE_URL", web_url_file(config))
    return (url or "http://127.0.0.1:5000").rstrip("/")


def embedded_nats_url_file(config: dict) -> Path:
    """Where `jembatan up` writes the embedded nats-server's URL, beside the database."""
    return Path(config["DATABASE_PATH"]).parent / "nats.url"


def resolve_nats_url(config: dict) -> str | None:
    """`JEMBATAN_NATS_URL`, else the embedded nats-server `jembatan up` started, else None."""
    return _configured_or_embedded(config, "JEMBATAN_NATS_URL", embedded_nats_url_file(config))
