"""Looking after people from the desk, through the services and the texts people send:
moving a number, resetting a PIN, erasing a person, importing sellers, editing listings,
merging products; and masking of sensitive texts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.services import desk_auth, ledger, listings, members, pins, products, reconciliation, statements
from bot.services.masking import masked_text
from bot.storage import transaction
from tests.dialogs import BUDI, SITI, Conversation
from tests.money import ready, seller_id
from tests.orders import seller_listing

NEW_SIM = "+6281377778888"
ACTOR = ("+6281100000001", None)


@pytest.fixture
def chat(tmp_path):
    chat = ready(Conversation(tmp_path))
    seller_listing(chat.db, SITI, "Siti Aminah", "Sukamaju", "cabai", "50", "kg", 12_000, chat.now)
    return chat


def test_registration_records_consent(chat):
    row = chat.db.execute("SELECT consent_at, consent_source FROM contacts WHERE phone = ?",
                          [SITI]).fetchone()
    assert row[0] and row[1] == "sms"


def test_moving_a_number_keeps_balance_and_listings_and_the_old_number_cannot_act(chat):
    before = ledger.seller_balance(chat.db, seller_id(chat.db, SITI))
    siti_id = seller_id(chat.db, SITI)
    chat.send(NEW_SIM, "HALO")  # the new SIM texted before the coordinator moved her: folded in
    moved = members.move_number(chat.db, siti_id, "0813-7777-8888", chat.now, *ACTOR)
    assert (moved.contact["id"], moved.contact["phone"], moved.old_phone) == (siti_id, NEW_SIM, SITI)
    assert ledger.seller_balance(chat.db, siti_id) == before
    assert [row["code"] for row in listings.seller_listings(chat.db, siti_id)]
    assert "Rp1.250.000" in chat.send(NEW_SIM, "SALDO")
    # From the old number she is a stranger: no balance, no account to withdraw to.
    assert "Rp1.250.000" not in chat.send(SITI, "SALDO")
    assert chat.db.execute("SELECT role FROM contacts WHERE phone = ?", [SITI]).fetchone()[0] is None
    with pytest.raises(members.ChangeRefused) as refused:
        members.move_number(chat.db, siti_id, NEW_SIM, chat.now, *ACTOR)
    assert refused.value.reason == "same_number"
    chat.send(BUDI, "DAFTAR Budi, Cibodas")
    with pytest.raises(members.ChangeRefused) as refused:
        members.move_number(chat.db, siti_id, BUDI, chat.now, *ACTOR)
    assert refused.value.reason == "number_taken"
    (entry,) = chat.db.query("SELECT * FROM coordinator_actions WHERE action = 'person.move_number'")
    assert SITI not in entry["details"]


def test_a_pin_reset_lets_the_seller_choose_a_new_one(chat):
    siti_id = seller_id(chat.db, SITI)
    assert pins.pin_state(chat.db, siti_id, chat.now).has_pin
    assert members.reset_pin(chat.db, siti_id, chat.now, *ACTOR)
    assert not pins.pin_state(chat.db, siti_id, chat.now).has_pin
    assert not members.reset_pin(chat.db, siti_id, chat.now, *ACTOR)
    reply = chat.send(SITI, "TARIK 50rb")
    assert "PIN" in reply and "salah" not in reply


def test_erasure_leaves_no_name_or_number_and_the_ledger_unchanged(chat):
    siti_id = seller_id(chat.db, SITI)
    sums_before = chat.db.execute("SELECT SUM(amount), COUNT(*) FROM ledger_entries").fetchone()
    balance_before = ledger.seller_balance(chat.db, siti_id)
    statements.issue_statement(chat.db, siti_id, months=1, now=chat.now, timezone="Asia/Jakarta",
                               secret="test", issued_by="cli")
    members.erase_person(chat.db, siti_id, chat.now, *ACTOR)
    tables = [row[0] for row in chat.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in chat.db.execute(f"SELECT * FROM {table}"):
            text = " ".join(str(value) for value in row)
            for secret in (SITI, SITI[1:], "081234567890", "Siti Aminah", "Sukamaju"):
                assert secret not in text, (table, row)
    assert chat.db.execute("SELECT SUM(amount), COUNT(*) FROM ledger_entries").fetchone() == sums_before
    assert ledger.seller_balance(chat.db, siti_id) == balance_before
    assert reconciliation.check_ledger(chat.db).ok
    with pytest.raises(members.ChangeRefused):
        members.erase_person(chat.db, siti_id, chat.now, *ACTOR)


def test_import_plan_reports_every_row_and_applying_twice_changes_nothing(chat):
    csv_text = ("name,phone,village,products\n"
                "Wayan,0812 1111 2222,Cibodas,cabai;tomat\n"
                "Siti Aminah,+6281234567890,Sukamaju,cabai\n"
                ",0812 1111 3333,Cibodas,\n"
                "Made,bukan nomor,Cibodas,\n"
                "Wayan lagi,081211112222,Cibodas,\n")
    plan = members.plan_import(chat.db, csv_text)
    assert [(r.line, r.action, r.reason) for r in plan.rows] == [
        (2, "create", None), (3, "update", None), (4, "refused", "missing_name"),
        (5, "refused", "bad_phone"), (6, "refused", "duplicate")]
    created = members.apply_import(chat.db, plan, chat.now, *ACTOR)
    assert [c["phone"] for c in created] == ["+6281211112222"]
    assert created[0]["consent_source"] == "import"
    again = members.plan_import(chat.db, csv_text)
    assert [r.action for r in again.rows][:2] == ["update", "update"]
    assert members.plan_import(chat.db, "nama;hp\nx;y\n").error == "missing_columns"


def test_import_asks_for_the_province_of_a_village_named_in_several(chat):
    """DECISIONS 336: a village name recorded in two provinces is never guessed; the
    province column answers it (as provinces.csv spells it, any case)."""
    from bot.services import schedule
    with transaction(chat.db):
        schedule.set_village_province(chat.db, "Sukamaju", "Jawa Barat")
        schedule.set_village_province(chat.db, "Sukamaju", "Lampung")
        schedule.set_village_province(chat.db, "Cibodas", "Jawa Barat")
    csv_text = ("name,phone,village,province,products\n"
                "Wayan,0812 1111 2222,Sukamaju,,cabai\n"
                "Made,0812 1111 3333,Sukamaju,lampung,\n"
                "Nyoman,0812 1111 4444,Sukamaju,Atlantis,\n"
                "Ketut,0812 1111 5555,Cibodas,,\n"
                "Putu,0812 1111 6666,Sindangsari,,\n")
    plan = members.plan_import(chat.db, csv_text)
    assert [(r.action, r.reason, r.province) for r in plan.rows] == [
        ("refused", "ambiguous_village", None), ("create", None, "Lampung"),
        ("refused", "unknown_province", None), ("create", None, "Jawa Barat"), ("create", None, None)]
    members.apply_import(chat.db, plan, chat.now, *ACTOR)
    rows = chat.db.execute("SELECT name, village, province FROM contacts WHERE name IN "
                           "('Made', 'Ketut', 'Putu') ORDER BY name").fetchall()
    assert rows == [("Ketut", "Cibodas", "Jawa Barat"), ("Made", "Sukamaju", "Lampung"),
                    ("Putu", "Sindangsari", None)]
    # Without the column, as before: a village with one province gets it.
    assert members.plan_import(chat.db, "name,phone,village\nGede,0812 1111 7777,Cibodas\n"
                               ).rows[0].province == "Jawa Barat"


def test_listing_edit_and_withdraw(chat):
    (listing,) = listings.seller_listings(chat.db, seller_id(chat.db, SITI))
    edited = members.edit_listing(chat.db, listing["id"], price=15_000, quantity=Decimal("20.5"),
                                  now=chat.now, actor=ACTOR[0], actor_id=None)
    assert (edited["price"], edited["quantity_milli"]) == (15_000, 20_500)
    with pytest.raises(members.ChangeRefused):
        members.edit_listing(chat.db, listing["id"], price=0, quantity=Decimal(1), now=chat.now,
                             actor=ACTOR[0], actor_id=None)
    assert members.withdraw_listing(chat.db, listing["id"], chat.now, *ACTOR)["status"] == "withdrawn"
    with pytest.raises(members.ChangeRefused):
        members.withdraw_listing(chat.db, listing["id"], chat.now, *ACTOR)


def test_merging_a_stray_product_moves_its_listings_and_keeps_its_name(chat):
    with transaction(chat.db):
        stray, created = products.resolve_product(chat.db, "cabaii rawit", chat.now)
    cabai = products.find_product(chat.db, "cabai")
    seller_listing(chat.db, SITI, "Siti Aminah", "Sukamaju", "cabaii rawit", "5", "kg", 9_000, chat.now)
    members.merge_products(chat.db, stray["id"], cabai["id"], chat.now, *ACTOR)
    assert products.find_product(chat.db, stray["name"])["id"] == cabai["id"]
    moved = chat.db.execute("SELECT COUNT(*) FROM listings WHERE product_id = ?", [cabai["id"]]).fetchone()
    assert moved[0] == 2
    members.add_synonym(chat.db, cabai["id"], "cabai kebun siti", chat.now, *ACTOR)
    assert products.find_product(chat.db, "cabai kebun siti")["id"] == cabai["id"]
    with pytest.raises(members.ChangeRefused):
        members.add_synonym(chat.db, cabai["id"], "cabai kebun siti", chat.now, *ACTOR)


@pytest.mark.parametrize(("direction", "body", "reply_id", "shown"), [
    ("out", "Kode masuk meja koordinator: 482913. Berlaku 10 menit.", "desk.code",
     "Kode masuk meja koordinator: ••••••. Berlaku 10 menit."),
    ("in", "PIN 2580", None, "PIN ••••"),
    ("in", "ubah pin 2580 9613", None, "ubah pin •••• ••••"),
    ("in", "2580", None, "••••"),
    ("in", "JUAL cabai 50kg 12rb", None, "JUAL cabai 50kg 12rb"),
    ("out", "Saldo Anda Rp1.250.000.", "balance.summary", "Saldo Anda Rp1.250.000."),
])
def test_masking(direction, body, reply_id, shown):
    assert masked_text(direction, body, reply_id) == shown


def test_roles_are_checked(migrated_db):
    from bot.storage import utcnow

    with pytest.raises(desk_auth.UnknownRole):
        desk_auth.grant_role(migrated_db, SITI, "owner", utcnow())
    viewer = desk_auth.grant_role(migrated_db, SITI, "viewer", utcnow())
    assert not desk_auth.may_change(viewer)
    assert desk_auth.may_change(desk_auth.grant_role(migrated_db, SITI, "coordinator", utcnow()))
