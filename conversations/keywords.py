"""Command keywords and the small vocabulary the parser needs, per language, as data.

``KEYWORDS[language]`` maps a keyword (upper case, as shown to people) to the canonical
English command name. Every keyword of every language is accepted whatever the user's
reply language is; the language only decides which keyword we *show*
(:func:`keyword_for`). The first keyword listed for a command in a language is the one
shown; later ones are aliases.

Two commands have no keyword of their own and are reached through another one
(:data:`DERIVED_COMMANDS`): ``cancel_order`` is ``BATAL`` with an order code, and
``publish_price`` is ``HARGA`` with an amount.

Aliases beyond the design table (decisions): ``UNREG`` (the customary opt-out word of
Indonesian SMS services) for stop, ``IYA`` for YA, ``TDK`` for TIDAK, ``REKENING`` for
REK, ``RECEIVE`` for RECEIVED; ``LAPORAN KEU``, ``LAP KEUANGAN``, ``LAP KEU`` and
``LAPKEU`` (the usual short forms of *laporan keuangan*) for LAPORAN KEUANGAN.
"""

from __future__ import annotations

__all__ = [
    "COMMANDS",
    "DERIVED_COMMANDS",
    "KEYWORDS",
    "KEYWORDS_BY_COMMAND",
    "LANGUAGES",
    "keyword_for",
]

KEYWORDS: dict[str, dict[str, str]] = {
    "id": {
        "DAFTAR": "register",
        "DAFTAR PEMBELI": "register_buyer",
        "BANTUAN": "help",
        "BATAL": "cancel",
        "BAHASA": "language",
        "BERHENTI": "stop",
        "UNREG": "stop",
        "MULAI": "start",
        "JUAL": "sell",
        "STOK": "stock",
        "HAPUS": "delete",
        "HARGA": "price",
        "LANGGAN": "subscribe",
        "YA": "accept",
        "IYA": "accept",
        "TIDAK": "decline",
        "TDK": "decline",
        "KIRIM": "ship",
        "SALDO": "balance",
        "REK": "account",
        "REKENING": "account",
        "TARIK": "withdraw",
        "PIN": "pin",
        "CARI": "search",
        "PESAN": "order",
        "TERIMA": "receive",
        "STATUS": "status",
        "SIARAN": "broadcast",
        "SIARAN STATUS": "broadcast_status",
        "BAYAR": "pay",
        "LUNAS": "record_payment",
        "LAGI": "more",
        "LANJUT": "more",
        "MINAT": "demand",
        "LAPORAN": "report",
        "LAPORAN KEUANGAN": "statement",
        "LAPORAN KEU": "statement",
        "LAP KEUANGAN": "statement",
        "LAP KEU": "statement",
        "LAPKEU": "statement",
        "LAPORAN MINGGUAN": "weekly_report",
        "CERITA": "story",
    },
    "en": {
        "REGISTER": "register",
        "REGISTER BUYER": "register_buyer",
        "HELP": "help",
        "CANCEL": "cancel",
        "LANGUAGE": "language",
        "STOP": "stop",
        "UNSUBSCRIBE": "stop",
        "START": "start",
        "SELL": "sell",
        "STOCK": "stock",
        "DELETE": "delete",
        "PRICE": "price",
        "SUBSCRIBE": "subscribe",
        "YES": "accept",
        "NO": "decline",
        "SHIP": "ship",
        "BALANCE": "balance",
        "ACCOUNT": "account",
        "WITHDRAW": "withdraw",
        "PIN": "pin",
        "SEARCH": "search",
        "ORDER": "order",
        "RECEIVED": "receive",
        "RECEIVE": "receive",
        "STATUS": "status",
        "BROADCAST": "broadcast",
        "BROADCAST STATUS": "broadcast_status",
        "PAY": "pay",
        "PAID": "record_payment",
        "MORE": "more",
        "NEXT": "more",
        "DEMAND": "demand",
        "REPORT": "report",
        "STATEMENT": "statement",
        "FINANCIAL STATEMENT": "statement",
        "WEEKLY REPORT": "weekly_report",
        "REPORT WEEKLY": "weekly_report",
        "STORY": "story",
    },
}

LANGUAGES: tuple[str, ...] = tuple(KEYWORDS)
DEFAULT_LANGUAGE = "id"

# command reached through another command's keyword -> that command
DERIVED_COMMANDS: dict[str, str] = {"cancel_order": "cancel", "publish_price": "price"}


