"""The desk's payouts queue (maker-checker above PAYOUT_SECOND_APPROVAL_ABOVE), downloads
of the books and seller statements, over HTTP with the real app, SQLite and Redis."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from bot.config import secret_key
from bot.services import ledger, orders, payout_accounts, payouts, statements
from bot.services.desk_auth import grant_role
from bot.storage import transaction, utcnow
from tests.desk.conftest import ADMIN, COORDINATOR, post, sign_in
from tests.money import make_seller_with_money
from tests.orders import api_buyer, seller_listing

SELLER = "+6281234567890"


def large_payout(db, settings, amount=2_000_000, threshold=1_000_000):
    """Siti with Rp3.000.000 and a manual withdrawal of `amount` (above `threshold`)."""
    seller = make_seller_with_money(db, SELLER, "DANA", "081234567890", 3_000_000, utcnow())
    return payouts.request_withdrawal(
        db, seller_contact_id=seller, amount=amount, account=payout_accounts.get_account(db, seller),
        provider="manual", settings=dict(settings, PAYOUT_SECOND_APPROVAL_ABOVE=threshold), now=utcnow(),
        timezone="Asia/Jakarta")


def test_the_queue_shows_state_and_a_large_payout_needs_two_coordinators(app, db, settings, admin):
    payout = large_payout(db, settings)
    page = admin.get("/dashboard/penarikan").get_data(as_text=True)
    assert payout["code"] in page and "Minta persetujuan" in page and "Percobaan kirim" in page
    path = f"/dashboard/penarikan/{payout['id']}/dibayar"
    first = post(admin, path, {"reference": "BRI-1"}, "/dashboard/penarikan")
    assert first.status_code == 302
    assert payouts.get_payout(db, payout["id"])["status"] == "pending"
    assert payouts.approvers(db, payout["id"]) == [ADMIN]
    # The one who asked cannot be the second word, by the form or past it.
    again = post(admin, path, {"reference": "BRI-1"}, "/dashboard/penarikan")
    assert again.status_code == 302 and payouts.get_payout(db, payout["id"])["status"] == "pending"
    assert "perlu koordinator lain" in admin.get("/dashboard/penarikan").get_data(as_text=True)
    second = sign_in(app.test_client(), db, COORDINATOR, "coordinator")
    assert post(second, path, {"reference": "BRI-1"}, "/dashboard/penarikan").status_code == 302
    done = payouts.get_payout(db, payout["id"])
    assert done["status"] == "succeeded" and done["provider_reference"] == "BRI-1"
    assert payouts.approvers(db, payout["id"]) == [ADMIN, COORDINATOR]
    actions = [row["action"] for row in db.query("SELECT action FROM coordinator_actions ORDER BY id")]
    assert "payout.approval_requested" in actions and "payout.paid" in actions


def test_mark_failed_returns_the_money(db, settings, admin):
    payout = large_payout(db, settings, amount=500_000)
    answer = post(admin, f"/dashboard/penarikan/{payout['id']}/gagal", {"reason": "account"},
                  "/dashboard/penarikan")
    assert answer.status_code == 302
    assert payouts.get_payout(db, payout["id"])["status"] == "failed"
    assert ledger.seller_balance(db, payout["seller_contact_id"]).available == 3_000_000


def test_bad_input_gets_an_answer(db, settings, admin, viewer):
    payout = large_payout(db, settings, amount=500_000)
    path = f"/dashboard/penarikan/{payout['id']}/dibayar"
    post(admin, path, {"reference": " "}, "/dashboard/penarikan")
    assert "Tulis nomor referensi" in admin.get("/dashboard/penarikan").get_data(as_text=True)
    post(admin, f"/dashboard/penarikan/{payout['id']}/gagal", {"reason": "nope"}, "/dashboard/penarikan")
    assert payouts.get_payout(db, payout["id"])["status"] == "pending"
    assert admin.post(path, data={"reference": "X"}).status_code == 400  # no CSRF token
    assert post(viewer, path, {"reference": "X"}, "/dashboard/penarikan").status_code == 403
    assert post(admin, "/dashboard/penarikan/999/dibayar", {"reference": "X"}).status_code == 404


def test_export_orders_csv_and_refuses_bad_dates(db, settings, admin):
    large_payout(db, settings, amount=500_000)
    answer = admin.get("/dashboard/unduh/berkas?kind=payouts&format=csv&start=2000-01-01&end=2100-01-01")
    assert answer.status_code == 200 and answer.is_streamed
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0][0] == "code" and rows[1][3] == "500000"
    bad = admin.get("/dashboard/unduh/berkas?kind=payouts&format=csv&start=2026-02-01&end=2026-01-01")
    assert bad.status_code == 302


def test_a_statement_is_issued_for_a_seller_only(db, settings, admin):
    payout = large_payout(db, settings, amount=500_000)
    answer = post(admin, f"/dashboard/orang/{payout['seller_contact_id']}/laporan", {"months": "3"},
                  f"/dashboard/orang/{payout['seller_contact_id']}")
    assert answer.status_code == 302 and "/verify/" in answer.headers["Location"]
    grant_role(db, ADMIN, "admin", utcnow())
    admin_id = db.execute("SELECT id FROM contacts WHERE phone = ?", [ADMIN]).fetchone()[0]
    refused = post(admin, f"/dashboard/orang/{admin_id}/laporan", {"months": "3"})
    assert "/verify/" not in refused.headers["Location"]


def received_order(db, settings):
    """A real order of 2.5 kg cabai at Rp12.000, placed, accepted and received."""
    now = utcnow()
    listing = seller_listing(db, "+6281234567899", "Siti", "Sukamaju", "cabai", "50", "kg", 12_000, now)
    buyer, _key = api_buyer(db, now, phone="+6285712345678")
    with transaction(db):
        order = orders.place_order(db, buyer=buyer, listing_code=listing["code"], quantity=Decimal("2.5"),
                                   unit="kg", now=now, settings=settings, source="api").order
    for event in ("accept", "receive"):
        orders.apply_order_event(db, order["id"], event, now, settings=settings, source="test")
    return orders.get_order(db, order["id"])


def test_a_buyer_payment_is_recorded_once_by_reference(db, settings, admin):
    order = received_order(db, settings)
    form = {"order": order["code"].lower(), "amount": "20rb", "reference": "TRF-9", "note": "tunai"}
    assert post(admin, "/dashboard/pembayaran", form, "/dashboard/penarikan").status_code == 302
    assert "sisa tagihan Rp10.000" in admin.get("/dashboard/penarikan").get_data(as_text=True)
    assert ledger.order_receivable(db, order["code"]) == 10_000
    post(admin, "/dashboard/pembayaran", form, "/dashboard/penarikan")  # the same reference again
    assert "sudah tercatat" in admin.get("/dashboard/penarikan").get_data(as_text=True)
    assert ledger.order_receivable(db, order["code"]) == 10_000
    refusals = [
        ({**form, "reference": "TRF-10", "amount": "50rb"}, "sisa Rp10.000"),
        ({**form, "reference": "TRF-9", "amount": "5000"}, "sudah dipakai"),
        ({**form, "amount": "banyak"}, "rupiah utuh"),
        ({**form, "order": "P999999"}, "tidak ditemukan"),
        ({**form, "reference": ""}, "Tulis referensi"),
    ]
    for data, answer in refusals:
        post(admin, "/dashboard/pembayaran", data, "/dashboard/penarikan")
        assert answer in admin.get("/dashboard/penarikan").get_data(as_text=True), data
    assert ledger.order_receivable(db, order["code"]) == 10_000
    actions = db.query("SELECT action FROM coordinator_actions WHERE action LIKE 'payment%'")
    assert [r["action"] for r in actions] == ["payment.recorded"]


def test_statements_page_issues_a_texted_request_and_lists_what_was_issued(app, db, settings, admin, viewer):
    """A request texted with LAPORAN KEUANGAN waits on /dashboard/laporan; issuing it there
    (CSRF-checked) texts the seller the code and link, answers the request, and the
    statement is listed with its seller, period, issuer and verification link."""
    seller = make_seller_with_money(db, SELLER, "DANA", "081234567890", 300_000, utcnow())
    request_row, created = statements.request_statement(db, seller, utcnow())
    assert created
    page = admin.get("/dashboard/laporan").get_data(as_text=True)
    assert f'data-request="{request_row["id"]}"' in page and "Siti Aminah" in page
    assert 'href="/dashboard/laporan"' in admin.get("/dashboard/penarikan").get_data(as_text=True)
    path = f"/dashboard/orang/{seller}/laporan"
    assert admin.post(path, data={"months": "3", "next": "list"}).status_code == 400  # no CSRF token
    assert post(viewer, path, {"months": "3", "next": "list"}, "/dashboard/laporan").status_code == 403
    answer = post(admin, path, {"months": "3", "next": "list"}, "/dashboard/laporan")
    assert answer.status_code == 302 and "/verify/" in answer.headers["Location"]
    code = answer.headers["Location"].rsplit("/", 1)[1]
    assert statements.get_request(db, request_row["id"])["status"] == "issued"
    [text] = [row["body"] for row in db.query(
        "SELECT body FROM outbox WHERE phone = ? AND reply_id = 'statement.issued'", [SELLER])]
    assert text == (f"Laporan keuangan Bapak/Ibu sudah terbit, kode {code}. Bank/koperasi bisa cek di "
                    f"{settings['PUBLIC_BASE_URL'].rstrip('/')}/verify/{code}")
    page = admin.get("/dashboard/laporan").get_data(as_text=True)
    assert "Tidak ada permintaan yang menunggu." in page
    assert f'data-statement="{code}"' in page and f'href="/verify/{code}"' in page
    assert ADMIN in page  # issued by
    listed = statements.issued_statements(db, secret=secret_key(app.config))
    assert [(s["code"], s["genuine"]) for s in listed] == [(code, True)]
    assert listed[0]["period_to"] >= listed[0]["period_from"]
    assert app.test_client().get(f"/verify/{code}").status_code == 200  # signed out
    # Figures changed in the database afterwards: listed as not valid, and not linked.
    with transaction(db):
        db.execute("UPDATE statements SET content = replace(content, '\"orders\":0', '\"orders\":9')")
    page = admin.get("/dashboard/laporan").get_data(as_text=True)
    assert "isi diubah, tidak sah" in page and f'href="/verify/{code}"' not in page
    assert app.test_client().get(f"/verify/{code}").status_code == 404
    viewer_page = viewer.get("/dashboard/laporan")
    assert viewer_page.status_code == 200 and "Terbitkan laporan" not in viewer_page.get_data(as_text=True)


def test_a_request_issued_by_text_meanwhile_is_not_issued_again_at_the_desk(app, client, db, settings, admin):
    """Review finding 6 (DECISIONS 365): the desk shows the waiting request, a coordinator
    issues it by text (`LAPORAN KEUANGAN 1`) before the desk's button is pressed: the desk
    issues nothing and texts the seller nothing more."""
    from tests.conftest import gateway_post, sms_received
    from tests.money import make_coordinator

    seller = make_seller_with_money(db, SELLER, "DANA", "081234567890", 300_000, utcnow())
    request_row, _ = statements.request_statement(db, seller, utcnow())
    page = admin.get("/dashboard/laporan").get_data(as_text=True)
    assert f'name="request" value="{request_row["id"]}"' in page
    make_coordinator(db, "+6281399990000", utcnow())
    assert gateway_post(client, sms_received("lk-1", "+6281399990000",
                                             f"LAPORAN KEUANGAN {request_row['id']}")).status_code == 200
    assert statements.get_request(db, request_row["id"])["status"] == "issued"
    answer = post(admin, f"/dashboard/orang/{seller}/laporan",
                  {"months": "3", "next": "list", "request": str(request_row["id"])}, "/dashboard/laporan")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/dashboard/laporan")
    assert "sudah dilayani koordinator lain" in admin.get("/dashboard/laporan").get_data(as_text=True)
    assert db.execute("SELECT COUNT(*) FROM statements").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM outbox WHERE phone = ? AND reply_id = 'statement.issued'",
                      [SELLER]).fetchone()[0] == 1
