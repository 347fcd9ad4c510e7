"""Handlers of the commands whose arguments are amounts: JUAL, STOK, PESAN, HARGA, TARIK.

Each takes the text after the keyword (leading punctuation stripped, case kept) and
returns the command dict. The reading rules are in :mod:`conversations.parse`.
"""

from __future__ import annotations

from decimal import Decimal

from conversations import keywords as kw
from conversations.numbers import NumberToken, convert_price, json_number, unit_of
from conversations.parse.tokens import (
    _SEP,
    Result,
    _finish,
    _first_code,
    _number,
    _place,
    _product,
    _split_place,
    _tokens,
    _trim,
    _valid,
    _words,
)


def _sell(rest: str) -> Result:
    runs: list[list[str]] = [[]]  # runs of words, split by numbers
    items: list[NumberToken] = []
    for tok in _tokens(rest):
        if tok == _SEP:
            continue
        number = _number(tok)
        if number is None:
            runs[-1].append(tok)
        else:
            items.append(number)
            runs.append([])

    product_words = _trim(runs[0], kw.SELL_FILLERS, leading=True)
    if not product_words:
        for run in runs[1:]:
            product_words = [
                w for w in _trim(run, kw.SELL_FILLERS, leading=True) if unit_of(w) is None
            ]
            if product_words:
                break

    # Slots: a marked amount is the price wherever it stands; otherwise the first
    # number is the quantity and a second bare number the price.
    quantity: NumberToken | None = None
    price: NumberToken | None = None
    have_quantity = have_price = False
    for item in items:
        if item.money:
            if not have_price:
                price, have_price = item, True
        elif not have_quantity:
            quantity, have_quantity = item, True
        elif not have_price and item.kind in ("num", "bad"):
            price, have_price = item, True
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
    if price is not None and (price.unit is None or price.unit == unit):
        assert price.value is not None
        per_unit = convert_price(price.value, price.factor)
    if per_unit is None:
        missing.append("price")
    else:
        result["price"] = per_unit
    return _finish(result, missing)


def _stock_or_order(command: str, rest: str, *, code_optional: bool) -> Result:
    tokens = _tokens(rest)
    code = _first_code(tokens)
    quantity = None
    for tok in tokens:
        if tok != _SEP and (number := _number(tok)) is not None:
            quantity = number
            break
    result: Result = {"command": command}
    if code_optional and code is None and quantity is None:
        return result  # plain "STOK": list my listings
    missing: list[str] = []
    if code is None:
        missing.append("listing")
    else:
        result["listing"] = code
    if quantity is not None and quantity.kind in ("num", "qty"):
        assert quantity.value is not None
        result["quantity"] = json_number(quantity.value * quantity.factor)
        if quantity.unit is not None:
            result["unit"] = quantity.unit
    else:
        missing.append("quantity")
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
    if product := _product(before):
        result["product"] = product
    else:
        missing.append("product")
    price = None
    if amount.kind in ("num", "money"):
        assert amount.value is not None
        price = convert_price(amount.value, amount.factor)
    if price is None:
        missing.append("price")
    else:
        result["price"] = price
        if amount.unit is not None:
            result["unit"] = amount.unit
    if market := _place(_words(after)):
        result["market"] = market
    return _finish(result, missing)


def _withdraw(rest: str) -> Result:
    tokens = _words(_tokens(rest))
    if tokens and tokens[0].lower() in kw.ALL_WORDS:
        return {"command": "withdraw", "all": True}
    for tok in tokens:
        if (number := _number(tok)) is not None:
            if number.kind in ("num", "money") and number.unit is None:
                assert number.value is not None
                amount = convert_price(number.value, number.factor)
                if amount is not None:
                    return {"command": "withdraw", "amount": amount}
            break
    return {"command": "withdraw", "missing": ["amount"]}
