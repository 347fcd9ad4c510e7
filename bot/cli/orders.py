"""`jembatan buyer|order|webhook …`: buyers, their API keys and webhooks; orders; relays.

- `buyer add NAME --city CITY (--phone P [--channel whatsapp|sms] | --webhook URL)`;
  `buyer list`; `buyer webhook BUYER URL [--rotate-secret]`;
- `buyer key create BUYER [--label L]` (shown once), `buyer key list BUYER`,
  `buyer key revoke KEY_ID`;
- `order list [--status ...]`: what is under way, for coordinators;
- `webhook list [--status failed|pending|delivered|all]`, `webhook retry ID`.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.cli.common import echo_lines, phone_argument
from bot.phones import display_address
from bot.services import buyers, listings, orders, webhooks
from bot.services.handover import Handover
from bot.storage import utcnow
from bot.web.db import get_db, hand_over


def _buyer(ref: str) -> dict:
    """A buyer by id or phone, or a usage error."""
    # Short digit strings are ids; anything longer is a phone written without + or dashes.
    is_id = ref.isascii() and ref.isdigit() and len(ref) <= buyers.MAX_ID_DIGITS
    found = buyers.find_buyer(get_db(), ref if is_id else phone_argument(ref))
    if found is None:
        raise click.BadParameter(f"no buyer {ref} (give its id from `buyer list`, or its phone)")
    return found


def _show_secret(secret: str) -> None:
    click.echo(f"webhook signing secret: {secret}")
    click.echo("  Give it to the buyer: their server verifies X-Jembatan-Signature with it "
               "(README, 'Webhook relays').")


@click.group("buyer")
def buyer_group() -> None:
    """City buyers: create them, their webhooks and API keys."""


@buyer_group.command("add")
@click.argument("name")
@click.option("--city", required=True, help="The city the buyer is in")
@click.option("--phone", default=None, help="Their phone (needed for whatsapp and sms)")
@click.option("--channel", type=click.Choice(["whatsapp", "sms", "webhook"]), default=None,
              help="Where order news goes (default: webhook with --webhook, else whatsapp)")
@click.option("--webhook", "webhook_url", default=None, help="Their system's URL for signed relays")
@click.option("--locale", type=click.Choice(["id", "en"]), default=None, help="Language of texts")
@with_appcontext
def buyer_add(name: str, city: str, phone: str | None, channel: str | None, webhook_url: str | None,
              locale: str | None) -> None:
    """Create buyer NAME (a business) in CITY with a preferred channel."""
    channel = channel or ("webhook" if webhook_url else "whatsapp")
    try:
        buyer, secret = buyers.create_buyer(
            get_db(), name=name, city=city, channel=channel, now=utcnow(),
            phone=phone_argument(phone) if phone else None, webhook_url=webhook_url, locale=locale)
    except buyers.BuyerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"buyer {buyer['id']}: {buyer['name']}, {buyer['city']} (news by {channel})")
    if secret:
        _show_secret(secret)
    click.echo(f"  API key: jembatan buyer key create {buyer['id']}")


@buyer_group.command("list")
@with_appcontext
def buyer_list() -> None:
    """List buyers: id, name, city, channel, phone, active API keys."""
    echo_lines((f"{b['id']}\t{b['name']}\t{b['city']}\t{_buyer_channel(b)}\t{display_address(b['phone'])}\t"
                f"{b['active_keys']} key(s)" for b in buyers.list_buyers(get_db())),
               "no buyers yet (add one: jembatan buyer add NAME CITY)")


def _buyer_channel(buyer: dict) -> str:
    if buyer["channel"] == "webhook":
        return f"webhook {buyer['webhook_url']}"
    return buyer["channel"] or "where they write"


@buyer_group.command("webhook")
@click.argument("buyer")
@click.argument("url")
@click.option("--rotate-secret", is_flag=True, help="Make a new signing secret (the old one stops)")
@with_appcontext
def buyer_webhook(buyer: str, url: str, rotate_secret: bool) -> None:
    """Send BUYER's order news to URL (signed JSON) from now on; prints the secret."""
    try:
        secret = buyers.set_webhook(get_db(), _buyer(buyer)["id"], url, utcnow(),
                                    rotate_secret=rotate_secret)
    except buyers.BuyerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"order news for buyer {buyer} now goes to {url}")
    _show_secret(secret)


