"""`jembatan parse -` over the whole command corpus, and `jembatan product …`, with click's
CliRunner against a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.services import listings, products
from bot.storage import open_database, utcnow

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def runner(settings):
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture
def db(settings, runner):
    runner.invoke(main, ["migrate"])
    database = open_database(settings["DATABASE_PATH"])
    yield database
    database.conn.close()


@pytest.mark.parametrize("corpus", ["commands.tsv", "commands_extra.tsv"])
def test_every_corpus_line_through_parse_stdin_in_one_run(runner, corpus):
    cases = [line.split("\t") for line in (FIXTURES / corpus).read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    result = runner.invoke(main, ["parse", "-"], input="\n".join(text for text, _ in cases) + "\n")
    assert result.exit_code == 0, result.output
    outputs = [json.loads(line) for line in result.output.splitlines()]
    assert len(outputs) == len(cases)
    for (text, expected), output in zip(cases, outputs, strict=True):
        expected = json.loads(expected)
        assert {key: output.get(key) for key in expected} == expected, text


def test_product_add_with_synonyms_and_list(runner, db):
    result = runner.invoke(main, ["product", "add", "Jamur Tiram", "--synonym", "jamur",
                                  "-s", "oyster mushroom"])
    assert result.exit_code == 0, result.output
    assert result.output == "jamur tiram: jamur, oyster mushroom\n"
    assert products.find_product(db, "Oyster Mushroom")["name"] == "jamur tiram"
    result = runner.invoke(main, ["product", "add", "cabe", "--synonym", "cabe ijo"])
    assert result.output.startswith("cabai: ") and ", cabe ijo, " in result.output  # via a synonym
    listed = runner.invoke(main, ["product", "list"]).output.splitlines()
    assert "jamur tiram (jamur, oyster mushroom) [coordinator, 0 listings]" in listed
    audit = [(a["actor"], a["action"]) for a in db.query("SELECT * FROM coordinator_actions")]
    assert audit == [("cli", "product.add"), ("cli", "product.add")]


def test_product_add_folds_in_what_sellers_wrote(runner, db):
    now = utcnow()
    siti = db.execute("INSERT INTO contacts (phone, role, name, village, created_at) "
                      "VALUES ('+6281234567890', 'seller', 'Siti', 'Sukamaju', 'x')").lastrowid
    new, _ = products.resolve_product(db, "cabe keriting ijo", now, contact_id=siti)
    listings.create_listing(db, seller_id=siti, product=new, product_text="cabe keriting ijo",
                            quantity=listings.from_milli(5000), unit="kg", price=30000, now=now)
    assert runner.invoke(main, ["product", "list", "--new"]).output == (
        "cabe keriting ijo [seller, 1 listings]\n")
    result = runner.invoke(main, ["product", "add", "cabai keriting", "-s", "cabe keriting ijo"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(main, ["product", "list", "--new"]).output == (
        "no products written by sellers to review\n")
    assert "cabai keriting (" in runner.invoke(main, ["product", "list"]).output
    assert "[catalogue, 1 listings]" in next(
        line for line in runner.invoke(main, ["product", "list"]).output.splitlines()
        if line.startswith("cabai keriting ("))


def test_product_add_refuses_to_merge_real_products(runner, db):
    result = runner.invoke(main, ["product", "add", "cabai", "--synonym", "tomat"])
    assert result.exit_code == 1
    assert "'tomat' already names the product 'tomat'" in result.output
    assert runner.invoke(main, ["product", "add", "7"]).exit_code == 2


def test_product_seed_is_idempotent(runner, db):
    assert runner.invoke(main, ["product", "seed"]).output == "added 0 names\n"
