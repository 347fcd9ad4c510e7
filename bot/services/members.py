"""Looking after people from the desk: import sellers from CSV, edit or withdraw their
listings, move a seller to a new number, reset a forgotten PIN, erase a person on request.

Each change records itself in the audit trail inside its own transaction; the caller
queues the texts the people concerned get (in the same transaction) and hands them to the
workers after the commit.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlite_utils

from bot.phones import InvalidPhoneNumber, mask_phone, normalize_phone
from bot.services import listings as listings_service
from bot.services.contacts import find_contact_by_phone, get_contact
from bot.services.coordinators import record_action
from bot.services.products import find_product, normalize_product_name, valid_product_name
from bot.services.schedule import province_name, settled_province, village_provinces
from bot.sms import BRAND_PREFIX, sms_segments
from bot.storage import fetch_one, to_db_time, transaction

IMPORT_COLUMNS = ("name", "phone", "village", "province", "products")
MAX_IMPORT_ROWS = 5000
NAME_LIMIT = 60


class ChangeRefused(ValueError):
    """The change cannot be made; `reason` is a stable key the desk translates."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- CSV import ------------------------------------------------------------------------


@dataclass
class ImportRow:
    """One CSV line: what it would do (`create`, `update`) or why it is refused."""

    line: int
    name: str
    phone: str
    village: str
    products: list[str]
    province: str | None = None       # as provinces.csv spells it; None: not known
    action: str = "create"            # create, update, refused
    reason: str | None = None         # refused: missing_name, bad_phone, duplicate, not_a_seller, ...
    contact_id: int | None = None


@dataclass
class ImportPlan:
    """The preview of an import: every row's fate, and what the welcome texts cost."""

    rows: list[ImportRow] = field(default_factory=list)
    error: str | None = None          # the file itself is unusable: missing_columns, too_many_rows

    @property
    def accepted(self) -> list[ImportRow]:
        return [row for row in self.rows if row.action != "refused"]

    def counts(self) -> dict[str, int]:
        result = {"create": 0, "update": 0, "refused": 0}
        for row in self.rows:
            result[row.action] += 1
        return result


