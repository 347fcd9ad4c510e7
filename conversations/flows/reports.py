"""Statements and summaries by text.

`LAPORAN KEUANGAN` (`STATEMENT`): a seller asks for a statement a lender can verify; the
seller hears it was received and coordinators are told (once per open request). A
coordinator issues it from the desk, or by text with the request's number
(`LAPORAN KEUANGAN 12`; bare, it lists the requests that wait); either way the seller
gets the code and the /verify link (`conversations.news.reports`).

`LAPORAN` (`REPORT`): the seller's last seven days, orders waiting, balance and their price
beside the reference price (when there is one), one SMS.
`LAPORAN MINGGUAN YA|TIDAK` (`WEEKLY REPORT YES|NO`): the same every Monday morning, or
not; bare, it says whether it is on.
"""

from __future__ import annotations

from bot.config import secret_key
from bot.services import contacts, reports, statements
from bot.services.coordinators import list_coordinators, record_action
from conversations.dialog import END, NO_DIALOG, Flow, Handler, Turn, match_command
from conversations.news.reports import statement_news, summary_reply

#: Months a statement issued by text covers (besides the current one); the desk chooses.
TEXT_STATEMENT_MONTHS = 6
#: Requests named in one SMS when a coordinator asks which wait.
LISTED = 3


def statement(turn: Turn) -> str:
    """A coordinator's `LAPORAN KEUANGAN [nomor]` lists or issues; a seller's asks."""
    coordinating = "request" in turn.command or turn.contact.get("role") != "seller"
    if turn.contact.get("is_coordinator") and coordinating:
        return _coordinator(turn)
    request, new = statements.request_statement(turn.db, turn.contact["id"], turn.now)
    if not new:
        turn.reply("statement.already_requested")
        return END
    for coordinator in list_coordinators(turn.db):
        if coordinator["id"] != turn.contact["id"]:
            turn.notify(coordinator, "statement.request_notice", name=request["seller_name"],
                        village=request["seller_village"], number=request["id"],
                        months=TEXT_STATEMENT_MONTHS)
    turn.reply("statement.requested")
    return END


def _coordinator(turn: Turn) -> str:
    number = str(turn.command.get("request", ""))
    if not number:
        waiting = statements.open_requests(turn.db)
        if not waiting:
            turn.reply("statement.none_open")
            return END
        items = "; ".join(f"{r['id']} {r['seller_name']} ({r['seller_village']})" for r in waiting[:LISTED])
        turn.reply("statement.open_list", count=len(waiting), items=items)
        return END
    readable = number.isascii() and number.isdigit() and len(number) <= 12  # SQLite's integers
    request = statements.get_request(turn.db, int(number)) if readable else None
    if request is None or request["status"] != "open":
        turn.reply("statement.request_not_found", number=number)
        return END
    try:
        issued = statements.issue_statement(
            turn.db, request["seller_contact_id"], months=TEXT_STATEMENT_MONTHS, now=turn.now,
            timezone=turn.settings.get("DEFAULT_TIMEZONE") or "Asia/Jakarta",
            secret=secret_key(turn.settings), issued_by=turn.contact["phone"], request_id=request["id"])
    except statements.StatementRefused:  # no longer a seller, or issued at the desk meanwhile
        turn.reply("statement.request_not_found", number=number)
        return END
    record_action(turn.db, turn.contact["phone"], "statement.issued",
                  {"contact": request["seller_contact_id"], "months": TEXT_STATEMENT_MONTHS,
                   "code": issued.code, "request": request["id"]}, turn.now, turn.contact["id"])
    seller = contacts.get_contact(turn.db, request["seller_contact_id"])
    reply_id, values = statement_news(turn.settings, issued.code)
    turn.notify(seller, reply_id, **values)
    turn.reply("statement.issued_done", code=issued.code, name=request["seller_name"])
    return END


def report(turn: Turn) -> str:
    """`LAPORAN`: the last seven days, orders waiting, balance."""
    summary = reports.seller_summary(turn.db, turn.contact["id"], turn.now)
    weekly = reports.weekly_on(turn.db, turn.contact["id"])
    reply_id, values = summary_reply("report.summary_weekly" if weekly else "report.summary",
                                     "report.summary_price", summary, turn.locale)
    turn.reply(reply_id, **values)
    return END


def weekly(turn: Turn) -> str:
    """`LAPORAN MINGGUAN YA|TIDAK`: start or stop the Monday summary; bare: its state."""
    on = turn.command.get("on")
    if on is None:
        on_now = reports.weekly_on(turn.db, turn.contact["id"])
        turn.reply("weekly.status_on" if on_now else "weekly.status_off")
        return END
    reports.set_weekly(turn.db, turn.contact["id"], bool(on), turn.now, turn.timezone)
    turn.reply("weekly.on" if on else "weekly.off")
    return END


STATEMENT = Flow(
    name="statement",
    entry={"statement": Handler("statement", match_command("statement"), statement, (END,))},
    states={},
    fallback=NO_DIALOG,
    roles=("seller", "coordinator"),
)

REPORTS = Flow(
    name="reports",
    entry={"report": Handler("report", match_command("report"), report, (END,)),
           "weekly_report": Handler("weekly", match_command("weekly_report"), weekly, (END,))},
    states={},
    fallback=NO_DIALOG,
    roles=("seller",),
)