def _by_command() -> dict[str, dict[str, tuple[str, ...]]]:
    table: dict[str, dict[str, list[str]]] = {}
    for language, keywords in KEYWORDS.items():
        for keyword, command in keywords.items():
            table.setdefault(command, {lang: [] for lang in KEYWORDS})[language].append(keyword)
    for derived, base in DERIVED_COMMANDS.items():
        table[derived] = table[base]
    return {
        command: {lang: tuple(words) for lang, words in per_lang.items()}
        for command, per_lang in table.items()
    }


#: command -> language -> keywords (display keyword first), e.g.
#: ``KEYWORDS_BY_COMMAND["sell"] == {"id": ("JUAL",), "en": ("SELL",)}``.
KEYWORDS_BY_COMMAND: dict[str, dict[str, tuple[str, ...]]] = _by_command()

#: Every command :func:`conversations.parse.parse` can return, besides
#: ``"unknown"`` and ``"empty"``.
COMMANDS: tuple[str, ...] = tuple(KEYWORDS_BY_COMMAND)


def keyword_for(command: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The keyword to show for ``command`` in ``language``: ``("sell", "en")`` -> ``"SELL"``.

    ``language`` may be a locale (``"en_US"``, ``"id-ID"``); an unsupported language
    falls back to Indonesian. An unknown command raises ``KeyError``.
    """
    per_language = KEYWORDS_BY_COMMAND[command]
    lang = language[:2].lower() if language else DEFAULT_LANGUAGE
    words = per_language.get(lang) or per_language[DEFAULT_LANGUAGE]
    return words[0]


# --- vocabulary used inside arguments --------------------------------------------------

#: values accepted after BAHASA / LANGUAGE
LANGUAGE_NAMES: dict[str, str] = {
    **dict.fromkeys(("id", "ind", "indo", "indonesia", "indonesian"), "id"),
    **dict.fromkeys(("en", "eng", "english", "inggris"), "en"),
}

#: words after MINAT / DEMAND that turn the demand texts off or on (issue 17)
DEMAND_OFF_WORDS: frozenset[str] = frozenset({"off", "stop", "berhenti", "henti", "tidak", "tdk",
                                              "mati", "no"})
DEMAND_ON_WORDS: frozenset[str] = frozenset({"on", "mulai", "ya", "iya", "nyala", "hidup", "start",
                                             "yes"})

#: words after TARIK / WITHDRAW that mean "everything"
ALL_WORDS: frozenset[str] = frozenset({"semua", "semuanya", "seluruh", "seluruhnya", "all",
                                       "smua", "smuanya", "semuax", "semua2", "semuaa", "full"})
#: words before the amount of TARIK that say what is withdrawn: "TARIK SALDO SEMUA"
WITHDRAW_FILLERS: frozenset[str] = frozenset({"saldo", "saldonya", "uang", "uangnya", "dana",
                                              "duit", "duitnya"})

#: first-two-word phrases that start with a keyword but are not commands
#: ("Terima kasih" is "thank you", "no rek" is "account number")
NOT_COMMANDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("terima", "kasih"),
        ("terima", "kasi"),
        ("terima", "kasihh"),
        ("trima", "kasih"),
        ("trima", "kasi"),
        ("no", "rek"),
        ("no", "rekening"),
        ("no", "hp"),
        ("no", "telp"),
        ("no", "telepon"),
        ("no", "wa"),
    }
)

#: words allowed between the two words of a two-word keyword: "DAFTAR sebagai PEMBELI"
KEYWORD_CONNECTORS: frozenset[str] = frozenset({"sebagai", "sbg", "sbgai", "jadi", "as", "a"})

#: Indonesian suffixes that turn a keyword into an ordinary word ("batalkan",
#: "harganya"): such a first word gets a suggestion, never an action
KEYWORD_SUFFIXES: tuple[str, ...] = ("nya", "kan", "lah", "an", "in")

#: words that obviously mean a command without being a keyword: suggestion only
#: ("dodol"/"adol" is Javanese for "sell", and dodol is also a sweet people sell)
SYNONYM_SUGGESTIONS: dict[str, str] = {
    "beli": "order", "buy": "order", "jualan": "sell", "dodol": "sell", "adol": "sell",
    "didol": "sell", "cairkan": "withdraw", "pencairan": "withdraw",
    # WhatsApp selling posts: "Ready cabai 10kg 40rb" (DECISIONS 388)
    "ready": "sell", "redi": "sell", "tersedia": "sell", "menjual": "sell",
    # a buyer's "butuh cabai 1 ton" (need): perhaps CARI; suggested (DECISIONS 413)
    "butuh": "search",
}

#: inflected keywords read as the keyword itself: "langganan cabai", "batalkan"
INFLECTED_KEYWORDS: dict[str, str] = {
    "langganan": "subscribe", "berlangganan": "subscribe", "batalkan": "cancel",
    "batalin": "cancel", "carikan": "search", "cariin": "search", "hapuskan": "delete",
    "hapusin": "delete",
}

#: short forms people type for a keyword, read as the keyword itself (DECISIONS 379): the
#: ones that act need their code (HAPUS, KIRIM, TERIMA, BAYAR) or an amount (STOK, PESAN)
SHORT_KEYWORDS: dict[str, str] = {
    "hps": "delete", "krm": "ship", "psn": "order", "pesen": "order", "trima": "receive",
    "byr": "pay", "stk": "stock", "trm": "receive", "pesanan": "status",
    "selanjutnya": "more", "berikutnya": "more",
}

#: a first word read as the keyword: inflected or short
READ_AS_KEYWORD: dict[str, str] = {**INFLECTED_KEYWORDS, **SHORT_KEYWORDS}

#: yes/no words acted on only together with an order code ("y P7", "gak P12", "tolak
#: P12"); alone they are read as before (DECISIONS 380)
CODE_ANSWERS: dict[str, str] = {
    "y": "accept",
    **dict.fromkeys(("gak", "ga", "gk", "nggak", "ngga", "enggak", "ndak", "nda", "tolak",
                     "ditolak", "tak"), "decline"),
    # "dikirim P12", "sdh dikirim P12": shipped (DECISIONS 394). Never "diterima", which a
    # seller may mean as accepted and a buyer as received.
    **dict.fromkeys(("dikirim", "dikirimkan", "terkirim"), "ship"),
}
#: chat words that with an order code only get a suggestion ("ok P7": YA P7?), since
#: "ok P7 saya cek dulu" is no decision (DECISIONS 380)
CODE_SUGGESTIONS: dict[str, str] = dict.fromkeys(
    # "bisa P12" (can do P12; or a buyer's "is P12 possible?"): a suggestion (DECISIONS 411)
    ("ok", "oke", "okay", "okey", "siap", "sip", "bisa", "bs"), "accept")

#: "sudah kirim P12", "sdh terima P12": done already, i.e. KIRIM / TERIMA, with the code only
PAST_LEADS: frozenset[str] = frozenset({"sudah", "sdh", "udah", "udh", "dah", "telah"})
PAST_LEAD_COMMANDS: frozenset[str] = frozenset({"ship", "receive"})

#: two-word phrases that are a command: "gak jadi" (never mind) is BATAL
PHRASE_COMMANDS: dict[tuple[str, str], str] = {
    **{(no, "jadi"): "cancel" for no in ("tidak", "tdk", "gak", "ga", "gk", "nggak", "ngga",
                                          "enggak", "ndak", "nda", "ora", "teu", "hente")},
    ("ora", "sido"): "cancel",
    ("ra", "sido"): "cancel",
    ("gak", "sido"): "cancel",
    ("teu", "tulus"): "cancel",
}

#: regional yes/no (Javanese, Sundanese): acted on only with an order code ("nggih P7");
#: alone they get a suggestion, since "nggih" may just be "okay"
REGIONAL_ANSWERS: dict[str, str] = {
    **dict.fromkeys(("nggih", "inggih", "enggih", "njih", "injih", "muhun", "iyo", "yo"), "accept"),
    **dict.fromkeys(("mboten", "ora", "henteu", "teu", "moal"), "decline"),
}

#: words people put before the keyword ("saya mau JUAL ...", "tolong cek SALDO"): skipped
#: when a keyword follows (up to three of them)
LEAD_INS: frozenset[str] = frozenset(
    {"mau", "saya", "sy", "aku", "ak", "gw", "gue", "kami", "tolong", "tlg", "tolongin", "cek",
     "check", "brp", "berapa", "minta", "mohon", "ingin", "pengen", "pingin", "mo", "mw",
     "please", "pls", "i", "want", "to", "bisa", "bs", "pak", "bu", "kak", "mas", "mbak",
     "halo", "hallo", "hai", "permisi", "lihat", "liat", "info", "coba", "ok", "oke",
     # greetings before the command: "Assalamualaikum, JUAL ..." (DECISIONS 388)
     "assalamualaikum", "asalamualaikum", "assalamu'alaikum", "assalamu", "alaikum", "salam",
     "selamat", "pagi", "siang", "sore", "malam", "punten", "sugeng", "enjing", "permios",
     # "bade jual ...", "arep jual ...", "meh cari ...": Sundanese and Javanese "want" (394)
     "bade", "arep", "ape", "meh", "kepingin",
     # "sisa saldo": what is left, i.e. SALDO (394)
     "sisa"}
)

#: words that ask how to do something: "cara jual" is help for JUAL, never CARI
HELP_LEADS: frozenset[str] = frozenset({"cara", "caranya", "gimana", "bagaimana", "bgmn", "how"})
#: of those, the ones that alone ask for help ("cara?")
HELP_WORDS: frozenset[str] = frozenset({"cara", "caranya"})

#: words inside a JUAL message that belong to neither product nor numbers
SELL_FILLERS: frozenset[str] = frozenset(
    {"harga", "seharga", "rp", "idr", "@", "x", "per", "sebanyak", "jumlah", "total",
     "hrg", "hrga", "harganya", "sekilo", "sakilo", "perkilo", "sekilonya",
     "dengan", "price", "at", "qty", "-", "/", "="}
)

#: words that end a product name in HARGA / CARI / LANGGAN questions
#: ("harga cabai berapa?", "harga cabai sekarang")
QUESTION_FILLERS: frozenset[str] = frozenset(
    {"berapa", "brp", "brapa", "sekarang", "skrg", "skrang", "dong", "ya", "kak", "pak",
     "bu", "kah", "hari", "ini", "today", "now", "please", "tolong", "?", "-",
     # trailing thanks and chat fillers: "CARI cabai makasih"
     "makasih", "mksh", "mks", "terimakasih", "terima", "kasih", "trims", "tks", "thx",
     "thanks", "thank", "you", "nggih", "gan", "sis", "mas", "mbak", "bang", "lur", "yah"}
)

#: words that start a place (CARI) or market (HARGA) after a product: "cabai di Bandung"
PLACE_WORDS: frozenset[str] = frozenset({"di", "dekat", "sekitar", "daerah", "in", "near", "at"})

#: words after a published price that are no market: "HARGA cabai 45 ribu rupiah per kilo"
PUBLISH_PRICE_TAIL: frozenset[str] = frozenset({"rupiah", "idr", "rp", "sekilo", "perkilo", "/kg"})
#: words at the end of the product in HARGA that tell the price moved: "HARGA cabai naik 45rb"
PRICE_CHANGE_WORDS: frozenset[str] = frozenset(
    {"naik", "turun", "jadi", "menjadi", "baru", "terbaru", "update", "rata-rata", "rata2",
     "=", ":"})

#: words that start a market name and are part of it: "HARGA cabai Pasar Induk"
MARKET_WORDS: frozenset[str] = frozenset({"pasar", "market"})

#: words that separate name and village / business and city when there is no comma
REGISTER_SEPARATORS: frozenset[str] = frozenset({"dari", "desa", "from"})
REGISTER_BUYER_SEPARATORS: frozenset[str] = frozenset({"dari", "di", "kota", "from", "in"})

#: leading words dropped from a name in DAFTAR ("nama saya Siti" -> "Siti")
NAME_PREFIXES: frozenset[str] = frozenset({"nama", "saya", "namaku", "nama:", "aku", "sy", "name",
                                           "my", "is", "penjual", "seller", "sebagai", "sbg",
                                           "jadi"})
#: of those, the role words that are no name even alone ("DAFTAR penjual")
ROLE_WORDS: frozenset[str] = frozenset({"penjual", "seller", "sebagai", "sbg"})

#: leading words dropped from a village / city ("Desa Sukamaju" -> "Sukamaju")
PLACE_PREFIXES: frozenset[str] = frozenset({"desa", "ds", "kota", "kab", "kabupaten"})

#: leading words dropped from an account holder name ("a.n. Siti" -> "Siti")
ACCOUNT_NAME_PREFIXES: frozenset[str] = frozenset({"a.n", "a.n.", "an", "an.", "a/n", "atas"})

#: leading words dropped from LANGGAN / SUBSCRIBE ("LANGGAN harga cabai")
SUBSCRIBE_FILLERS: frozenset[str] = frozenset({"harga", "price", "prices", "info"})

#: answers after LAPORAN MINGGUAN / WEEKLY REPORT: on or off
WEEKLY_ON_WORDS: frozenset[str] = frozenset({"ya", "iya", "y", "yes", "mau", "aktif", "on", "ok", "oke"})
WEEKLY_OFF_WORDS: frozenset[str] = frozenset(
    {"tidak", "tdk", "gak", "ga", "nggak", "enggak", "no", "stop", "berhenti", "off", "nonaktif"})

#: words in `STOK kode ... N` that make N a change, not the new total
STOCK_ADD_WORDS: frozenset[str] = frozenset(
    {"tambah", "tambahkan", "tambahin", "nambah", "ditambah", "plus", "add", "+",
     # short and inflected forms from the blind field trial (DECISIONS 377)
     "tmbh", "tmbah", "tambh", "tbh", "nambahin", "ditambahkan", "bertambah", "masuk"})
STOCK_REMOVE_WORDS: frozenset[str] = frozenset(
    {"kurang", "kurangi", "kurangin", "dikurangi", "minus", "laku", "terjual", "keluar",
     "sold", "remove", "-",
     "krg", "krng", "kurng", "berkurang", "dikurang", "dikurangin", "kurangkan", "dijual"})
#: `tambah stok K5 20`: a change word before the STOK keyword (DECISIONS 381)
STOCK_CHANGE_LEADS: frozenset[str] = frozenset(
    w for w in STOCK_ADD_WORDS | STOCK_REMOVE_WORDS if w.isalpha() and w not in {"laku", "sold"})
STOCK_NOUNS: frozenset[str] = frozenset({"stok", "stock", "stoknya", "stoc"})
#: words that may stand between the code and the number of `STOK kode N` without changing
#: what N is; any other word there makes N unreadable and it is asked (DECISIONS 377)
STOCK_NEUTRAL_WORDS: frozenset[str] = frozenset(
    {"jadi", "jd", "menjadi", "=", ":", "stok", "stock", "ada", "skrg", "sekarang", "tersedia",
     "kode", "no", "nomor", "sudah", "sdh", "udah", "udh", "tolong", "mohon", "ya", "pak", "bu",
     "update", "ubah", "ganti", "diganti", "diubah", "dijadikan", "jadikan", "set", "total",
     "masih", "msh", "ready", "redi", "to", "is", "now"})
#: `STOK kode 20 lagi`: twenty more, or twenty left? Asked, unless `sisa`/`tinggal` says left
STOCK_MORE_WORDS: frozenset[str] = frozenset({"lagi", "more"})
STOCK_LEFT_WORDS: frozenset[str] = frozenset({"sisa", "tinggal", "tersisa", "left"})

#: words in JUAL that make the price one for everything ("2 ekor total 6jt")
SELL_TOTAL_WORDS: frozenset[str] = frozenset(
    {"total", "semua", "semuanya", "borong", "borongan", "sekaligus", "all",
     "tot", "ttl"})  # and "50kg = 600rb", "50kg jadi 600rb" (DECISIONS 386)
#: a word between the quantity and the price that makes the price the total
SELL_EQUALS_WORDS: frozenset[str] = frozenset({"=", "jadi", "jd", "menjadi"})

#: words right after a price that make it approximate ("40 ribuan", "40 an": around
#: forty thousand): the price is asked, the reading offered back (DECISIONS 376)
APPROXIMATE_PRICE_WORDS: dict[str, int] = {
    "an": 1, "an-an": 1, "ribuan": 1_000, "rbuan": 1_000, "rban": 1_000, "rbn": 1_000,
    "rebuan": 1_000, "jutaan": 1_000_000, "jtan": 1_000_000,
}

#: words right before a price that make it approximate ("sekitar 12rb", "kurang lebih
#: 12rb"): asked, the reading offered back (DECISIONS 376)
APPROXIMATE_BEFORE_PRICE: frozenset[str] = frozenset(
    {"sekitar", "kisaran", "kira", "kira-kira", "kira2", "kurleb", "+-", "±", "lebih", "kurang"})

#: `STOK kode habis`: nothing left
STOCK_SOLD_OUT_WORDS: frozenset[str] = frozenset({"habis", "kosong", "abis", "sold-out", "soldout"})
# ("sold out" in two words is read too; "sold 5" is five fewer)

