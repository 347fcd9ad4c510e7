"""Demand signals (issue 17) on a clock the test moves: buyers' `CARI` that finds little
is counted; the sweep tells sellers who sold the product before (and subscribers) that
buyers are looking, at most one text a week each, never in their quiet hours (their own
zone), never to a seller who opted out (`MINAT OFF`, `BERHENTI`) or has stock on sale.
`MINAT OFF/ON` dialogs in Indonesian and English."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.pipeline.sweep import sweep
from bot.services import demand, schedule
from bot.storage import utcnow
from tests.dialogs import BUDI, SITI, Conversation

TINI = "+6281311112222"   # a buyer in Bandung
ANI = "+6281399998888"    # sold cabai rawit, then MINAT OFF
DEWI = "+6281455556666"   # sold cabai rawit in Wamena, Papua (WIT, two hours ahead of WIB)
EKO = "+6281577778888"    # sells cabai rawit now, with stock
OKI = "+6281688889999"    # sold cabai rawit, then BERHENTI

SIGNAL = ("Minggu ini {n} pembeli mencari cabai rawit. Punya stok? Balas JUAL cabai rawit jumlah harga. "
          "Tidak mau kabar ini: ketik MINAT OFF")
SIGNAL_EN = ("This week {n} buyers looked for cabai rawit. Have stock? Reply SELL cabai rawit quantity "
             "price. To stop these: send DEMAND OFF")


def at(chat: Conversation, day: int, hour: int, minute: int = 0) -> None:
    """Set the clock to 2026-11-(28+day) hour:minute UTC (WIB is UTC+7, WIT UTC+9)."""
    chat.now = datetime(2026, 11, 28, hour, minute, tzinfo=utcnow().tzinfo) + timedelta(days=day)


@pytest.fixture
def chat(tmp_path):
    chat = Conversation(tmp_path)
    with chat.db.conn:
        schedule.set_village_province(chat.db, "Wamena", "Papua")
    for phone, who, then in ((SITI, "Siti, Sukamaju", ("STOK C2 habis",)),   # sold out: C2 stays active
                             (ANI, "Ani, Sukamaju", ("HAPUS C3", "MINAT OFF")),
                             (DEWI, "Dewi, Wamena", ("HAPUS C4",)),
                             (EKO, "Eko, Cibodas", ()),
                             (OKI, "Oki, Cibodas", ("HAPUS C6", "BERHENTI"))):
        chat.send(phone, f"DAFTAR {who}")
        chat.send(phone, "JUAL cabai rawit 5kg 40rb")
        for text in then:
            chat.send(phone, text)
    chat.send(BUDI, "DAFTAR Budi, Cibodas")
    chat.send(BUDI, "LANGGAN cabe rawit")   # never sold it: a subscriber
    chat.send(TINI, "DAFTAR PEMBELI Warung Bu Tini, Bandung")
    chat.notices()
    return chat


def search(chat: Conversation, times: int, text: str = "CARI rawit") -> None:
    for _ in range(times):
        assert chat.send(TINI, text).startswith("Jualan cabai rawit termurah: C5 Rp40.000/kg 5 kg Cibodas")


def swept(chat: Conversation) -> list[tuple[str, str]]:
    """What one sweep at the test's clock told people."""
    sweep(chat.db, chat.settings, None, now=chat.now)
    return chat.notices()


def test_buyers_searches_reach_past_sellers_once_a_week_outside_quiet_hours(chat):
    at(chat, 0, 2)                 # 09.00 WIB
    search(chat, 2)
    assert swept(chat) == []       # two searches: not yet worth a text
    at(chat, 0, 14, 30)            # 21.30 WIB, 23.30 WIT: quiet hours everywhere
    search(chat, 1)
    assert swept(chat) == []
    at(chat, 0, 22, 30)            # 05.30 WIB (quiet), 07.30 WIT: Papua's morning came first
    assert swept(chat) == [(DEWI, SIGNAL.format(n=3))]
    at(chat, 0, 23, 5)             # 06.05 WIB
    # Not Ani (MINAT OFF), Oki (BERHENTI), Eko (has stock), Dewi (told this week).
    assert swept(chat) == [(SITI, SIGNAL.format(n=3)), (BUDI, SIGNAL.format(n=3))]
    assert swept(chat) == []

    at(chat, 3, 3)                 # more searches in the same week: nobody twice
    search(chat, 4)
    assert swept(chat) == []
    chat.send(ANI, "MINAT ON")     # Ani wants them again: she has not been told this week
    assert swept(chat) == [(ANI, SIGNAL.format(n=7))]

    at(chat, 7, 23, 10)            # a week after Siti's and Budi's text (Dewi's was earlier)
    search(chat, 1)                # the last seven days: the 4 of day 3 and this one
    assert swept(chat) == [(SITI, SIGNAL.format(n=5)), (DEWI, SIGNAL.format(n=5)),
                           (BUDI, SIGNAL.format(n=5))]
    told = [row["contact_id"] for row in chat.db.query("SELECT contact_id FROM demand_notices")]
    assert len(told) == 7 and len(set(told)) == 4