def plan_import(db: sqlite_utils.Database, text: str) -> ImportPlan:
    """Read a CSV of sellers (name, phone, village, optionally province, products separated
    by `;` or `|`) and say what importing it would do, row by row, without changing
    anything. A village whose name is recorded in several provinces needs the province
    column (DECISIONS 336): the row is refused, never guessed."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if not {"name", "phone", "village"} <= set(header):
        return ImportPlan(error="missing_columns")
    plan, seen = ImportPlan(), set()
    for number, raw in enumerate(reader, start=2):
        values = {key.strip().lower(): (value or "").strip() for key, value in raw.items() if key}
        products = [p.strip() for p in values.get("products", "").replace("|", ";").split(";") if p.strip()]
        row = ImportRow(number, " ".join(values.get("name", "").split()), values.get("phone", ""),
                        " ".join(values.get("village", "").split()), products,
                        " ".join(values.get("province", "").split()) or None)
        plan.rows.append(row)
        if len(plan.rows) > MAX_IMPORT_ROWS:
            return ImportPlan(error="too_many_rows")
        row.reason = _refusal(db, row, seen)
        if row.reason:
            row.action = "refused"
            continue
        seen.add(row.phone)
        existing = find_contact_by_phone(db, row.phone)
        if existing is not None:
            row.action, row.contact_id = "update", existing["id"]
    return plan


def _refusal(db, row: ImportRow, seen: set) -> str | None:
    if not row.name or len(row.name) > NAME_LIMIT:
        return "missing_name"
    if not row.village or len(row.village) > NAME_LIMIT:
        return "missing_village"
    if row.province:
        row.province = province_name(row.province)
        if row.province is None:
            return "unknown_province"
    elif len(village_provinces(db, row.village)) > 1:
        return "ambiguous_village"
    else:
        row.province = settled_province(db, row.village)
    try:
        row.phone = normalize_phone(row.phone)
    except InvalidPhoneNumber:
        return "bad_phone"
    if row.phone in seen:
        return "duplicate"
    if any(not valid_product_name(normalize_product_name(p)) for p in row.products):
        return "bad_product"
    existing = find_contact_by_phone(db, row.phone)
    if existing is not None and existing["role"] not in (None, "seller"):
        return "not_a_seller"
    if existing is not None and existing["opted_out"]:
        return "opted_out"
    return None


def welcome_cost(texts: list[str]) -> int:
    """SMS segments the welcome texts cost, with the brand prefix Twilio SMS adds."""
    return sum(sms_segments(BRAND_PREFIX + text) for text in texts)


def apply_import(db: sqlite_utils.Database, plan: ImportPlan, now: datetime, actor: str,
                 actor_id: int | None) -> list[dict]:
    """Create or update the accepted rows' sellers (consent recorded as given at import)
    and subscribe them to their products; return the contacts that are new (they get the
    welcome text)."""
    created = []
    stamp = to_db_time(now)
    with transaction(db):
        for row in plan.accepted:
            existing = find_contact_by_phone(db, row.phone)
            if existing is None:
                cursor = db.execute(
                    "INSERT INTO contacts (phone, role, name, village, province, registered_at, "
                    "created_at, consent_at, consent_source) "
                    "VALUES (?, 'seller', ?, ?, ?, ?, ?, ?, 'import')",
                    [row.phone, row.name, row.village, row.province, stamp, stamp, stamp])
                contact_id = cursor.lastrowid
                created.append(get_contact(db, contact_id))
            else:
                contact_id = existing["id"]
                db.execute("UPDATE contacts SET role = 'seller', name = ?, village = ?, province = ?, "
                           "registered_at = COALESCE(registered_at, ?), "
                           "consent_at = COALESCE(consent_at, ?), "
                           "consent_source = COALESCE(consent_source, 'import') WHERE id = ?",
                           [row.name, row.village, row.province, stamp, stamp, contact_id])
            for name in row.products:
                product = find_product(db, normalize_product_name(name))
                if product is not None:
                    db.execute("INSERT OR IGNORE INTO subscriptions (contact_id, product_id, source, "
                               "created_at) VALUES (?, ?, 'import', ?)", [contact_id, product["id"], stamp])
        counts = plan.counts()
        record_action(db, actor, "people.import", counts, now, actor_id)
    return created


# --- listings --------------------------------------------------------------------------


def edit_listing(db: sqlite_utils.Database, listing_id: int, *, price: int, quantity: Decimal,
                 now: datetime, actor: str, actor_id: int | None) -> dict:
    """Set a listing's price and available quantity (a coordinator fixing a wrong listing);
    returns the listing. Refuses a withdrawn listing or impossible numbers."""
    with transaction(db):
        listing = listings_service.get_listing(db, listing_id)
        if listing["status"] != "active":
            raise ChangeRefused("withdrawn")
        if not listings_service.valid_price(price):
            raise ChangeRefused("bad_price")
        if not listings_service.valid_quantity(quantity, allow_zero=True):
            raise ChangeRefused("bad_quantity")
        db.execute("UPDATE listings SET price = ?, quantity_milli = ?, updated_at = ? WHERE id = ?",
                   [price, listings_service.to_milli(quantity), to_db_time(now), listing_id])
        record_action(db, actor, "listing.edit", {"code": listing["code"], "price": [listing["price"], price],
                                                  "quantity_milli": [listing["quantity_milli"],
                                                                     listings_service.to_milli(quantity)]},
                      now, actor_id)
        return listings_service.get_listing(db, listing_id)


def withdraw_listing(db: sqlite_utils.Database, listing_id: int, now: datetime, actor: str,
                     actor_id: int | None) -> dict:
    """Take a listing off the market for its seller."""
    with transaction(db):
        listing = listings_service.get_listing(db, listing_id)
        if listing["status"] != "active":
            raise ChangeRefused("withdrawn")
        listing = listings_service.withdraw_listing(db, listing_id, now)
        record_action(db, actor, "listing.withdraw", {"code": listing["code"]}, now, actor_id)
        return listing


# --- products --------------------------------------------------------------------------


def merge_products(db: sqlite_utils.Database, source_id: int, target_id: int, now: datetime,
                   actor: str, actor_id: int | None) -> None:
    """Fold product `source_id` (a stray like `cabai🌶`) into `target_id`: its listings,
    prices, subscriptions and names move, so its name becomes a synonym of the target."""
    if source_id == target_id:
        raise ChangeRefused("same_product")
    with transaction(db):
        source = fetch_one(db, "SELECT * FROM products WHERE id = ?", [source_id])
        target = fetch_one(db, "SELECT * FROM products WHERE id = ?", [target_id])
        if source is None or target is None:
            raise ChangeRefused("unknown_product")
        db.execute("UPDATE listings SET product_id = ? WHERE product_id = ?", [target_id, source_id])
        db.execute("UPDATE orders SET product_id = ? WHERE product_id = ?", [target_id, source_id])
        db.execute("UPDATE reference_prices SET product_id = ? WHERE product_id = ?", [target_id, source_id])
        db.execute("INSERT OR IGNORE INTO subscriptions (contact_id, product_id, source, created_at) "
                   "SELECT contact_id, ?, source, created_at FROM subscriptions WHERE product_id = ?",
                   [target_id, source_id])
        db.execute("DELETE FROM subscriptions WHERE product_id = ?", [source_id])
        db.execute("UPDATE product_names SET product_id = ? WHERE product_id = ?", [target_id, source_id])
        db.execute("DELETE FROM products WHERE id = ?", [source_id])
        record_action(db, actor, "product.merge", {"from": source["name"], "into": target["name"]}, now,
                      actor_id)


def add_synonym(db: sqlite_utils.Database, product_id: int, name: str, now: datetime, actor: str,
                actor_id: int | None) -> None:
    """Another name sellers use for the product; refused if it already names a product."""
    key = normalize_product_name(name)
    if not valid_product_name(key):
        raise ChangeRefused("bad_product")
    with transaction(db):
        if find_product(db, key) is not None:
            raise ChangeRefused("name_taken")
        product = fetch_one(db, "SELECT name FROM products WHERE id = ?", [product_id])
        if product is None:
            raise ChangeRefused("unknown_product")
        db.execute("INSERT INTO product_names (name, product_id, created_at) VALUES (?, ?, ?)",
                   [key, product_id, to_db_time(now)])
        record_action(db, actor, "product.synonym", {"product": product["name"], "synonym": key}, now,
                      actor_id)


# --- a person's number, PIN and data ---------------------------------------------------


@dataclass(frozen=True)
class NumberMove:
    """A seller moved to a new number: the contact (now on it) and the old number."""

    contact: dict
    old_phone: str


def move_number(db: sqlite_utils.Database, contact_id: int, new_phone: str, now: datetime, actor: str,
                actor_id: int | None) -> NumberMove:
    """Move a person to `new_phone` (a lost or changed SIM). The contact row stays, so balance,
    listings, orders and history follow; the old number is no longer theirs (a text from it
    is a stranger's). A new number that only ever texted us is folded in; one that belongs
    to someone registered is refused."""
    try:
        new_phone = normalize_phone(new_phone)
    except InvalidPhoneNumber:
        raise ChangeRefused("bad_phone") from None
    with transaction(db):
        contact = get_contact(db, contact_id)
        if contact["erased_at"]:
            raise ChangeRefused("erased")
        if contact["phone"] == new_phone:
            raise ChangeRefused("same_number")
        other = find_contact_by_phone(db, new_phone)
        if other is not None:
            if other["role"] or other["is_coordinator"] or fetch_one(
                    db, "SELECT 1 FROM desk_roles WHERE contact_id = ?", [other["id"]]):
                raise ChangeRefused("number_taken")
            _fold_stranger(db, other["id"], contact_id)
        db.execute("DELETE FROM dialogs WHERE contact_id = ?", [contact_id])
        # The new SIM has never written on WhatsApp nor by any SMS transport: reach it by default.
        db.execute("UPDATE contacts SET phone = ?, last_whatsapp_at = NULL, sms_channel = NULL WHERE id = ?",
                   [new_phone, contact_id])
        db.execute("UPDATE desk_sessions SET ended_at = ? WHERE contact_id = ? AND ended_at IS NULL",
                   [to_db_time(now), contact_id])
        record_action(db, actor, "person.move_number",
                      {"contact": contact_id, "from": mask_phone(contact["phone"]),
                       "to": mask_phone(new_phone)},
                      now, actor_id)
        return NumberMove(get_contact(db, contact_id), contact["phone"])


def _fold_stranger(db, stranger_id: int, into_id: int) -> None:
    """An unregistered contact's traces join the person who now owns its number."""
    for table in ("inbound", "outbox", "media"):
        db.execute(f"UPDATE {table} SET contact_id = ? WHERE contact_id = ?", [into_id, stranger_id])
    for table in ("dialogs", "subscriptions", "contact_group_members", "desk_tokens", "desk_sessions"):
        db.execute(f"DELETE FROM {table} WHERE contact_id = ?", [stranger_id])
    db.execute("DELETE FROM contacts WHERE id = ?", [stranger_id])


def reset_pin(db: sqlite_utils.Database, contact_id: int, now: datetime, actor: str,
              actor_id: int | None) -> bool:
    """Forget a seller's PIN (and any lock): they choose a new one at their next withdrawal,
    which asks for it when none is set. False if they had none."""
    with transaction(db):
        cursor = db.execute("DELETE FROM seller_pins WHERE contact_id = ?", [contact_id])
        if cursor.rowcount:
            record_action(db, actor, "person.pin_reset", {"contact": contact_id}, now, actor_id)
        return bool(cursor.rowcount)


def erase_person(db: sqlite_utils.Database, contact_id: int, now: datetime, actor: str,
                 actor_id: int | None) -> None:
    """Erase a person's personal data on request: name, number, village, texts, payout
    account, PIN, subscriptions and groups go; listings are withdrawn. The ledger's
    entries and amounts stay (the books must balance), tied to an anonymous contact."""
    placeholder = f"erased:{contact_id}"
    with transaction(db):
        contact = get_contact(db, contact_id)
        if contact["erased_at"]:
            raise ChangeRefused("erased")
        stamp = to_db_time(now)
        db.execute(
            "UPDATE contacts SET phone = ?, name = NULL, village = NULL, province = NULL, city = NULL, "
            "locale = NULL, "
            "timezone = NULL, opted_out = 1, sms_channel = NULL, last_whatsapp_at = NULL, "
            "coordinator_region = NULL, is_coordinator = 0, erased_at = ? WHERE id = ?",
            [placeholder, stamp, contact_id])
        db.execute("UPDATE inbound SET body = '', raw = NULL, phone = ? WHERE contact_id = ?",
                   [placeholder, contact_id])
        db.execute("UPDATE outbox SET body = '', template_variables = NULL, phone = ? WHERE contact_id = ?",
                   [placeholder, contact_id])
        db.execute("UPDATE payouts SET account_number = '-', account_holder_name = '-' "
                   "WHERE seller_contact_id = ?", [contact_id])
        db.execute("UPDATE buyers SET name = '-', city = '-' WHERE contact_id = ?", [contact_id])
        for table in ("payout_accounts", "seller_pins", "dialogs", "subscriptions", "contact_group_members",
                      "desk_roles", "desk_tokens"):
            db.execute(f"DELETE FROM {table} WHERE contact_id = ?", [contact_id])
        # Issued statements quote the name and village; once erased they no longer verify.
        db.execute("DELETE FROM statements WHERE seller_contact_id = ?", [contact_id])
        db.execute("DELETE FROM desk_signin_events WHERE phone = ?", [contact["phone"]])
        db.execute("DELETE FROM desk_lockouts WHERE phone = ?", [contact["phone"]])
        db.execute("UPDATE desk_sessions SET ended_at = ? WHERE contact_id = ? AND ended_at IS NULL",
                   [stamp, contact_id])
        db.execute("UPDATE listings SET status = 'withdrawn', withdrawn_at = ?, updated_at = ?, "
                   "product_text = '-' WHERE seller_id = ? AND status = 'active'", [stamp, stamp, contact_id])
        db.execute("UPDATE listings SET product_text = '-' WHERE seller_id = ?", [contact_id])
        for secret in filter(None, (contact["phone"], contact["name"])):
            db.execute("UPDATE coordinator_actions SET actor = replace(actor, :s, :p), "
                       "details = replace(details, :s, :p) WHERE instr(details, :s) OR instr(actor, :s)",
                       {"s": secret, "p": placeholder})
            db.execute("UPDATE webhook_deliveries SET payload = replace(payload, :s, :p) "
                       "WHERE instr(payload, :s)",
                       {"s": secret, "p": placeholder})
        record_action(db, actor, "person.erase", {"contact": contact_id}, now, actor_id)


def parse_price(text: str) -> int | None:
    """`12.500`, `12500`, `Rp12.500` -> 12500; None if not a whole rupiah amount."""
    digits = text.replace("Rp", "").replace("rp", "").replace(".", "").replace(" ", "").strip()
    return int(digits) if digits.isdigit() else None


def parse_quantity(text: str) -> Decimal | None:
    """`1.250,5` or `1250.5` -> Decimal('1250.5'); None if not a number."""
    cleaned = text.strip().replace(" ", "")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
