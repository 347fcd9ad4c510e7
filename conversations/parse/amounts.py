"""Handlers of the commands whose arguments are amounts: JUAL, STOK, PESAN, HARGA, TARIK,
LUNAS.

Each takes the text after the keyword (leading punctuation stripped, case kept) and
returns the command dict. The reading rules are in :mod:`conversations.parse`.
"""

from __future__ import annotations

import re
from decimal import Decimal

from conversations import keywords as kw
from conversations.numbers import (
    LEAST_BARE_PRICE,
    NUMBER_WORDS,
    SLANG_AMOUNTS,
    NumberToken,
    compound_candidates,
    convert_price,
    json_number,
    number_candidates,
    spelled_number,
    unit_of,
)
from conversations.parse.tokens import (
    _SEP,
    Result,
    _clean_product,
    _find_code,
    _finish,
    _number,
    _place,
    _product,
    _split_place,
    _tokens,
    _trim,
    _valid,
    _words,
)

_GLUED_QUANTITY_RE = re.compile(r"([^\W\d_]{3,})([0-9][0-9.,]*[^\W\d_]+)")


def _unglue(tokens: list[str]) -> list[str]:
    """``bawang50kg`` -> ``bawang``, ``50kg`` (only when the tail is a quantity with a
    unit, so rice varieties like ``IR42`` stay whole)."""
    out = []
    for tok in tokens:
        # cheap pre-check: a word, digits, a unit ("bawang50kg"); most tokens are neither
        match = (tok[0].isalpha() and tok[-1].isalpha() and not tok.isalpha()
                 and _GLUED_QUANTITY_RE.fullmatch(tok))
        if match and (number := _number(match.group(2))) is not None and number.kind == "qty":
            out.extend(match.groups())
        elif (tok[0].isdigit() and tok[-1].isalpha() and not tok.rstrip(_LETTERS).isdigit()
              and (pair := _GLUED_PRICE_RE.fullmatch(tok.lower())) is not None
              and _valid(_number(pair.group(1)), "qty") and _valid(_number(pair.group(2)), "money")):
            out.extend(pair.groups())  # "10kg40rb" -> "10kg", "40rb" (DECISIONS 382)
        else:
            out.append(tok)
    return out


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_GLUED_PRICE_RE = re.compile(r"([0-9][0-9.,]*[a-z]+)([0-9][0-9.,]*[a-z]+)")
#: "10-12rb", "10rb-12rb": a range of prices, in the price's place but never read
_PRICE_RANGE_RE = re.compile(r"[0-9][0-9.,]*[a-z]*-[0-9][0-9.,]*(?:rb|rbu|ribu|rebu|k|jt|jta|juta)")


class _Item:
    """A number-bearing token of a JUAL message, where it stood, and how it was written."""

    __slots__ = ("token", "raw", "spelled", "index")

    def __init__(self, token: NumberToken, raw: str, index: int, spelled: int | None = None):
        self.token, self.raw, self.index, self.spelled = token, raw, index, spelled


_SPELLED_MONEY = frozenset({"ribu", "rb", "juta", "jt", "seribu", "sejuta", "rupiah", *SLANG_AMOUNTS})
_BAD_SPELLED = NumberToken("bad", None)
_BAD_SPELLED_MONEY = NumberToken("bad", None, money=True)


def _sell_items(rest: str) -> tuple[list[list[str]], list[_Item]]:
    """Runs of words (split by numbers) and the number items between them."""
    runs: list[list[str]] = [[]]
    items: list[_Item] = []
    tokens = [t for t in _unglue(_tokens(rest)) if t != _SEP]
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        number = _number(tok)
        if number is None and tok.lower() in NUMBER_WORDS:
            j = i
            while j < len(tokens) and tokens[j].lower() in NUMBER_WORDS:
                j += 1
            spelled = spelled_number(tokens[i:j])
            if spelled is not None:
                money = any(t.lower() in _SPELLED_MONEY for t in tokens[i:j])
                token = _BAD_SPELLED_MONEY if money else _BAD_SPELLED
                items.append(_Item(token, " ".join(tokens[i:j]), len(items), spelled))
                runs.append([])
                i = j
                continue
        if number is None:
            runs[-1].append(tok)
        else:
            if number.kind == "bad" and not number.money and _PRICE_RANGE_RE.fullmatch(tok.lower()):
                number = _BAD_SPELLED_MONEY
            items.append(_Item(number, tok, len(items)))
            runs.append([])
        i += 1
    return runs, items