def test_what_found_plenty_is_not_counted_and_unknown_names_only_reach_the_desk(chat):
    at(chat, 0, 3)
    for phone in ("+6281700000001", "+6281700000002"):  # three listings of cabai rawit now
        chat.send(phone, "DAFTAR Petani, Cikole")
        chat.send(phone, "JUAL rawit 3kg 41rb")
    search(chat, 5)
    for _ in range(4):
        assert chat.send(TINI, "CARI durian montong di Sukamaju") == (
            "Maaf, belum ada jualan durian montong di Sukamaju. Coba tanpa tempat: CARI durian montong")
    assert swept(chat) == []
    assert [(row["product"], row["area"], row["searches"], row["unmet"], row["by_text"])
            for row in demand.top_unmet(chat.db, chat.now)] == [("durian montong", "sukamaju", 4, 4, 4)]


def test_a_product_searched_in_english_is_told_in_the_sellers_language(chat):
    chat.send(SITI, "LANGUAGE en")
    at(chat, 0, 4)
    search(chat, 3, "SEARCH cabe rawit")
    assert swept(chat) == [(SITI, SIGNAL_EN.format(n=3)), (DEWI, SIGNAL.format(n=3)),
                           (BUDI, SIGNAL.format(n=3))]


def test_minat_off_and_on_in_indonesian_and_english(chat):
    chat.play([
        (SITI, "MINAT", "Kabar pembeli yang mencari barang: ketik MINAT OFF untuk berhenti, MINAT ON untuk "
                        "menerimanya lagi.", []),
        (SITI, "MINAT OFF", "Baik, kabar pembeli yang mencari barang tidak dikirim lagi. Mau lagi: ketik "
                            "MINAT ON", []),
        (SITI, "minat on", "Baik, Bapak/Ibu dikabari bila pembeli mencari barang yang pernah Bapak/Ibu jual, "
                           "paling banyak seminggu sekali. Berhenti: ketik MINAT OFF", []),
        (SITI, "BANTUAN MINAT", "MINAT OFF / MINAT ON - berhenti atau mulai lagi menerima kabar mingguan "
                                "bila pembeli mencari barang yang pernah Bapak/Ibu jual.", []),
        (TINI, "MINAT OFF", "Maaf, perintah MINAT belum tersedia untuk nomor ini. Ketik BANTUAN untuk "
                            "melihat daftar perintah.", []),
        (SITI, "LANGUAGE en", "OK, replies are now in English. Send LANGUAGE id for Bahasa Indonesia.", []),
        (SITI, "DEMAND", "News of buyers looking for goods: send DEMAND OFF to stop it, DEMAND ON to get it "
                         "again.", []),
        (SITI, "DEMAND OFF", "OK, you will no longer hear when buyers look for goods. To hear again: send "
                             "DEMAND ON", []),
        (SITI, "demand on", "OK, you will hear when buyers look for goods you sold before, at most once a "
                            "week. To stop: DEMAND OFF", []),
    ])
    opted_out = dict(chat.db.execute("SELECT phone, demand_opt_out_at FROM contacts").fetchall())
    assert opted_out[SITI] is None and opted_out[ANI] is not None


def test_old_counts_are_dropped_by_the_sweep(chat):
    at(chat, 0, 3)
    search(chat, 1)
    at(chat, 7 * 8, 3)      # eight weeks later: still kept
    swept(chat)
    assert chat.db.execute("SELECT COUNT(*) FROM demand_searches").fetchone()[0] == 1
    at(chat, 7 * 8 + 1, 3)
    swept(chat)
    assert chat.db.execute("SELECT COUNT(*) FROM demand_searches").fetchone()[0] == 0


def test_many_sellers_are_told_in_several_short_transactions_each_once(chat, monkeypatch):
    """The texts are queued in batches (a week's first sweep at 100% tells ~25,000 sellers:
    one transaction would hold the write lock for seconds); a batch size of one still tells
    everyone exactly once, and the next sweep nobody."""
    from bot.pipeline import demand as demand_pipeline
    monkeypatch.setattr(demand_pipeline, "WRITE_BATCH", 1)
    at(chat, 0, 23, 5)             # 06.05 WIB, 08.05 WIT: nobody in quiet hours
    search(chat, 3)
    statements: list[str] = []
    chat.db.conn.set_trace_callback(statements.append)
    told_now = swept(chat)
    chat.db.conn.set_trace_callback(None)
    assert sorted(told_now) == sorted([(SITI, SIGNAL.format(n=3)), (DEWI, SIGNAL.format(n=3)),
                                       (BUDI, SIGNAL.format(n=3))])
    # Every notice is committed before the next one is written.
    def kind(statement: str) -> str | None:
        word = statement.split()[0].upper()
        if word == "COMMIT" or (word == "INSERT" and "demand_notices" in statement):
            return word
        return None
    writes = [word for word in map(kind, statements) if word]
    notices = [i for i, word in enumerate(writes) if word == "INSERT"]
    assert len(notices) == 3
    assert all("COMMIT" in writes[a:b] for a, b in zip(notices, notices[1:], strict=False))
    assert swept(chat) == []
    told = [row["contact_id"] for row in chat.db.query("SELECT contact_id FROM demand_notices")]
    assert len(told) == len(set(told)) == 3
