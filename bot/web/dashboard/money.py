"""The desk's money pages: the payouts queue (mark paid or failed, with a second
coordinator's word above PAYOUT_SECOND_APPROVAL_ABOVE), downloads of the books, and
seller statements.

Every change goes through the same service functions the text and command-line paths use
(`bot.services.payouts.mark_paid`, `bot.pipeline.payouts.report_payout_event`,
`bot.services.exports`, `bot.services.statements`), so the rules hold whichever path a
coordinator takes; the desk adds only the form, the audit entry and the notice. The
statements page lists the requests sellers texted (`LAPORAN KEUANGAN`) and every
statement issued.
"""

from __future__ import annotations

import io
import tempfile
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)

from bot.config import secret_key
from bot.pipeline.payouts import release_held_payouts, report_change, report_payout_event
from bot.services import exports, orders, payments, payouts, statements
from bot.services.coordinators import record_action
from bot.services.handover import Handover
from bot.services.payouts import IllegalPayoutTransition, PayoutHeld, SecondApprovalNeeded
from bot.storage import transaction, utcnow
from bot.web.dashboard.blueprint import bp
from bot.web.dashboard.common import N_, flash, gettext
from bot.web.db import get_db
from bot.web.db import hand_over as dispatch_handover
from conversations.i18n import format_money
from conversations.news.reports import notify_statement_issued
from conversations.numbers import parse_money

#: `failed` reasons a coordinator may give (the seller's text is built on the failure code).
FAILURE_REASONS = {
    "account": N_("nomor rekening atau nama pemilik salah"),
    "rejected": N_("bank atau e-wallet menolak"),
    "other": N_("kami tidak bisa membayar (kendala di pihak kami)"),
}
#: What the queue shows by default: everything not yet settled.
QUEUE_STATUSES = payouts.OPEN_STATUSES


def _timezone() -> str:
    return current_app.config.get("DEFAULT_TIMEZONE") or "Asia/Jakarta"


def _audit(action: str, details: dict) -> None:
    db = get_db()
    with transaction(db):
        record_action(db, g.user["phone"], action, details, utcnow(), g.user["id"])


def _payout(payout_id: int) -> dict:
    payout = payouts.get_payout(get_db(), payout_id)
    if payout is None:
        abort(404)
    return payout


# --- payouts -------------------------------------------------------------------------------


@bp.get("/penarikan")
def payout_queue():
    """Withdrawals with their state, tries and approvals; open ones first by default."""
    db = get_db()
    show = request.args.get("status", "open")
    statuses = QUEUE_STATUSES if show == "open" else (show,) if show in payouts.STATUSES else None
    rows = [dict(row, approvers=payouts.approvers(db, row["id"]),
                 awaiting=payouts.awaiting_approval(row, db))
            for row in payouts.list_payouts(db, statuses)]
    return render_template("desk/payouts.html", rows=rows, show=show, statuses=payouts.STATUSES,
                           reasons=FAILURE_REASONS, automatic=payouts.AUTOMATIC_PROVIDERS,
                           threshold=int(current_app.config.get("PAYOUT_SECOND_APPROVAL_ABOVE") or 0))