def _sell(rest: str) -> Result:
    runs, items = _sell_items(rest)
    if (len(items) > 1 and runs[0] and not runs[1] and items[0].token.kind == "num"
            and items[1].token.kind == "qty"):
        # "beras IR 64 50kg": the bare number before the quantity is part of the name
        runs[0] = [*runs[0], items[0].raw]
        del runs[1]
        items = [_Item(item.token, item.raw, item.index - 1, item.spelled) for item in items[1:]]
    product_words = _clean_product(_trim(runs[0], kw.SELL_FILLERS, leading=True))
    if not product_words:
        for run in runs[1:]:
            product_words = _clean_product(
                [w for w in _trim(run, kw.SELL_FILLERS, leading=True) if unit_of(w) is None]
            )
            if product_words:
                break

    # Slots: a marked amount is the price wherever it stands; otherwise the first
    # number is the quantity and a second bare number the price.
    quantity_item: _Item | None = None
    price_item: _Item | None = None
    for item in items:
        if item.token.money:
            if price_item is None:
                price_item = item
        elif quantity_item is None:
            quantity_item = item
        elif price_item is None and item.token.kind in ("num", "bad"):
            price_item = item
    quantity = quantity_item.token if quantity_item is not None else None
    price = price_item.token if price_item is not None else None
    if not _valid(price, "num", "money"):
        price = None

    result: Result = {"command": "sell"}
    missing: list[str] = []
    if product_words:
        result["product"] = " ".join(product_words).lower()
    else:
        missing.append("product")

    unit: str | None = None
    amount: Decimal | None = None
    if quantity is not None and quantity.kind == "qty":
        assert quantity.value is not None
        unit, amount = quantity.unit, quantity.value * quantity.factor
    elif quantity is not None and quantity.kind == "num":
        assert quantity.value is not None
        if price is not None and price.unit is not None:
            unit, amount = price.unit, quantity.value * price.factor
        else:
            amount = quantity.value
    elif price is not None and price.unit is not None:
        unit = price.unit  # quantity missing: the dialog asks it in this unit
    if amount is None:
        missing.append("quantity")
    else:
        result["quantity"] = json_number(amount)
    if unit is not None:
        result["unit"] = unit
    elif amount is not None:
        missing.append("unit")

    per_unit: int | None = None
    options: list[int] = []
    approximate = _approximate(price_item, runs) if price_item is not None else None
    if approximate is not None:
        # "40 ribuan", "40rb an": around forty thousand; asked, never listed at Rp40
        price, options = None, approximate
    if price is not None and (price.unit is None or price.unit == unit):
        assert price.value is not None
        per_unit = convert_price(price.value, price.factor)
        if per_unit is not None and price.unit is None:
            between = runs[price_item.index] if price_item is not None else []
            equals = (quantity_item is not None and quantity_item.index + 1 == price_item.index
                      and len(between) == 1 and between[0].lower() in kw.SELL_EQUALS_WORDS)
            total = (equals or any(w.lower() in kw.SELL_TOTAL_WORDS for run in runs for w in run)
                     ) and not any(
                item.token.kind == "money" and amount is not None
                and item.token.value == per_unit * amount for item in items if item is not price_item)
            readings = _price_readings(per_unit, price_item, quantity_item, items, total)
            if readings is None:
                per_unit = None
            else:
                options = readings
    others = [item.token for item in items if item is not price_item and item.token.kind == "money"
              and (item.token.unit is None or item.token.unit == unit)
              # "50kg @12rb total 600rb": a total that agrees with the price is no other price
              and not (per_unit is not None and amount is not None
                       and item.token.value == per_unit * amount)]
    if per_unit is not None and others:
        # "12rb, ongkir 5rb", "12rb 13rb": two prices; which is it? Offered, never picked.
        readings = {per_unit} | {
            r for tok in others if tok.value is not None
            and (r := convert_price(tok.value, tok.factor)) is not None and r > 0}
        if len(readings) > 1:
            options = sorted(readings)
    if (len(items) > 2 and per_unit is not None and price is not None and price.unit is None and any(
            item is not quantity_item and item.token.kind == "qty" and not (
                item.token.unit == unit and item.token.value * item.token.factor == 1)
            for item in items)):
        # "beras 25 kg 1 sak 325rb": per kg or per sak? Asked (DECISIONS 386); and so is
        # "kangkung 40 ikat 10rb 3 ikat": each, or for 3? (393). "10kg 1 kg 80rb" is clear.
        per_unit, options = None, []
    too_small = (per_unit is not None and price_item is not None and not options
                 and price_item.token.kind == "num" and per_unit < LEAST_BARE_PRICE)
    if too_small:
        per_unit = None  # "10kg 40": forty rupiah? forty thousand? Asked (DECISIONS 378)
    elif per_unit is None and not options and price_item is not None:
        if price_item.spelled is not None:
            options = [price_item.spelled]
        elif price_item.token.kind != "qty":
            options = number_candidates(price_item.raw)
    if per_unit is None or options:
        missing.append("price")
        if options:
            result["price_options"] = options
    else:
        result["price"] = per_unit
    return _finish(result, missing)