@buyer_group.group("key")
def key_group() -> None:
    """Buyers' API keys for /api/v1/orders."""


@key_group.command("create")
@click.argument("buyer")
@click.option("--label", default=None, help="What the key is for, e.g. 'pos-system'")
@with_appcontext
def key_create(buyer: str, label: str | None) -> None:
    """Make an API key for BUYER and print it. It is shown only now: only its hash is kept."""
    row, key = buyers.create_api_key(get_db(), _buyer(buyer)["id"], utcnow(), label)
    click.echo(key)
    click.echo(f"key {row['id']} ({row['prefix']}...) for buyer {row['buyer_id']}: copy it now, it "
               f"cannot be shown again. Use: Authorization: Bearer <key>", err=True)


@key_group.command("list")
@click.argument("buyer")
@with_appcontext
def key_list(buyer: str) -> None:
    """List BUYER's keys (id, prefix, label, created, revoked)."""
    keys = buyers.list_api_keys(get_db(), _buyer(buyer)["id"])
    echo_lines((f"{key['id']}\t{key['prefix']}...\t{key['label'] or '-'}\t{key['created_at']}\t"
                f"{key['revoked_at'] or 'active'}" for key in keys),
               f"no API keys for buyer {buyer} yet (make one: jembatan buyer key create {buyer})")


@key_group.command("revoke")
@click.argument("key_id", type=int)
@with_appcontext
def key_revoke(key_id: int) -> None:
    """Revoke API key KEY_ID at once."""
    if not buyers.revoke_api_key(get_db(), key_id, utcnow()):
        raise click.ClickException(f"no active key {key_id}")
    click.echo(f"key {key_id} revoked")


@click.group("order")
def order_group() -> None:
    """Orders between buyers and sellers."""


@order_group.command("list")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["pending", "accepted", "shipped", "received", "declined", "cancelled",
                                 "expired"]),
              help="Only these (repeatable); default: the ones under way")
@click.option("--limit", default=100, show_default=True, help="How many orders to show")
@with_appcontext
def order_list(statuses: tuple[str, ...], limit: int) -> None:
    """Newest orders first: code, status, quantity, product, total, buyer, seller, created."""
    rows = orders.list_orders(get_db(), statuses or orders.OPEN_STATUSES, limit)
    echo_lines((f"{o['code']}\t{o['status']}\t{listings.from_milli(o['quantity_milli'])} {o['unit']} "
                f"{o['product_name']}\tRp{o['total']}\t{o['buyer_name']}\t{o['seller_name']}\t"
                f"{o['created_at']}" for o in rows),
               f"no {'/'.join(statuses)} orders" if statuses else "no orders under way")


@click.group("webhook")
def webhook_group() -> None:
    """Webhook relays to buyers' systems."""


@webhook_group.command("list")
@click.option("--status", default="failed", show_default=True,
              type=click.Choice(["failed", "pending", "sending", "delivered", "all"]),
              help="Only relays in this state")
@click.option("--limit", default=100, show_default=True, help="How many relays to show")
@with_appcontext
def webhook_list(status: str, limit: int) -> None:
    """Relays (newest first): id, order, event, status, tries, last answer, buyer, event id."""
    relays = webhooks.list_deliveries(get_db(), None if status == "all" else (status,), limit)
    echo_lines((f"{w['id']}\t{w['order_code']}#{w['sequence']}\t{w['event_type']}\t{w['status']}\t"
                f"{w['attempts']} tries\t{w['last_error'] or w['last_status_code'] or '-'}\t"
                f"{w['buyer_name']}\t{w['event_id']}" for w in relays),
               "no webhook relays yet" if status == "all" else f"no {status} webhook relays")


@webhook_group.command("retry")
@click.argument("delivery_id", type=int)
@with_appcontext
def webhook_retry(delivery_id: int) -> None:
    """Try a failed relay again (after the buyer fixed their server), for another day."""
    db, now = get_db(), utcnow()
    if not webhooks.retry_failed(db, delivery_id, now, int(current_app.config["WEBHOOK_RETRY_HOURS"])):
        raise click.ClickException(f"relay {delivery_id} is not failed")
    hand_over(Handover(relay_ids=[delivery_id]))
    click.echo(f"relay {delivery_id} will be sent again")


def register(main: click.Group) -> None:
    """Add the buyer, order and webhook command groups to the `jembatan` command."""
    for group in (buyer_group, order_group, webhook_group):
        main.add_command(group)