@bp.post("/penarikan/<int:payout_id>/dibayar")
def payout_paid(payout_id: int):
    """Record a manual payout as paid with the transfer reference. Above the threshold the
    first coordinator's word is recorded and the payout waits for a different one."""
    payout = _payout(payout_id)
    reference = request.form.get("reference", "").strip()[:100]
    if not reference:
        flash(gettext("Tulis nomor referensi transfer."), "error")
        return redirect(url_for("desk.payout_queue"))
    if payout["provider"] in payouts.AUTOMATIC_PROVIDERS:
        flash(gettext("{code} dibayar otomatis oleh {provider}; tidak dicatat dengan tangan.",
                      code=payout["code"], provider=payout["provider"]), "error")
        return redirect(url_for("desk.payout_queue"))
    actor, db, now = g.user["phone"], get_db(), utcnow()
    if actor in payouts.approvers(db, payout_id) and payouts.awaiting_approval(payout, db):
        flash(gettext("{code} sudah Anda setujui; perlu koordinator lain.", code=payout["code"]), "error")
        return redirect(url_for("desk.payout_queue"))
    waiting = reported = None
    try:
        with transaction(db):
            try:
                change = payouts.mark_paid(db, payout_id, actor, now, source="desk",
                                           provider_reference=reference, detail={"reference": reference})
            except SecondApprovalNeeded as exc:
                waiting = exc  # caught inside the transaction: the first word is kept
            else:
                reported = report_change(db, current_app.config, change, now)
    except PayoutHeld:
        flash(gettext("{code} menunggu pembayaran pembeli; belum bisa dibayar.", code=payout["code"]),
              "error")
        return redirect(url_for("desk.payout_queue"))
    except IllegalPayoutTransition:
        flash(gettext("{code} sudah {status}; tidak diubah.", code=payout["code"],
                      status=gettext(payout["status"])), "error")
        return redirect(url_for("desk.payout_queue"))
    if waiting is not None:
        _audit("payout.approval_requested", {"payout": payout["code"], "reference": reference})
        flash(gettext("Persetujuan Anda untuk {code} tercatat. Perlu koordinator kedua sebelum dicatat "
                      "dibayar.", code=payout["code"]), "ok")
        return redirect(url_for("desk.payout_queue"))
    dispatch_handover(reported.handover)
    if reported.change.applied:
        _audit("payout.paid", {"payout": payout["code"], "reference": reference,
                               "approved_by": payouts.approvers(db, payout_id)})
        flash(gettext("{code} dicatat dibayar; penjual sudah diberi tahu.", code=payout["code"]), "ok")
    else:
        flash(gettext("{code} sudah dibayar sebelumnya; tidak ada yang berubah.", code=payout["code"]), "ok")
    return redirect(url_for("desk.payout_queue"))


@bp.post("/penarikan/<int:payout_id>/setujui")
def payout_approve(payout_id: int):
    """Approve an automatic payout that waits for a coordinator: it is submitted now."""
    payout = _payout(payout_id)
    db = get_db()
    if payout["provider"] not in payouts.AUTOMATIC_PROVIDERS or not payouts.awaiting_approval(payout, db):
        flash(gettext("{code} tidak menunggu persetujuan.", code=payout["code"]), "error")
        return redirect(url_for("desk.payout_queue"))
    if payouts.approve_submission(db, payout_id, g.user["phone"], utcnow(), source="desk"):
        dispatch_handover(Handover(payout_ids=[payout_id]))
    _audit("payout.approved", {"payout": payout["code"]})
    flash(gettext("{code} disetujui dan dikirim ke {provider}.", code=payout["code"],
                  provider=payout["provider"]), "ok")
    return redirect(url_for("desk.payout_queue"))


@bp.post("/penarikan/<int:payout_id>/gagal")
def payout_failed(payout_id: int):
    """Record that a manual payout could not be paid: the money returns to the seller's
    balance and they are told why."""
    payout = _payout(payout_id)
    reason = request.form.get("reason", "")
    if reason not in FAILURE_REASONS:
        flash(gettext("Pilih alasan gagal."), "error")
        return redirect(url_for("desk.payout_queue"))
    if payout["provider"] in payouts.AUTOMATIC_PROVIDERS:
        flash(gettext("{code} dibayar otomatis oleh {provider}; tidak dicatat dengan tangan.",
                      code=payout["code"], provider=payout["provider"]), "error")
        return redirect(url_for("desk.payout_queue"))
    note = request.form.get("note", "").strip()[:300] or None
    try:
        reported = report_payout_event(get_db(), current_app.config, payout_id, "failed", utcnow(),
                                       source="desk", failure_code=reason,
                                       detail={"reason": reason, "note": note})
    except IllegalPayoutTransition:
        flash(gettext("{code} sudah {status}; tidak diubah.", code=payout["code"],
                      status=gettext(payout["status"])), "error")
        return redirect(url_for("desk.payout_queue"))
    dispatch_handover(reported.handover)
    if reported.change.applied:
        _audit("payout.failed", {"payout": payout["code"], "reason": reason, "note": note})
        flash(gettext("{code} dicatat gagal; uang kembali ke saldo penjual dan penjual sudah diberi tahu.",
                      code=payout["code"]), "ok")
    return redirect(url_for("desk.payout_queue"))


