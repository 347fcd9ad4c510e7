"""`GET /verify/<code>`: a lender (a bank's micro-credit officer, a koperasi) checks that
a seller's statement is genuine and unchanged.

Public and read-only. It shows exactly what the printed statement shows — the seller's
name and village, the period and the monthly figures — and never a phone number. An
unknown code, a mistyped check part or figures changed after issue all answer 404 with
the same page, so the page cannot be used to probe which codes exist.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from bot.config import secret_key
from bot.services.statements import verify_statement
from bot.web.db import get_db
from conversations.i18n import format_money

bp = Blueprint("verify", __name__, template_folder="templates")

#: The page's words, in the two languages (Indonesian first; `?lang=en` for English).
WORDS = {
    "id": {"title": "Laporan keuangan penjual", "valid": "Laporan ini asli dan tidak diubah.",
           "invalid": "Kode ini tidak dapat diverifikasi: tidak ada laporan dengan kode itu, atau "
                      "isinya telah diubah.",
           "seller": "Penjual", "village": "Desa", "period": "Periode",
           "issued": "Diterbitkan", "month": "Bulan", "orders": "Pesanan diterima",
           "sales": "Nilai penjualan",
           "credited": "Diterima penjual", "buyer_payments": "Dibayar pembeli", "paid_out": "Dicairkan",
           "total": "Jumlah", "code": "Kode verifikasi", "check": "Periksa kode lain", "other": "English",
           "print": "Cetak"},
    "en": {"title": "Seller statement", "valid": "This statement is genuine and unchanged.",
           "invalid": "This code cannot be verified: there is no statement with it, or its content was "
                      "changed.", "seller": "Seller", "village": "Village", "period": "Period",
           "issued": "Issued", "month": "Month", "orders": "Orders received", "sales": "Sales value",
           "credited": "Credited to the seller", "buyer_payments": "Paid by buyers", "paid_out": "Paid out",
           "total": "Total", "code": "Verification code", "check": "Check another code", "other": "Indonesia",
           "print": "Print"},
}


@bp.get("/verify/<code>")
def verify(code: str):
    """The statement behind `code`, if it verifies; else a 404 saying it does not."""
    lang = "en" if request.args.get("lang") == "en" else "id"
    statement = verify_statement(get_db(), code[:40], secret=secret_key(current_app.config))
    page = render_template("verify.html", statement=statement, code=code[:40], words=WORDS[lang],
                           lang=lang, other="id" if lang == "en" else "en",
                           money=lambda amount: format_money(amount, lang))
    return page, 200 if statement else 404