def _approximate(price: _Item | None, runs: list[list[str]]) -> list[int] | None:
    """The readings to offer back when the word right after the price makes it approximate
    (``40 ribuan`` -> ``[40000]``, ``40 an`` -> ``[]``), else ``None`` (DECISIONS 376)."""
    if price is None or price.spelled is not None:
        return None
    after = runs[price.index + 1] if price.index + 1 < len(runs) else []
    multiplier = kw.APPROXIMATE_PRICE_WORDS.get(after[0].lower()) if after else None
    before = runs[price.index]
    if multiplier is None and before and before[-1].lower() in kw.APPROXIMATE_BEFORE_PRICE:
        multiplier = 1  # "sekitar 12rb", "kurang lebih 12rb"
    if multiplier is None or price.token.value is None or price.token.unit is not None:
        return None
    if price.token.kind == "money" and multiplier == 1:
        reading = convert_price(price.token.value, price.token.factor)
        return [reading] if reading else []
    if price.token.kind == "num" and multiplier > 1:
        reading = convert_price(price.token.value * multiplier, price.token.factor)
        return [reading] if reading else []
    return []


#: The other reading of a price is offered only from this many rupiah per unit on: "2 kw
#: 12rb" read per kuintal would be Rp120/kg, which nobody means.
_LEAST_OTHER_READING = 500


def _price_readings(
    per_unit: int, price: _Item | None, quantity: _Item | None, items: list[_Item],
    total: bool = False,
) -> list[int] | None:
    """Every reasonable per-unit reading of a price written without a unit; more than
    one means the dialog asks (money is never guessed), exactly one that it is confirmed
    (YA); an empty list that the price is clear; ``None``: no reading at all.

    * after a quantity in another weight unit than kg (``5 ons 8rb``, ``1 ton 1,5jt``):
      per kg, or per that unit (``2 kw 12rb`` stays per kg: per kuintal is Rp120/kg);
    * written before a count of a few (``15rb 4 ikat``): each, or for all of them (when
      that is no whole price, ``10rb 3 ikat``, "each" is confirmed);
    * followed by a bare number (``15jt 500``): not one amount we can read;
    * with a word for "for all of it" (``total``, ``borongan``): each, or for all.
    """
    assert price is not None
    following = price.index + 1
    if (following < len(items) and items[following] is not quantity
            and items[following].token.kind == "num" and price.token.kind == "money"):
        return None
    if quantity is None:
        return []
    q = quantity.token
    readings = {per_unit}
    if q.kind == "qty" and q.unit == "kg" and q.factor != 1:
        per_written = convert_price(per_unit, q.factor)
        if per_written is not None and per_written >= _LEAST_OTHER_READING:
            readings.add(per_written)
    if q.value is not None and q.value * q.factor > 1 and total:
        # "2 ekor total 6jt", "10kg borongan 100rb": the price is for all of it
        whole = per_unit / (q.value * q.factor)
        if whole == whole.to_integral_value() and whole >= _LEAST_OTHER_READING:
            return sorted({per_unit, int(whole)})
        return [per_unit]
    if (q.kind == "qty" and q.unit != "kg" and price.index + 1 == quantity.index
            and q.value is not None and q.value > 1):
        whole = per_unit / q.value
        if whole == whole.to_integral_value() and whole >= _LEAST_OTHER_READING:
            readings.add(int(whole))
        else:
            return [per_unit]  # "10rb 3 ikat": 3 for 10rb is no whole price; confirm each
    return sorted(readings) if len(readings) > 1 else []


