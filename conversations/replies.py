"""Every text the bot sends, by id, with realistic example values and the SMS budget.

Texts live in the gettext catalogs (`locales/<lang>/LC_MESSAGES/messages.po`), keyed by
the reply id; this module declares which ids exist and what values they take, so a test
can render every one of them in every language and hold it to one GSM-7 SMS.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from bot.sms import BRAND_PREFIX, SMS_LIMIT, gsm_safe, septets
from conversations.i18n import DEFAULT_LOCALE, load_translations, normalize_locale


def N_(reply_id: str) -> str:
    """Mark a reply id for `pybabel extract` (keyword N_) without translating it."""
    return reply_id


@dataclass(frozen=True)
class ReplySpec:
    """A reply id, the example values that exercise it, and whether it goes out as SMS."""

    id: str
    example: dict = field(default_factory=dict)
    sms: bool = True


class UnknownReply(KeyError):
    """A reply id that is not declared in REPLIES."""


_SPECS = [
    ReplySpec(N_("welcome")),
    ReplySpec(N_("empty")),
    ReplySpec(N_("unknown")),
    ReplySpec(N_("unknown.suggest"), {"keyword": "DAFTAR"}),
    ReplySpec(N_("not_available"), {"keyword": "SIARAN"}),
    ReplySpec(N_("not_registered")),
    ReplySpec(N_("error.internal")),
    ReplySpec(N_("dialog.cancelled")),
    ReplySpec(N_("dialog.nothing_to_cancel")),
    ReplySpec(N_("dialog.restart")),
    ReplySpec(N_("language.set")),
    ReplySpec(N_("language.ask")),
    ReplySpec(N_("stop.done")),
    ReplySpec(N_("start.done")),
    ReplySpec(N_("help.unregistered")),
    ReplySpec(N_("help.seller")),
    ReplySpec(N_("help.buyer")),
    ReplySpec(N_("help.coordinator")),
    ReplySpec(N_("help.topic_unknown"), {"topic": "XYZ"}),
    ReplySpec(N_("help.register")),
    ReplySpec(N_("help.cancel")),
    ReplySpec(N_("help.language")),
    ReplySpec(N_("help.stop")),
    ReplySpec(N_("help.help")),
    ReplySpec(N_("register.ask_name")),
    ReplySpec(N_("register.ask_village"), {"name": "Siti Aminah"}),
    ReplySpec(N_("register.invalid_name")),
    ReplySpec(N_("register.invalid_village")),
    ReplySpec(N_("register.done"), {"name": "Siti Aminah", "village": "Sukamaju Kidul"}),
    ReplySpec(N_("register.already"), {"name": "Siti Aminah", "village": "Sukamaju Kidul"}),
    ReplySpec(N_("register.is_buyer"), {"name": "Warung Bu Tini"}),
    # A village name recorded in several provinces (DECISIONS 336).
    ReplySpec(N_("register.ask_province"), {"village": "Sukamaju Kidul", "count": 3,
                                            "items": "1 Jawa Barat; 2 Jawa Tengah; 3 Sulawesi Selatan"}),
    ReplySpec(N_("register.ask_province_more"), {"village": "Sukamaju Kidul", "count": 9, "more": 7,
                                                 "items": "1 Bali; 2 Jawa Barat"}),
    # Selling, stock, reference prices, subscriptions and photos (issue 3).
    ReplySpec(N_("help.sell")),
    ReplySpec(N_("help.stock")),
    ReplySpec(N_("help.delete")),
    ReplySpec(N_("help.price")),
    ReplySpec(N_("help.subscribe")),
    ReplySpec(N_("sell.ask_product")),
    ReplySpec(N_("sell.ask_quantity"), {"product": "cabai merah keriting"}),
    ReplySpec(N_("sell.ask_quantity_in_unit"), {"product": "cabai merah keriting", "unit": "karung"}),
    ReplySpec(N_("sell.ask_unit"), {"product": "cabai merah keriting", "quantity": "1.250,5"}),
    ReplySpec(N_("sell.ask_price"), {"product": "cabai merah keriting", "unit": "karung"}),
    ReplySpec(N_("sell.confirm_price"), {"product": "cabai merah keriting", "price": "Rp1.250.000/karung"}),
    ReplySpec(N_("sell.ask_price_options"), {"product": "cabai merah keriting", "unit": "karung",
                                             "options": "Rp12.500 atau Rp1.250.000"}),
    ReplySpec(N_("sell.price_check"), {"price": "Rp1.500.000/karung", "usual": "Rp125.000/karung"}),
    ReplySpec(N_("sell.other_product"), {"product": "cabai merah keriting", "other": "bawang merah"}),
    ReplySpec(N_("dialog.suggest"), {"keyword": "DAFTAR PEMBELI"}),
    ReplySpec(N_("sell.duplicate"), {"product": "cabai merah keriting", "code": "C289",
                                     "quantity": "1.250,5 kg", "added": "1.250,5 kg"}),
    ReplySpec(N_("sell.duplicate_again"), {"code": "C289"}),
    ReplySpec(N_("sell.added"), {"code": "C289", "product": "cabai merah keriting",
                                 "added": "1.250,5 kg", "quantity": "12.250,5 kg",
                                 "price": "Rp125.000/kg"}),
    ReplySpec(N_("sell.invalid_product")),
    ReplySpec(N_("sell.invalid_quantity")),
    ReplySpec(N_("sell.invalid_unit")),
    ReplySpec(N_("sell.invalid_price"), {"unit": "karung"}),
    ReplySpec(N_("sell.done"), {"product": "cabai merah keriting", "quantity": "1.250,5 kg",
                                "price": "Rp125.000/kg", "code": "C289"}),
    ReplySpec(N_("sell.done_photo"), {"product": "cabai merah keriting", "quantity": "1.250,5 kg",
                                      "price": "Rp125.000/kg", "code": "C289"}),
    ReplySpec(N_("stock.list"), {"items": "C7 cabai 50 kg Rp12.000/kg; K23 kangkung 30 ikat "
                                          "Rp3.000/ikat; B4 beras 1.000 kg Rp11.500/kg"}),
    ReplySpec(N_("stock.list_more"), {"items": "C7 cabai 50 kg Rp12.000/kg; K23 kangkung 30 ikat "
                                               "Rp3.000/ikat", "more": 12}),
    ReplySpec(N_("stock.empty")),
    ReplySpec(N_("stock.updated"), {"code": "C289", "product": "cabai merah keriting",
                                    "quantity": "1.250,5 kg"}),
    ReplySpec(N_("stock.below_reserved"), {"code": "C289", "reserved": "1.250,5 kg",
                                           "orders": "P22, P23, P24"}),
    ReplySpec(N_("stock.updated_reserved"), {"code": "C289", "product": "cabai merah keriting",
                                             "total": "1.250,5 kg", "quantity": "1.000,5 kg",
                                             "reserved": "250 kg"}),
    ReplySpec(N_("stock.wrong_unit"), {"code": "C289", "unit": "karung"}),
    ReplySpec(N_("stock.added"), {"code": "C289", "product": "cabai merah keriting",
                                  "change": "1.250,5 kg", "total": "12.250,5 kg",
                                  "quantity": "11.250,5 kg"}),
    ReplySpec(N_("stock.removed"), {"code": "C289", "product": "cabai merah keriting",
                                    "change": "1.250,5 kg", "total": "12.250,5 kg",
                                    "quantity": "11.250,5 kg"}),
    ReplySpec(N_("stock.change_too_much"), {"code": "C289", "quantity": "1.250,5 kg"}),
    ReplySpec(N_("stock.invalid")),
    ReplySpec(N_("listing.unknown"), {"code": "C289"}),
    ReplySpec(N_("listing.not_yours"), {"code": "C289"}),
    ReplySpec(N_("listing.withdrawn"), {"code": "C289"}),
    ReplySpec(N_("delete.done"), {"code": "C289", "product": "cabai merah keriting"}),
    ReplySpec(N_("delete.missing")),
    ReplySpec(N_("price.latest"), {"product": "cabai merah keriting", "price": "Rp125.000/kg",
                                   "market": "Pasar Induk Caringin", "date": "28/11/2026 09.30 WITA"}),
    ReplySpec(N_("price.latest_no_market"), {"product": "cabai merah keriting",
                                             "price": "Rp125.000/kg", "date": "28/11/2026 09.30 WITA"}),
    ReplySpec(N_("price.none"), {"product": "cabai merah keriting"}),
    ReplySpec(N_("price.none_market"), {"product": "cabai merah keriting",
                                        "market": "Pasar Induk Caringin"}),
    ReplySpec(N_("price.missing")),
    ReplySpec(N_("subscribe.done"), {"product": "cabai merah keriting"}),
    ReplySpec(N_("subscribe.already"), {"product": "cabai merah keriting"}),
    ReplySpec(N_("subscribe.opted_out"), {"product": "cabai merah keriting"}),
    ReplySpec(N_("subscribe.missing")),
    ReplySpec(N_("photo.attached"), {"code": "C289", "product": "cabai merah keriting"}),
    ReplySpec(N_("photo.no_listing"), {"minutes": 10}),
    ReplySpec(N_("photo.too_big")),
    ReplySpec(N_("photo.wrong_type")),
]

# Money: balance, payout account, PIN, withdrawals, payout news and coordinators' BAYAR.
# Examples are long but real: an eight-digit sum, the longest channel, a long holder name.
_MONEY, _HOLDER = "Rp12.500.000", "Siti Aminah binti Abdullah Rahman"
_BUSINESS = "RM Padang Sederhana Bandung"
_ACCOUNT = {"channel": "SHOPEEPAY", "number": "0812...7890"}
_PAYOUT = {"amount": _MONEY, "code": "T7K2", "channel": "SHOPEEPAY"}
_SPECS += [
    ReplySpec(N_("balance.summary"), {"available": _MONEY, "in_transit": "Rp1.500.000",
                                      "paid_month": "Rp10.000.000"}),
    ReplySpec(N_("account.show"), {**_ACCOUNT, "holder": _HOLDER}),
    ReplySpec(N_("account.none")),
    ReplySpec(N_("account.format")),
    ReplySpec(N_("account.saved"), {**_ACCOUNT, "holder": _HOLDER}),
    ReplySpec(N_("account.unknown_channel")),
    ReplySpec(N_("account.invalid_number"), {"channel": "PERMATA", "digits": "10-16"}),
    ReplySpec(N_("account.invalid_phone"), {"channel": "SHOPEEPAY"}),
    ReplySpec(N_("account.invalid_name")),
    ReplySpec(N_("account.same")),
    ReplySpec(N_("account.confirm_change"), {**_ACCOUNT, "holder": _HOLDER}),
    ReplySpec(N_("account.create_pin"), _ACCOUNT),
    ReplySpec(N_("account.changed"), {**_ACCOUNT, "holder": _HOLDER}),
    ReplySpec(N_("account.changed_notice"), _ACCOUNT),
    ReplySpec(N_("pin.wrong"), {"attempts_left": 2}),
    ReplySpec(N_("pin.wrong_old"), {"attempts_left": 2}),
    ReplySpec(N_("pin.locked"), {"until": "28/11 10.30 WITA"}),
    ReplySpec(N_("pin.still_locked"), {"until": "28/11 10.30 WITA"}),
    ReplySpec(N_("pin.not_a_pin")),
    ReplySpec(N_("pin.ask_new")),
    ReplySpec(N_("pin.weak")),
    ReplySpec(N_("pin.confirm")),
    ReplySpec(N_("pin.mismatch")),
    ReplySpec(N_("pin.set")),
    ReplySpec(N_("pin.changed")),
    ReplySpec(N_("pin.usage_set")),
    ReplySpec(N_("pin.usage_change")),
    ReplySpec(N_("pin.weak_command")),
    ReplySpec(N_("withdraw.ask_amount"), {"available": _MONEY}),
    ReplySpec(N_("withdraw.confirm_words"), {"amount": "Rp200.000"}),
    ReplySpec(N_("withdraw.invalid_amount"), {"available": _MONEY}),
    ReplySpec(N_("withdraw.no_account")),
    ReplySpec(N_("withdraw.nothing"), {"available": "Rp9.500", "minimum": "Rp10.000"}),
    ReplySpec(N_("withdraw.below_minimum"), {"minimum": "Rp10.000"}),
    ReplySpec(N_("withdraw.insufficient"), {"available": _MONEY}),
    ReplySpec(N_("withdraw.daily_limit"), {"limit": "Rp5.000.000", "remaining": "Rp4.500.000"}),
    ReplySpec(N_("withdraw.confirm"), {**_ACCOUNT, "amount": _MONEY}),
    ReplySpec(N_("withdraw.create_pin"), {**_ACCOUNT, "amount": _MONEY}),
    ReplySpec(N_("withdraw.created"), {**_PAYOUT, "number": "0812...7890"}),
    ReplySpec(N_("payout.new_request"), {**_PAYOUT, "number": "081234567890", "holder": _HOLDER}),
    ReplySpec(N_("payout.succeeded"), {**_ACCOUNT, "amount": _MONEY,
                                       "ref": "disb-571f3644d2b4edf0745e9703"}),
    ReplySpec(N_("payout.failed_account"), _PAYOUT),
    ReplySpec(N_("payout.failed_rejected"), _PAYOUT),
    ReplySpec(N_("payout.failed_ours"), _PAYOUT),
    ReplySpec(N_("payout.cancelled"), _PAYOUT),
    ReplySpec(N_("payout.reversed"), _PAYOUT),
    ReplySpec(N_("pay.confirm"), {**_PAYOUT, "number": "081234567890", "holder": _HOLDER}),
    ReplySpec(N_("pay.confirm_again"), {"code": "T7K2"}),
    ReplySpec(N_("pay.done"), {"code": "T7K2", "amount": _MONEY, "name": _HOLDER}),
    ReplySpec(N_("pay.not_found"), {"code": "T7K2"}),
    ReplySpec(N_("pay.already_paid"), {"code": "T7K2"}),
    ReplySpec(N_("pay.closed"), {"code": "T7K2"}),
    ReplySpec(N_("pay.automatic"), {"code": "T7K2"}),
    ReplySpec(N_("pay.confirm_approve"), {**_PAYOUT, "number": "081234567890", "holder": _HOLDER}),
    ReplySpec(N_("pay.approved"), {"code": "T7K2", "amount": _MONEY}),
    ReplySpec(N_("pay.needs_second"), {"code": "T7K2", "amount": _MONEY}),
    ReplySpec(N_("pay.wait_second"), {"code": "T7K2"}),
    ReplySpec(N_("pay.held"), {"code": "T7K2"}),
    ReplySpec(N_("withdraw.held"), {"amount": _MONEY, "code": "T7K2"}),
    ReplySpec(N_("withdraw.released"), {"amount": _MONEY, "code": "T7K2", "channel": "SHOPEEPAY"}),
    ReplySpec(N_("payout.held_notice"), {"amount": _MONEY, "code": "T7K2", "limit": "Rp25.000.000"}),
    ReplySpec(N_("balance.summary_held"), {"available": _MONEY, "in_transit": "Rp1.500.000",
                                           "held": "Rp2.500.000", "paid_month": "Rp10.000.000"}),
    ReplySpec(N_("payout.approval_request"), {**_PAYOUT, "number": "081234567890", "holder": _HOLDER}),
    ReplySpec(N_("payout.approval_needed"), {**_PAYOUT, "number": "081234567890", "holder": _HOLDER}),
    ReplySpec(N_("pay.pending_list"), {"count": 12, "items": "T7K2 Siti Aminah Rp1.500.000; "
                                       "TX9M Budi Santoso Rp250.000; T3PQ Wayan Sudarsana Rp12.500.000"}),
    ReplySpec(N_("pay.none_pending")),
    ReplySpec(N_("help.balance")),
    ReplySpec(N_("help.account")),
    ReplySpec(N_("help.withdraw")),
    ReplySpec(N_("help.pin")),
    ReplySpec(N_("help.pay")),
    # Buyers' payments recorded by a coordinator's text (LUNAS).
    ReplySpec(N_("help.record_payment")),
    ReplySpec(N_("lunas.usage")),
    ReplySpec(N_("lunas.not_found"), {"code": "P12K3"}),
    ReplySpec(N_("lunas.not_received"), {"code": "P12K3"}),
    ReplySpec(N_("lunas.already_paid"), {"code": "P12K3"}),
    ReplySpec(N_("lunas.ask_amount"), {"code": "P12K3", "owed": _MONEY}),
    ReplySpec(N_("lunas.invalid_amount"), {"code": "P12K3", "owed": _MONEY}),
    ReplySpec(N_("lunas.too_much"), {"code": "P12K3", "amount": "Rp12.500.000", "owed": _MONEY}),
    ReplySpec(N_("lunas.confirm"), {"code": "P12K3", "amount": "Rp12.500.000", "buyer": _BUSINESS}),
    ReplySpec(N_("lunas.confirm_again"), {"code": "P12K3"}),
    ReplySpec(N_("lunas.done"), {"code": "P12K3", "amount": "Rp12.500.000", "buyer": _BUSINESS,
                                 "owed": "Rp0"}),
    ReplySpec(N_("lunas.done_partly"), {"code": "P12K3", "amount": "Rp12.500.000", "buyer": _BUSINESS,
                                        "owed": "Rp12.250.000"}),
    # Coordinators (broadcasts and reference prices).
    ReplySpec(N_("coordinator.only"), {"keyword": "SIARAN"}),
    ReplySpec(N_("broadcast.missing")),
    ReplySpec(N_("broadcast.unknown_group"), {"group": "sukamaju kidul"}),
    ReplySpec(N_("broadcast.too_long"), {"segments": 3}),
    ReplySpec(N_("broadcast.created"), {"id": 1234, "group": "sukamaju kidul", "count": 12345}),
    ReplySpec(N_("broadcast.status"), {"id": 1234, "group": "sukamaju kidul", "recipients": 12345,
                                        "sent": 12000, "delivered": 11000, "failed": 123,
                                        "queued": 99, "skipped": 120, "expired": 3}),
    ReplySpec(N_("broadcast.status_none")),
    ReplySpec(N_("broadcast.not_found"), {"id": 1234}),
    ReplySpec(N_("publish_price.missing")),
    ReplySpec(N_("publish_price.done"), {"product": "bawang merah", "price": "Rp11.500/kg",
                                         "market": "Pasar Induk Kramat Jati", "count": 1234,
                                         "id": 1234}),
    ReplySpec(N_("publish_price.done_no_market"), {"product": "bawang merah", "price": "Rp11.500/kg",
                                                   "count": 1234, "id": 1234}),
    ReplySpec(N_("broadcast.created_later"), {"id": 1234, "group": "sukamaju kidul",
                                              "count": 12345, "time": "06.00 WITA"}),
    ReplySpec(N_("broadcast.status_waiting"), {"id": 1234, "group": "sukamaju kidul",
                                               "queued": 12345, "time": "06.00 WITA",
                                               "skipped": 120, "expired": 3}),
    ReplySpec(N_("publish_price.done_later"), {"product": "bawang merah", "price": "Rp11.500/kg",
                                               "market": "Pasar Induk Kramat Jati", "count": 1234,
                                               "id": 1234, "time": "06.00 WITA"}),
    ReplySpec(N_("publish_price.done_no_market_later"), {"product": "bawang merah",
                                                         "price": "Rp11.500/kg", "count": 1234,
                                                         "id": 1234, "time": "06.00 WITA"}),
    # The field's signals (issue 12): told to coordinators, never over the hub phone itself.
    ReplySpec(N_("loop.detected"), {"phone": "0812...7890", "count": 10, "minutes": 5}),
    ReplySpec(N_("hub.silent"), {"since": "28/11 14.30 WITA"}),
    ReplySpec(N_("hub.battery_low"), {"battery": 15}),
    ReplySpec(N_("price.broadcast"), {"product": "bawang merah", "price": "Rp11.500/kg",
                                      "market": "Pasar Induk Kramat Jati",
                                      "time": "28/11 14.30 WITA"}),
    ReplySpec(N_("price.broadcast_no_market"), {"product": "bawang merah", "price": "Rp11.500/kg",
                                                "time": "28/11 14.30 WITA"}),
]

# Buyers, search and orders (issue 4). Examples: a long product, business and village, a
# nine-digit total; status words (order.state.*) are fragments of other texts.
_ORDER = {"code": "P2893", "listing": "C289", "product": "cabai merah keriting", "quantity": "1.250,5 kg",
          "price": "Rp125.000", "total": "Rp156.312.500", "buyer": "Warung Makan Bu Tini",
          "city": "Bandung Barat", "seller": "Siti Aminah", "village": "Sukamaju Kidul"}
_ORDER_ITEMS = "P2893 1.250,5 kg cabai merah keriting; P2894 30 ikat kangkung"
_SEARCH_ITEMS = "C7 Rp12.000/kg 50 kg Sukamaju; C9 Rp12.500/kg 1.250,5 kg Cibodas"
_STATUS_ITEMS = "P2893 1.250,5 kg cabai merah keriting (menunggu penjual); P2894 30 ikat kangkung (dikirim)"
_SPECS += [
    ReplySpec(N_("not_registered.buyer")),
    ReplySpec(N_("register_buyer.ask_name")),
    ReplySpec(N_("register_buyer.ask_city"), {"name": "Warung Makan Bu Tini"}),
    ReplySpec(N_("register_buyer.invalid_name")),
    ReplySpec(N_("register_buyer.invalid_city")),
    ReplySpec(N_("register_buyer.done"), {"name": "Warung Makan Bu Tini", "city": "Bandung Barat"}),
    ReplySpec(N_("register_buyer.already"), {"name": "Warung Makan Bu Tini", "city": "Bandung Barat"}),
    ReplySpec(N_("register_buyer.is_seller"), {"name": "Siti Aminah"}),
    ReplySpec(N_("help.register_buyer")),
    ReplySpec(N_("help.search")),
    ReplySpec(N_("help.order")),
    ReplySpec(N_("help.status")),
    ReplySpec(N_("help.receive")),
    ReplySpec(N_("help.accept")),
    ReplySpec(N_("help.decline")),
    ReplySpec(N_("help.ship")),
    ReplySpec(N_("search.missing")),
    ReplySpec(N_("more.none")),
    ReplySpec(N_("search.none"), {"product": "cabai merah keriting"}),
    ReplySpec(N_("search.none_place"), {"product": "cabai merah keriting", "place": "Sukamaju Kidul"}),
    ReplySpec(N_("search.results"), {"product": "cabai merah keriting", "items": _SEARCH_ITEMS}),
    ReplySpec(N_("search.results_more"), {"product": "cabai merah keriting", "items": _SEARCH_ITEMS,
                                          "more": 3}),
    ReplySpec(N_("order.format")),
    ReplySpec(N_("order.unknown_listing"), {"code": "C289"}),
    ReplySpec(N_("order.unavailable"), {"code": "C289"}),
    ReplySpec(N_("order.ask_quantity"), {"code": "C289", "product": "cabai merah keriting", "unit": "karung",
                                       "available": "1.250,5 karung"}),
    ReplySpec(N_("order.ask_quantity_again"), {"code": "C289"}),
    ReplySpec(N_("order.wrong_unit"), {"code": "C289", "unit": "karung"}),
    ReplySpec(N_("order.invalid_quantity"), {"code": "C289"}),
    ReplySpec(N_("order.out_of_stock"), {"code": "C289", "available": "1.250,5 karung"}),
    ReplySpec(N_("order.placed"), _ORDER),
    ReplySpec(N_("order.not_found"), {"code": "P2893"}),
    ReplySpec(N_("order.cancelled"), _ORDER),
    ReplySpec(N_("order.cannot_cancel"), {"code": "P2893", "state": "diterima penjual"}),
    ReplySpec(N_("order.received"), _ORDER),
    ReplySpec(N_("order.cannot_receive"), {"code": "P2893", "state": "menunggu penjual"}),
    ReplySpec(N_("order.which_receive"), {"count": 12, "items": _ORDER_ITEMS}),
    ReplySpec(N_("order.which_receive_more"), {"count": 12, "items": _ORDER_ITEMS, "more": 10}),
    ReplySpec(N_("order.none_to_receive")),
    ReplySpec(N_("order.accepted"), _ORDER),
    ReplySpec(N_("order.declined"), _ORDER),
    ReplySpec(N_("order.shipped"), _ORDER),
    ReplySpec(N_("order.cannot_answer"), {"code": "P2893", "state": "declined by the seller"}),
    ReplySpec(N_("order.cannot_ship"), {"code": "P2893", "state": "waiting for the seller"}),
    ReplySpec(N_("order.which_answer"), {"count": 12, "items": _ORDER_ITEMS}),
    ReplySpec(N_("order.which_answer_more"), {"count": 12, "items": _ORDER_ITEMS, "more": 10}),
    ReplySpec(N_("order.none_pending")),
    ReplySpec(N_("order.which_ship"), {"count": 12, "items": _ORDER_ITEMS}),
    ReplySpec(N_("order.which_ship_more"), {"count": 12, "items": _ORDER_ITEMS, "more": 10}),
    ReplySpec(N_("order.none_to_ship")),
    ReplySpec(N_("order.status_buyer"), {**_ORDER, "state": "accepted by the seller"}),
    ReplySpec(N_("order.status_seller"), {**_ORDER, "state": "accepted by the seller"}),
    ReplySpec(N_("order.list"), {"items": _STATUS_ITEMS}),
    ReplySpec(N_("order.list_more"), {"items": _STATUS_ITEMS, "more": 12}),
    ReplySpec(N_("order.list_empty")),
    ReplySpec(N_("order.state.pending"), sms=False),
    ReplySpec(N_("order.state.accepted"), sms=False),
    ReplySpec(N_("order.state.shipped"), sms=False),
    ReplySpec(N_("order.state.received"), sms=False),
    ReplySpec(N_("order.state.declined"), sms=False),
    ReplySpec(N_("order.state.cancelled"), sms=False),
    ReplySpec(N_("order.state.expired"), sms=False),
    ReplySpec(N_("order.new_seller"), _ORDER),
    ReplySpec(N_("order.reminder_seller"), {**_ORDER, "time": "28/11 14.30 WITA"}),
    ReplySpec(N_("order.expired_seller"), _ORDER),
    ReplySpec(N_("order.cancelled_seller"), _ORDER),
    ReplySpec(N_("order.received_seller"), {**_ORDER, "amount": "Rp152.404.688"}),
    ReplySpec(N_("order.accepted_buyer"), _ORDER),
    # PAYMENT_INSTRUCTIONS at its longest (bot.config.PAYMENT_INSTRUCTIONS_MAX).
    ReplySpec(N_("order.how_to_pay"), {**_ORDER, "instructions": "Transfer BRI " + "7" * 77}),
    ReplySpec(N_("order.declined_buyer"), _ORDER),
    ReplySpec(N_("order.shipped_buyer"), _ORDER),
    ReplySpec(N_("order.expired_buyer"), _ORDER),
]

# The coordinator's desk (issue 15): sign-in codes and what sellers are told about changes
# a coordinator made for them.
_SPECS += [
    ReplySpec(N_("desk.code"), {"code": "482913"}),
    ReplySpec(N_("desk.listing_changed"), {"code": "C289", "product": "cabai merah keriting",
                                           "quantity": "1.250,5 kg", "price": "Rp125.000/kg"}),
    ReplySpec(N_("desk.listing_withdrawn"), {"code": "C289", "product": "cabai merah keriting"}),
    ReplySpec(N_("desk.welcome"), {"name": "Siti Aminah", "village": "Sukamaju Kidul"}),
    ReplySpec(N_("desk.number_moved_old"), {"number": "0812...7890"}),
    ReplySpec(N_("desk.number_moved_new"), {"name": "Siti Aminah"}),
    ReplySpec(N_("desk.pin_reset")),
]

# Buyers and demand (issue 17): a first-time buyer's order, and what sellers hear about
# searches that found nothing.
_SPECS += [
    ReplySpec(N_("order.newcomer_ask_name"), {"code": "C289"}),
    ReplySpec(N_("order.placed_newcomer"), _ORDER),
    ReplySpec(N_("demand.signal"), {"count": 1250, "product": "cabai merah keriting"}),
    ReplySpec(N_("demand.off")),
    ReplySpec(N_("demand.on")),
    ReplySpec(N_("demand.format")),
    ReplySpec(N_("help.demand")),
]

# Statements by text and the seller's summary (issues 16, 17): LAPORAN KEUANGAN, LAPORAN,
# LAPORAN MINGGUAN. The link is a real-length PUBLIC_BASE_URL; it is never shortened.
_STATEMENT = {"code": "ABC234-XYZ789"}
_SUMMARY = {"sales": "Rp12.500.000", "orders": 128, "waiting": 12, "available": _MONEY}
_SUMMARY_PRICE = {**_SUMMARY, "product": "cabai merah keriting", "price": "Rp125.000/kg",
                  "reference": "Rp120.000/kg"}
_SPECS += [
    ReplySpec(N_("help.report")),
    ReplySpec(N_("help.statement")),
    ReplySpec(N_("help.weekly_report")),
    ReplySpec(N_("statement.requested")),
    ReplySpec(N_("statement.already_requested")),
    ReplySpec(N_("statement.request_notice"), {"name": _HOLDER, "village": "Sukamaju Kidul", "number": 1234,
                                               "months": 6}),
    ReplySpec(N_("statement.issued"), {**_STATEMENT,
                                       "link": "https://jembatan.koptani-sukamaju.id/verify/ABC234-XYZ789"}),
    ReplySpec(N_("statement.issued_no_link"), _STATEMENT),
    ReplySpec(N_("statement.issued_done"), {**_STATEMENT, "name": _HOLDER}),
    ReplySpec(N_("statement.open_list"), {"count": 12, "items": "1234 Siti Aminah (Sukamaju); 1235 Budi "
                                                                 "Santoso (Makmur); 1236 Wayan (Lestari)"}),
    ReplySpec(N_("statement.none_open")),
    ReplySpec(N_("statement.request_not_found"), {"number": "1234"}),
    ReplySpec(N_("report.summary"), _SUMMARY),
    ReplySpec(N_("report.summary_weekly"), _SUMMARY),
    ReplySpec(N_("report.weekly"), _SUMMARY),
    ReplySpec(N_("report.summary_price"), _SUMMARY_PRICE),
    ReplySpec(N_("report.weekly_price"), _SUMMARY_PRICE),
    ReplySpec(N_("weekly.on")),
    ReplySpec(N_("weekly.off")),
    ReplySpec(N_("weekly.status_on")),
    ReplySpec(N_("weekly.status_off")),
]

# Sellers' stories (issue 17): CERITA / STORY, and what sellers hear of a coordinator's edit.
_STORY = {"target": "jualan C289", "count": 640}
_SPECS += [
    ReplySpec(N_("help.story")),
    ReplySpec(N_("story.ask")),
    ReplySpec(N_("story.ask_listing"), {"code": "C289", "product": "cabai merah keriting"}),
    ReplySpec(N_("story.saved"), _STORY),
    ReplySpec(N_("story.saved_cleaned"), {**_STORY, "removed": "nomor telepon, tautan dan e-mail"}),
    ReplySpec(N_("story.saved_hidden"), _STORY),
    ReplySpec(N_("story.joined"), _STORY),
    ReplySpec(N_("story.confirm_add"), {"target": "jualan C289", "text": "Dipetik pagi " * 12}),
    ReplySpec(N_("story.not_added")),
    ReplySpec(N_("story.confirm_profile"), {"code": "IR6428"}),
    ReplySpec(N_("story.not_saved")),
    ReplySpec(N_("story.only_removed")),
    ReplySpec(N_("story.too_long"), {"count": 1280, "max": 640}),
    ReplySpec(N_("story.target.listing"), {"code": "C289"}, sms=False),
    ReplySpec(N_("story.target.profile"), sms=False),
    ReplySpec(N_("story.removed.phone"), sms=False),
    ReplySpec(N_("story.removed.link"), sms=False),
    ReplySpec(N_("story.removed.email"), sms=False),
    ReplySpec(N_("story.removed.and"), sms=False),
    ReplySpec(N_("desk.story_edited"), {"target": "jualan C289"}),
    ReplySpec(N_("desk.story_hidden"), {"target": "jualan C289"}),
    # A photo sent alone during the CERITA dialog (DECISIONS 341).
    ReplySpec(N_("story.photo_ask"), {"target": "jualan C289"}),
    ReplySpec(N_("story.photo_ask_any")),
    ReplySpec(N_("story.photo_added"), {"target": "jualan C289"}),
    ReplySpec(N_("order.coordinator_not_buyer")),
    ReplySpec(N_("order.seller_not_buyer")),
    ReplySpec(N_("order.new_buyer_limit"), {"code": "C1234", "limit": "12.500 kg"}),
    ReplySpec(N_("order.new_buyer_pending"), {"count": 2}),
]
# Orders for a hub's listings, at the city (issue 18): the code carries the hub's letter.
_CITY_ORDER = {**_ORDER, "code": "AP2893", "listing": "AC289"}
_SPECS += [
    ReplySpec(N_("order.requested"), _CITY_ORDER),
    ReplySpec(N_("order.cancel_forwarded"), {"code": "AP2893"}),
    ReplySpec(N_("order.cancelled_by_hub"), _CITY_ORDER),
    ReplySpec(N_("order.unavailable_at_hub"), _CITY_ORDER),
    ReplySpec(N_("order.state.requested"), sms=False),
    # Its village has not taken it in time (DECISIONS 422).
    ReplySpec(N_("order.hub_silent"), _CITY_ORDER),
    # LUNAS at a city for a hub's order: its ledger is the hub's (DECISIONS 420).
    ReplySpec(N_("lunas.forwarded"), {"code": "AP12K3", "amount": "Rp12.500.000", "buyer": _BUSINESS}),
]
# A payment sent down that the hub refused: the city's coordinators are told (DECISIONS 393).
_SPECS += [
    ReplySpec(N_("payment.refused_by_hub"), {"amount": "Rp12.500.000", "code": "AP12K3",
                                             "reference": "api-1234-TRF-202",
                                             "why": "pesanan tidak ada di desa"}),
    ReplySpec(N_("payment.refusal.not_received"), sms=False),
    ReplySpec(N_("payment.refusal.overpayment"), sms=False),
    ReplySpec(N_("payment.refusal.payment_reference_reused"), sms=False),
    ReplySpec(N_("payment.refusal.order_not_found"), sms=False),
    ReplySpec(N_("payment.refusal.other"), sms=False),
]

# Help for commands BANTUAN lists that had none (a new user's trial, DECISIONS 450).
_SPECS += [
    ReplySpec(N_("help.more")),
    ReplySpec(N_("help.broadcast")),
    ReplySpec(N_("help.publish_price")),
    ReplySpec(N_("not_registered.seller"), {"keyword": "WITHDRAW"}),
    ReplySpec(N_("publish_price.check"), {"product": "bawang merah", "price": "Rp1.500.000/kuintal",
                                          "usual": "Rp1.250.000/kuintal"}),
    # A stranger's JUAL kept through DAFTAR and offered back (DECISIONS 490).
    ReplySpec(N_("not_registered.sell_kept"), {"keyword": "JUAL"}),
    ReplySpec(N_("register.done_sell_kept"), {"name": "Siti Aminah", "village": "Sukamaju Kidul",
                                               "text": "JUAL cabai merah keriting 50kg 12rb"}),
    ReplySpec(N_("sell.kept_ask"), {"text": "JUAL cabai merah keriting 50kg 12rb"}),
    ReplySpec(N_("sell.kept_dropped")),
]
REPLIES: dict[str, ReplySpec] = {spec.id: spec for spec in _SPECS}


#: Values that are descriptive free text people typed, safe to shorten with "...".
SHORTENABLE = frozenset({"name", "village", "product", "group", "market", "topic", "city",
                         "items", "text", "buyer", "seller", "place"})


def render(reply_id: str, locale: str = DEFAULT_LOCALE, **values: object) -> str:
    """Return the text for `reply_id` in `locale`, filled with `values`.

    A text missing from the requested catalog falls back to Indonesian, the complete
    default; a missing id everywhere is a programming error and raises. Values people
    typed (names, villages, products) are made GSM-7-safe, and for SMS-bound replies the
    longest of the free-text values (SHORTENABLE) is shortened until the whole text fits
    one segment with the brand. Amounts, codes, account numbers and holder names are never
    cut: a payout instruction with a truncated name or amount would be worse than two SMS.
    """
    spec = REPLIES.get(reply_id)
    if spec is None:
        raise UnknownReply(reply_id)
    template = _template(reply_id, locale)
    safe = {k: gsm_safe(v) if isinstance(v, str) else v for k, v in values.items()}
    text = template.format(**safe)
    budget = SMS_LIMIT - len(BRAND_PREFIX)
    while spec.sms and septets(text) > budget:
        # Only values the text shows are worth shortening (callers may pass extra ones).
        shown = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        longest = max((k for k, v in safe.items()
                       if k in shown and k in SHORTENABLE and isinstance(v, str) and len(v) > 4),
                      key=lambda k: len(safe[k]), default=None)
        if longest is None:
            # Nothing we may shorten is left: a longer SMS beats a wrong amount or name.
            break
        overflow = septets(text) - budget
        safe[longest] = safe[longest][: max(len(safe[longest]) - overflow - 3, 1)] + "..."
        text = template.format(**safe)
    return text


def _fits(reply_id: str, locale: str, *, items: str, **values) -> bool:
    """True if the reply carries `items` whole (render() would shorten them to fit)."""
    text = render(reply_id, locale, items=items, **values)
    return gsm_safe(items) in text and septets(BRAND_PREFIX + text) <= SMS_LIMIT


def fit_items(reply_id: str, more_reply_id: str, locale: str, lines: list[str],
              beyond: int = 0, **values: object) -> tuple[str, dict]:
    """The reply (id, values) listing as many of `lines` whole as fit one SMS: `reply_id`
    with `{items}` when all fit, else `more_reply_id` with `{items}` and `{more}` (how many
    were left out, plus `beyond`: rows not even fetched). Long lists never spill into a
    second SMS; the rest is one `LAGI` away where the flow offers it."""
    for shown in range(len(lines), 0, -1):
        items = "; ".join(lines[:shown])
        more = len(lines) - shown + beyond
        if more == 0 and _fits(reply_id, locale, items=items, **values):
            return reply_id, {**values, "items": items}
        if more and _fits(more_reply_id, locale, items=items, more=more, **values):
            return more_reply_id, {**values, "items": items, "more": more}
    # Not even one line fits (a very long product name): render() shortens it.
    return (more_reply_id if len(lines) + beyond > 1 else reply_id), {
        **values, "items": lines[0], "more": len(lines) - 1 + beyond}


def _template(reply_id: str, locale: str) -> str:
    for candidate in (normalize_locale(locale), DEFAULT_LOCALE):
        template = load_translations(candidate).gettext(reply_id)
        if template != reply_id:
            return template
    raise UnknownReply(f"{reply_id} has no text in any catalog")
