"""The dialog-table runner itself (tests/dialogs.py): three and four columns, placeholders,
and that each kind of mistake in a table fails."""

from __future__ import annotations

import pytest

from tests.dialogs import SITI, Conversation
from tests.money import make_coordinator, ready

COORDINATOR = "+6281377778888"
ASK = "Tarik Rp500.000 ke DANA 0812...7890? Balas dengan PIN Bapak/Ibu untuk lanjut, atau BATAL."
DONE = ("Penarikan Rp500.000 ke DANA 0812...7890 sedang diproses, kode {code}. Kami kabari bila uangnya "
        "sudah ditransfer.")
TOLD = ("Penarikan baru {code}: Rp500.000 ke DANA 081234567890 a.n. Siti Aminah. Setelah dibayar, "
        "balas BAYAR {code}")


@pytest.fixture
def chat(tmp_path):
    """Siti with money, an account and a PIN, and a coordinator to be told of withdrawals."""
    chat = ready(Conversation(tmp_path))
    make_coordinator(chat.db, COORDINATOR, chat.now)
    chat.notices()
    return chat


def test_a_placeholder_binds_a_code_and_means_it_afterwards(chat):
    bound = chat.play([
        (SITI, "TARIK 500rb", ASK, []),
        (SITI, "2580", DONE, [(COORDINATOR, TOLD)]),
        (COORDINATOR, "BAYAR {code}", "Catat {code} Rp500.000 ke DANA 081234567890 a.n. Siti Aminah "
                                      "sudah dibayar? Balas YA untuk mencatat, atau BATAL.", []),
    ])
    (payout,) = chat.db.query("SELECT code FROM payouts")
    assert bound == {"code": payout["code"]}


def test_three_columns_leave_the_notices_for_later(chat):
    chat.play([(SITI, "TARIK 500rb", ASK), (SITI, "2580", DONE)])
    assert [phone for phone, _ in chat.notices()] == [COORDINATOR]


@pytest.mark.parametrize("table", [
    pytest.param([(SITI, "TARIK 500rb", ASK), (SITI, "2580", DONE, [])], id="a notice not in the table"),
    pytest.param([(SITI, "TARIK 500rb", ASK, [(COORDINATOR, TOLD)])], id="a notice that was not sent"),
    pytest.param([(SITI, "TARIK 500rb", ASK), (SITI, "2580", DONE, [(SITI, TOLD)])], id="the wrong person"),
    pytest.param([(SITI, "TARIK 500rb", ASK), (SITI, "2580", DONE.replace("{code}", "T0000"))],
                 id="a code that is not the one shown"),
    pytest.param([(SITI, "TARIK 500rb", ASK),
                  (SITI, "2580", DONE, [(COORDINATOR, TOLD.replace("BAYAR {code}", "BAYAR {other}x"))])],
                 id="text after a placeholder differs"),
    pytest.param([(COORDINATOR, "BAYAR {code}", "")], id="a placeholder used before it is shown"),
])
def test_a_wrong_table_fails(chat, table):
    with pytest.raises(AssertionError):
        chat.play(table)