def _stock_or_order(command: str, rest: str, *, code_optional: bool) -> Result:
    tokens = _tokens(rest)
    code, at = _find_code(tokens)
    if code is not None and not code[-1].isdigit():
        # "K5 krg 5" was glued to "K5krg" (5 karung) by the number squeezing: the code is
        # read from the words as typed and the amounts from what is left (DECISIONS 377)
        plain = _tokens(rest, numbers=False)
        code, used = _find_code(plain)
        tokens = _tokens(" ".join(t for i, t in enumerate(plain) if i not in used))
        at = frozenset()
    quantity = None
    change_sign = 0
    sold_out = more_or_left = unclear = False
    for i, tok in enumerate(tokens):
        if i in at or tok == _SEP:
            continue
        low = tok.lower()
        if command == "stock" and quantity is None:
            if low in kw.STOCK_ADD_WORDS:
                change_sign = 1
                continue
            if low in kw.STOCK_SOLD_OUT_WORDS or (
                    low == "sold" and i + 1 < len(tokens) and tokens[i + 1].lower() == "out"):
                sold_out = True
                continue
            if low in kw.STOCK_REMOVE_WORDS:
                change_sign = -1
                continue
            if low[:1] in "+-" and len(low) > 1 and low[1].isdigit():
                change_sign = 1 if low[0] == "+" else -1
                number = _number(tok[1:])
            elif (number := _number(tok)) is None:
                if low not in kw.STOCK_NEUTRAL_WORDS and low not in kw.STOCK_LEFT_WORDS:
                    unclear = True  # "STOK K5 kemarin 30": what is 30? Asked, never set
                continue
        else:
            number = _number(tok)
        if number is not None:
            quantity = number
            after = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
            if command == "stock" and after in kw.STOCK_MORE_WORDS and not change_sign and not any(
                    t.lower() in kw.STOCK_LEFT_WORDS for t in tokens[:i]):
                more_or_left = True  # "STOK C7 20 lagi": 20 more, or 20 left? Asked.
            break
    result: Result = {"command": command}
    if code_optional and code is None and quantity is None and not sold_out:
        return result  # plain "STOK": list my listings
    missing: list[str] = []
    if code is None:
        missing.append("listing")
    else:
        result["listing"] = code
    if quantity is not None and unclear:
        missing.append("change" if change_sign else "quantity")
    elif (sold_out and quantity is not None) or more_or_left:
        missing.append("quantity")  # "habis 5": five sold, or five left? Asked.
    elif sold_out:
        result["quantity"] = 0  # "STOK K5 habis"
    elif quantity is not None and quantity.kind in ("num", "qty"):
        assert quantity.value is not None
        value = json_number(quantity.value * quantity.factor)
        if change_sign:
            # "tambah 20" / "kurang 5": a change, never the new total (DECISIONS 112)
            result["change"] = value * change_sign
        else:
            result["quantity"] = value
        if quantity.unit is not None:
            result["unit"] = quantity.unit
    else:
        missing.append("change" if change_sign else "quantity")
    return _finish(result, missing)


def _stock(rest: str) -> Result:
    return _stock_or_order("stock", rest, code_optional=True)


def _order(rest: str) -> Result:
    return _stock_or_order("order", rest, code_optional=False)


def _price(rest: str) -> Result:
    tokens = _tokens(rest)
    for i, tok in enumerate(tokens):
        if tok != _SEP and (number := _number(tok)) is not None:
            return _publish_price(tokens[:i], number, tokens[i + 1 :])
    product_tokens, market_words = _split_place(tokens, kw.MARKET_WORDS)
    result: Result = {"command": "price"}
    product = _product(product_tokens)
    if not product:
        return _finish(result, ["product"])
    result["product"] = product
    if market := _place(market_words):
        result["market"] = market
    return result