# --- exports ------------------------------------------------------------------------------

#: The export kinds with their names on the page.
EXPORT_NAMES = {
    "members": N_("Anggota"), "listings": N_("Iklan"), "orders": N_("Pesanan"),
    "payments": N_("Pembayaran pembeli"), "payouts": N_("Penarikan"), "ledger": N_("Buku besar"),
    "broadcasts": N_("Hasil siaran"),
}
FORMATS = ("csv", "xlsx")


def _local_day(value: str) -> datetime | None:
    """The start of a local date (`2026-11-01`) in the desk's zone, or None."""
    try:
        day = datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(_timezone()))


@bp.get("/unduh")
def export_page():
    """Pick what to download and for which dates (local days, both included)."""
    today = utcnow().astimezone(ZoneInfo(_timezone())).date()
    return render_template("desk/exports.html", kinds=EXPORT_NAMES, formats=FORMATS,
                           start=(today.replace(day=1)).isoformat(), end=today.isoformat())


@bp.get("/unduh/berkas")
def export_file():
    """The export as a file, streamed row by row from the database (CSV), or written to a
    temporary file in openpyxl's write-only mode and sent from there (Excel)."""
    kind, fmt = request.args.get("kind", ""), request.args.get("format", "csv")
    start, last = _local_day(request.args.get("start", "")), _local_day(request.args.get("end", ""))
    if kind not in exports.EXPORTS or fmt not in FORMATS or start is None or last is None or last < start:
        flash(gettext("Pilih jenis data dan tanggal yang sah (dari tidak boleh setelah sampai)."), "error")
        return redirect(url_for("desk.export_page"))
    end = last + timedelta(days=1)
    name = f"jembatan-{kind}-{start.date().isoformat()}-{last.date().isoformat()}.{fmt}"
    _audit("export.download", {"kind": kind, "format": fmt, "from": start.date().isoformat(),
                               "to": last.date().isoformat()})
    db = get_db()
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "xlsx":
        handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115  (closed with the response)
        exports.write_xlsx(exports.export_rows(db, kind, start, end), handle.name)
        response = send_file(handle.name, as_attachment=True, download_name=name,
                             mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response.call_on_close(handle.close)
        return response

    def lines():
        buffer = io.StringIO()
        rows = exports.export_rows(db, kind, start, end)
        while True:
            chunk = [row for _, row in zip(range(500), rows, strict=False)]
            if not chunk:
                return
            exports.write_csv(iter(chunk), buffer)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    return Response(stream_with_context(lines()), mimetype="text/csv; charset=utf-8", headers=headers)


# --- statements ---------------------------------------------------------------------------


#: Statements listed per page.
STATEMENTS_PAGE = 50


@bp.get("/laporan")
def statement_list():
    """Requests by text that wait to be issued, and every statement issued (code, seller,
    period, when and by whom, the verification link), newest first."""
    db = get_db()
    value = request.args.get("offset", "0")
    offset = int(value) if value.isdigit() else 0
    rows = statements.issued_statements(db, secret=secret_key(current_app.config), limit=STATEMENTS_PAGE,
                                        offset=offset)
    return render_template("desk/statements.html", waiting=statements.open_requests(db), rows=rows,
                           offset=offset, page_size=STATEMENTS_PAGE, total=statements.count_statements(db))


@bp.post("/orang/<int:contact_id>/laporan")
def issue_statement(contact_id: int):
    """Issue the seller's statement of the last N months, text the seller its code and
    link (it also answers their request by text, if one waits), and open its printable
    page (the public verification page shows exactly what the statement shows)."""
    months = request.form.get("months", "")
    answering = request.form.get("request", "")  # the waiting request the list showed
    readable = answering.isascii() and answering.isdigit() and len(answering) <= 12  # SQLite's integers
    request_id = int(answering) if readable else None
    db, now = get_db(), utcnow()
    try:
        with transaction(db):
            issued = statements.issue_statement(
                db, contact_id, months=int(months) if months.isdigit() else 0, now=now,
                timezone=_timezone(), secret=secret_key(current_app.config), issued_by=g.user["phone"],
                request_id=request_id)
            told = notify_statement_issued(db, current_app.config, contact_id, issued.code, now)
    except statements.RequestAlreadyHandled:
        flash(gettext("Permintaan {number} sudah dilayani koordinator lain; laporan tidak diterbitkan "
                      "dua kali.", number=request_id), "error")
        return redirect(url_for("desk.statement_list"))
    except statements.StatementRefused:
        flash(gettext("Laporan hanya untuk penjual, 1 sampai 24 bulan."), "error")
        back = ("desk.statement_list", {}) if request.form.get("next") == "list" else (
            "desk.person", {"contact_id": contact_id})
        return redirect(url_for(back[0], **back[1]))
    dispatch_handover(Handover(outbox_ids=[told]))
    _audit("statement.issued", {"contact": contact_id, "months": int(months), "code": issued.code})
    flash(gettext("Laporan {code} diterbitkan; kodenya dikirim ke penjual.", code=issued.code), "ok")
    return redirect(url_for("verify.verify", code=issued.code))


# --- buyer payments -----------------------------------------------------------------------

PAYMENT_REFUSALS = {
    "unknown_order": N_("Pesanan tidak ditemukan."),
    "invalid_amount": N_("Jumlah harus rupiah utuh di atas 0 (mis. 240000 atau 240rb)."),
    "invalid_reference": N_("Tulis referensi pembayaran (paling banyak 100 huruf)."),
    "not_received": N_("Pesanan {code} masih {status}: pembayaran dicatat setelah pembeli menerimanya."),
    "payment_reference_reused": N_(
        "Referensi itu sudah dipakai untuk pembayaran lain; pakai referensi baru."),
    "overpayment": N_("Lebih dari sisa tagihan pesanan {code}: sisa {owed}."),
}


@bp.post("/pembayaran")
def record_payment():
    """Record a buyer's payment for a received order (idempotent by reference); withdrawals
    waiting for buyers' payments go ahead as far as it allows."""
    db, now = get_db(), utcnow()
    code = request.form.get("order", "").strip().lstrip("#").upper()
    reference = request.form.get("reference", "").strip()
    note = request.form.get("note", "").strip()[:300] or None
    order = orders.find_order(db, code) if code else None
    amount = parse_money(request.form.get("amount", ""))
    try:
        if order is None:
            raise payments.PaymentRefused("unknown_order", "")
        if len(reference) > payments.MAX_REFERENCE:
            raise payments.PaymentRefused("invalid_reference", "")
        with transaction(db):
            recorded = payments.record_order_payment(db, order, amount=amount if amount else 0,
                                                     reference=reference, now=now, note=note)
    except payments.PaymentRefused as refused:
        owed = payments.amount_due(db, order) if order else 0
        flash(gettext(PAYMENT_REFUSALS[refused.reason], code=code, owed=format_money(owed),
                      status=gettext(order["status"]) if order else ""), "error")
        return redirect(url_for("desk.payout_queue"))
    if recorded.created:
        _audit("payment.recorded", {"order": recorded.order_code, "amount": recorded.amount,
                                    "reference": reference, "note": note})
        dispatch_handover(release_held_payouts(db, current_app.config, now))
        if recorded.status == "forwarded":  # a hub's order: its ledger is the hub's (420)
            flash(gettext("Pembayaran {amount} untuk {code} diteruskan ke desa; desa yang "
                          "mencatatnya. Bila desa menolak, koordinator diberi tahu.",
                          amount=format_money(recorded.amount), code=recorded.order_code), "ok")
        else:
            flash(gettext("Pembayaran {amount} untuk {code} dicatat; sisa tagihan {owed}.",
                          amount=format_money(recorded.amount), code=recorded.order_code,
                          owed=format_money(recorded.amount_due)), "ok")
    else:
        flash(gettext("Pembayaran dengan referensi itu sudah tercatat; tidak ada yang berubah."), "ok")
    return redirect(url_for("desk.payout_queue"))
