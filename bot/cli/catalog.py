"""`jembatan product …`: the product catalogue on the command line, for coordinators."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from bot.cli.common import echo_lines
from bot.services.coordinators import record_action
from bot.services.products import ProductNameTaken, add_product, list_products, product_names, seed_catalogue
from bot.storage import transaction, utcnow
from bot.web.db import get_db


@click.group("product")
def product_group() -> None:
    """List products and extend the catalogue with products and synonyms."""


@product_group.command("add")
@click.argument("name")
@click.option("--synonym", "-s", "synonyms", multiple=True,
              help="Another name for it (repeat the option for more), e.g. --synonym cabe")
@with_appcontext
def product_add(name: str, synonyms: tuple[str, ...]) -> None:
    """Add product NAME (or, if NAME is already known, give it more synonyms).

    A synonym that a seller already used as a new product folds that product into NAME,
    listings and subscriptions included.
    """
    db = get_db()
    try:
        product = add_product(db, name, list(synonyms), utcnow())
    except ProductNameTaken as exc:
        raise click.ClickException(str(exc)) from exc
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    names = product_names(db, product["id"])
    with transaction(db):
        record_action(db, "cli", "product.add", {"product": names[0], "synonyms": names[1:]},
                      utcnow())
    click.echo(f"{names[0]}: {', '.join(names[1:]) or '(no synonyms)'}")


@product_group.command("list")
@click.option("--new", "only_new", is_flag=True,
              help="Only products first written by sellers, for review")
@with_appcontext
def product_list(only_new: bool) -> None:
    """Every product with its synonyms and the number of active listings."""
    products = list_products(get_db(), source="seller" if only_new else None)
    echo_lines((f"{product['name']}{_synonyms(product)} [{product['source']}, "
                f"{product['listings']} listings]" for product in products),
               "no products written by sellers to review" if only_new
               else "no products yet (add the usual ones: jembatan product seed)")


def _synonyms(product: dict) -> str:
    return f" ({', '.join(product['synonyms'])})" if product["synonyms"] else ""


@product_group.command("seed")
@with_appcontext
def product_seed() -> None:
    """Add what bot/data/products.csv has and the database lacks (safe to repeat)."""
    click.echo(f"added {seed_catalogue(get_db(), utcnow())} names")


def register(main: click.Group) -> None:
    """Attach the `product` group to the `jembatan` command."""
    main.add_command(product_group)