def _publish_price(before: list[str], amount: NumberToken, after: list[str]) -> Result:
    result: Result = {"command": "publish_price"}
    missing: list[str] = []
    # "HARGA cabai pasar induk 40rb": the market may come before the amount (DECISIONS 388)
    before, market_before = _split_place(before, kw.MARKET_WORDS)
    before = _trim(before, kw.PRICE_CHANGE_WORDS)  # "HARGA cabai naik 45rb" is cabai
    if product := _product(before):
        result["product"] = product
    else:
        missing.append("product")
    price = None
    if amount.kind in ("num", "money"):
        assert amount.value is not None
        price = convert_price(amount.value, amount.factor)
        if price is not None and amount.kind == "num" and price < LEAST_BARE_PRICE:
            price = None  # "HARGA cabai 40": never broadcast as Rp40 (DECISIONS 378)
    if price is None:
        missing.append("price")
    else:
        result["price"] = price
        if amount.unit is not None:
            result["unit"] = amount.unit
    following = _words(after)
    while following and following[0].lower() in kw.PUBLISH_PRICE_TAIL:
        following = following[1:]  # "45 ribu rupiah per kilo": no market "Rupiah Per Kilo"
    if following and following[0].lower() == "per" and len(following) > 1:
        per = unit_of(following[1])
        if price is not None and per is not None and "unit" not in result:
            price = convert_price(price, per[1])
            if price is None:
                del result["price"]
                missing.append("price")
            else:
                result["price"], result["unit"] = price, per[0]
        following = following[2:]
    if price is not None and following and _number(following[0]) is not None:
        # "HARGA cabai 11 ribu 500": not one amount we can read; asked, never published
        del result["price"]
        result.pop("unit", None)
        missing.append("price")
        following = following[1:]
    if market := _place(market_before or following):
        result["market"] = market
    return _finish(result, missing)


def _one_amount(tokens: list[str], *, least_bare: int = 0) -> int | None:
    """The one amount of money among ``tokens``, or None: "2jt 5" is not two million, and
    an ambiguous or unreadable amount is asked, never guessed (DECISIONS 110). A bare
    number (no ``Rp``/``rb``...) below ``least_bare`` is asked too (DECISIONS 378)."""
    numbers = [number for tok in tokens if (number := _number(tok)) is not None]
    if len(numbers) == 1 and numbers[0].kind in ("num", "money") and numbers[0].unit is None:
        assert numbers[0].value is not None
        amount = convert_price(numbers[0].value, numbers[0].factor)
        if amount is not None and numbers[0].kind == "num" and 0 < amount < least_bare:
            return None
        return amount
    return None


#: `TARIK 500`: five hundred rupiah is no withdrawal anyone means; asked (DECISIONS 378)
_LEAST_BARE_WITHDRAWAL = 1_000


def _withdraw(rest: str) -> Result:
    tokens = _words(_tokens(rest))
    first = 0
    while first < len(tokens) - 1 and tokens[first].lower() in kw.WITHDRAW_FILLERS:
        first += 1  # "TARIK SALDO SEMUA"
    if tokens and tokens[first].lower() in kw.ALL_WORDS:
        return {"command": "withdraw", "all": True}
    amount = _one_amount(tokens, least_bare=_LEAST_BARE_WITHDRAWAL)
    if amount is not None:
        return {"command": "withdraw", "amount": amount}
    numbers = [tok for tok in tokens if _number(tok) is not None]
    if not numbers and (spelled := spelled_number(tokens)) is not None:
        # "TARIK dua ratus ribu", "TARIK goceng": offered back in digits for a YA, never
        # used unasked
        return {"command": "withdraw", "missing": ["amount"], "amount_options": [spelled]}
    if len(numbers) == 1 and (options := compound_candidates(numbers[0])):
        # "TARIK 3jt5": 3,5 juta? Offered back for a YA (DECISIONS 412)
        return {"command": "withdraw", "missing": ["amount"], "amount_options": options}
    return {"command": "withdraw", "missing": ["amount"]}


def _record_payment(rest: str) -> Result:
    """``LUNAS P12 240rb``: the order's code (first, anywhere) and the one amount after it."""
    code, used = _find_code(_tokens(rest, numbers=False))
    result: Result = {"command": "record_payment"}
    missing: list[str] = []
    if code is None:
        missing.append("order")
        tokens = _words(_tokens(rest))
    else:
        result["order"] = code
        # the amount is read from what follows the code ("LUNAS P12 240rb")
        plain = _tokens(rest, numbers=False)
        tokens = _words(_tokens(" ".join(t for i, t in enumerate(plain) if i not in used and t != _SEP)))
    amount = _one_amount(tokens)
    if amount is not None and amount > 0:
        result["amount"] = amount
    else:
        missing.append("amount")
    return _finish(result, missing)
