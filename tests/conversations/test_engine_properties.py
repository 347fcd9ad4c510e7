"""Property: whatever anyone texts, they get exactly one reply, and an SMS reply fits one
GSM-7 segment (with the brand prefix). Never an exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.replies import BRAND_PREFIX, SMS_LIMIT
from tests.conversations.test_reply_catalog import gsm_septets
from tests.dialogs import Conversation

_workdir = Path(tempfile.mkdtemp(prefix="jembatan-props-"))
_chat = Conversation(_workdir)

KEYWORDS = ["DAFTAR", "BANTUAN", "BATAL", "BAHASA en", "BAHASA id", "BERHENTI", "MULAI", "JUAL",
            "STOK", "HARGA", "YA", "TARIK", "PESAN", "SIARAN", "daftar siti, sukamaju", "help",
            "DAFTAR PEMBELI", "daftar pembeli warung tini, bandung", "CARI", "PESAN C2", "TIDAK",
            "KIRIM", "TERIMA", "STATUS", "BATAL P2", "JUAL cabai 50kg 12rb"]

texts = st.one_of(
    st.text(max_size=2000),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.builds(lambda k, rest: f"{k} {rest}", st.sampled_from(KEYWORDS), st.text(max_size=80)),
    st.sampled_from(["", " ", "\x00", "\u200b", "\ufeff", "😀" * 50, "a" * 2000, "\r\n\t"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phone=st.sampled_from(["+6281234567890", "+6285711112222", "+6281399998888"]), text=texts)
def test_any_text_gets_exactly_one_sms_safe_reply(phone, text):
    reply = _chat.send(phone, text)  # asserts exactly one reply row
    assert reply
    assert gsm_septets(BRAND_PREFIX + reply) <= SMS_LIMIT
