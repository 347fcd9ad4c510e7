"""Why a message was not delivered, in a coordinator's words (DECISIONS 491).

The outbox keeps the provider's code (`30005`, `not_configured`, `http_503`); the desk
shows what it means and what to do, with the code beside it in small type for whoever
operates the hub. Every code of PROVIDERS.md's classification, and every code our own
adapters raise, has its words; any other gets a generic phrase that names it.
"""

from __future__ import annotations

from bot.web.dashboard.blueprint import bp
from bot.web.dashboard.common import N_, gettext

#: Provider and adapter codes -> words (Indonesian, translated in the desk catalog).
FAILURE_WORDS = {
    # Twilio, permanent (bot.channels.twilio_common.PERMANENT_TWILIO_CODES)
    "21211": N_("nomor tujuan tidak sah"),
    "21610": N_("penerima sudah minta berhenti (STOP)"),
    "21614": N_("bukan nomor HP (telepon rumah)"),
    "21635": N_("bukan nomor HP (telepon rumah)"),
    "30005": N_("nomor tidak dikenal operator"),
    "30006": N_("telepon rumah, atau operator tidak bisa dijangkau"),
    "30007": N_("ditahan penyaring operator: ubah teksnya"),
    "63014": N_("penerima memblokir kita di WhatsApp"),
    "63016": N_("lewat 24 jam WhatsApp dan tidak ada templat"),
    "63021": N_("isi pesan ditolak WhatsApp"),
    # Twilio, retryable: shown once the tries ran out
    "20429": N_("terlalu banyak kiriman sekaligus ke Twilio"),
    "30001": N_("antrean Twilio penuh"),
    "30003": N_("HP penerima mati atau di luar jangkauan"),
    "30008": N_("gagal tanpa alasan dari operator"),
    "63018": N_("batas kecepatan WhatsApp"),
    # our adapters (bot.channels)
    "not_configured": N_("pengirim belum disiapkan (pengaturan kosong)"),
    "network": N_("tidak tersambung ke penyedia"),
    "unknown_outcome": N_("tidak pasti terkirim: jawaban penyedia hilang"),
    "lookup": N_("gagal memeriksa kiriman di penyedia"),
    "not_a_phone": N_("alamat ini bukan nomor HP (ID WhatsApp)"),
    "unknown_channel": N_("saluran tidak dikenal"),
    "sim_daily_limit": N_("batas SMS harian SIM hub tercapai"),
}
#: Where a message went, in words.
CHANNEL_WORDS = {
    "android_sms": N_("SMS lewat HP hub"),
    "twilio_sms": N_("SMS lewat Twilio"),
    "twilio_whatsapp": N_("WhatsApp"),
    "simulator": N_("simulator"),
}


@bp.app_template_filter("failure_words")
def failure_words(code: str | None) -> str:
    """`30005` -> "nomor tidak dikenal operator"; an HTTP status by its class; any other
    code a generic phrase naming it."""
    if not code:
        return gettext("gagal tanpa keterangan")
    if code in FAILURE_WORDS:
        return gettext(FAILURE_WORDS[code])
    status = code.removeprefix("http_")
    if code.startswith("http_") and status.isdigit():
        if status == "429" or status.startswith("5"):
            return gettext("penyedia sedang sibuk atau bermasalah (HTTP {status})", status=status)
        return gettext("penyedia menolak kiriman (HTTP {status})", status=status)
    return gettext("gagal terkirim (kode {code})", code=code)


@bp.app_template_filter("channel_words")
def channel_words(channel: str | None) -> str:
    return gettext(CHANNEL_WORDS[channel]) if channel in CHANNEL_WORDS else (channel or "-")
