"""Same-named villages in two provinces on the public pages (issue 17, DECISIONS 335-338):
`/desa/<province>/<village>` shows only that province's village's sellers, the pages link
each seller to their own, and sellers nobody gave a province stay under `indonesia`. Also
the migration that gave existing sellers their village's province."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot import migrations as bot_migrations
from bot.migrations import migrations
from bot.services import contacts, schedule
from bot.storage import open_database, transaction, utcnow
from tests.orders import seller_listing
from tests.storefront.test_pages import Page, get
from tests.storefront.test_sitemap_index import locs

SITI, ANI, BUDI = "+6281234567890", "+6285711112222", "+6281399998888"


def two_sukamajus(db) -> dict:
    """Siti of Sukamaju (Jawa Barat), Ani of Sukamaju (Lampung), Budi of Cikole (no
    province recorded): one listing each; their codes by name."""
    now = utcnow()
    with transaction(db):
        schedule.set_village_province(db, "Sukamaju", "Jawa Barat")
    siti = seller_listing(db, SITI, "Siti Aminah", "Sukamaju", "cabai", "50", "kg", 12000, now)
    with transaction(db):
        schedule.set_village_province(db, "Sukamaju", "Lampung")
        contact = contacts.get_or_create_contact(db, ANI, now)
        contacts.register_seller(db, contact["id"], "Ani", "Sukamaju", now, province="lampung")
    ani = seller_listing(db, ANI, "Ani", "Sukamaju", "kopi", "20", "kg", 80000, now)
    budi = seller_listing(db, BUDI, "Budi", "Cikole", "tomat", "10", "kg", 9000, now)
    return {"siti": siti["code"], "ani": ani["code"], "budi": budi["code"]}


def codes_on(client, path: str) -> set[str]:
    links = Page(get(client, path).get_data(as_text=True)).links
    return {urlsplit(link).path.rsplit("/", 1)[1] for link in links if urlsplit(link).path.startswith("/l/")}


def test_each_province_has_its_own_sukamaju(client, db):
    codes = two_sukamajus(db)
    assert codes_on(client, "/desa/jawa-barat/sukamaju") == {codes["siti"]}
    assert codes_on(client, "/desa/lampung/sukamaju") == {codes["ani"]}
    assert "<h1>Desa Sukamaju, Lampung</h1>" in get(client, "/desa/lampung/sukamaju").get_data(as_text=True)
    get(client, "/desa/indonesia/sukamaju", 404)  # nobody of Sukamaju is without a province
    get(client, "/desa/bali/sukamaju", 404)
    assert codes_on(client, "/desa/indonesia/cikole") == {codes["budi"]}  # kept where it was
    with transaction(db):  # Cikole's province recorded: its sellers move, old links follow
        schedule.set_village_province(db, "Cikole", "Jawa Barat")
    moved = client.get("/desa/indonesia/cikole")
    assert (moved.status_code, urlsplit(moved.headers["Location"]).path) == (301, "/desa/jawa-barat/cikole")
    assert codes_on(client, "/desa/jawa-barat/cikole") == {codes["budi"]}


def test_pages_link_each_seller_to_their_own_village(client, db):
    codes = two_sukamajus(db)
    home = Page(get(client, "/").get_data(as_text=True))
    assert {"/desa/jawa-barat/sukamaju", "/desa/lampung/sukamaju", "/desa/indonesia/cikole"} <= {
        urlsplit(link).path for link in home.links}
    html = get(client, "/").get_data(as_text=True)
    assert "Sukamaju, Jawa Barat (1)" in html and "Sukamaju, Lampung (1)" in html and "Cikole (1)" in html
    page = get(client, f"/l/{codes['ani']}").get_data(as_text=True)
    assert "/desa/lampung/sukamaju" in {urlsplit(link).path for link in Page(page).links}
    (ld,) = Page(page).ld
    address = ld["offers"]["seller"]["address"]
    assert (address["addressLocality"], address["addressRegion"]) == ("Sukamaju", "Lampung")
    budi = Page(get(client, f"/l/{codes['budi']}").get_data(as_text=True))
    assert "addressRegion" not in budi.ld[0]["offers"]["seller"]["address"]
    sitemap = locs(get(client, "/sitemap.xml"), "url")
    assert {"/desa/jawa-barat/sukamaju", "/desa/lampung/sukamaju", "/desa/indonesia/cikole"} <= set(sitemap)
    # A search for the name finds every Sukamaju's sellers.
    assert codes_on(client, "/cari?q=Sukamaju") == {codes["siti"], codes["ani"]}


def test_the_migration_gives_existing_sellers_their_villages_province(tmp_path):
    db = open_database(tmp_path / "old.db")
    with transaction(db):
        migrations.apply(db, stop_before="m027_villages")
        db.execute("INSERT INTO villages (name, province, timezone) VALUES ('Sukamaju', 'jawa barat', "
                   "'Asia/Jakarta'), ('Wamena', 'Papua Pegunungan', 'Asia/Jayapura')")
        db.execute("INSERT INTO contacts (phone, role, name, village, created_at) VALUES "
                   "('+6281234567890', 'seller', 'Siti', 'sukamaju', '2026-01-01'), "
                   "('+6281234567891', 'seller', 'Budi', 'Cikole', '2026-01-01')")
    bot_migrations.apply_migrations(db)
    assert db.execute("SELECT name, province FROM contacts ORDER BY id").fetchall() == [
        ("Siti", "Jawa Barat"), ("Budi", None)]
    assert db.execute("SELECT name, province FROM villages ORDER BY name").fetchall() == [
        ("Sukamaju", "Jawa Barat"), ("Wamena", "Papua Pegunungan")]
    # Papua's zone, from the province now: a Wamena seller registered after is asked nothing.
    assert schedule.timezone_of(db, {"village": "Wamena"}, "Asia/Jakarta") == "Asia/Jayapura"
