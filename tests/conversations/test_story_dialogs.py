"""Dialog tables for CERITA / STORY (issue 17) in id and en: a listing's story and the
seller's own, the questions when the text or the code's text is missing, what is taken
out of a public story, and stories that arrive in several SMS."""

from __future__ import annotations

import pytest

from bot.services import stories
from tests.dialogs import BUDI, SITI, Conversation, in_english, siti_and_budi

SAVED_C2 = ("Cerita untuk jualan C2 tersimpan ({n} huruf) dan tampil di toko online. Untuk "
            "menggantinya, ketik CERITA lagi.")
SAVED_PROFILE = ("Cerita untuk profil Bapak/Ibu tersimpan ({n} huruf) dan tampil di toko online. "
                 "Untuk menggantinya, ketik CERITA lagi.")
SAVED_C2_EN = ("Story for listing C2 saved ({n} characters), shown on the online shop. To replace "
               "it, type STORY again.")


@pytest.fixture
def chat(tmp_path):
    conversation = siti_and_budi(tmp_path, budi_village="Sukamaju")
    conversation.send(SITI, "JUAL cabai 50kg 12rb")  # C2
    return conversation


def story(chat, listing_code: str | None = None) -> dict | None:
    row = chat.db.execute("SELECT id FROM listings WHERE code = ?", [listing_code]).fetchone()
    seller = chat.db.execute("SELECT id FROM contacts WHERE phone = ?", [SITI]).fetchone()[0]
    return stories.story_of(chat.db, seller, row[0] if row else None)


def test_story_for_a_listing_in_one_message(chat):
    chat.play([(SITI, "CERITA C2 Cabai dipetik pagi dari kebun sendiri di lereng gunung.",
                SAVED_C2.format(n=55))])
    assert story(chat, "C2")["text"] == "Cabai dipetik pagi dari kebun sendiri di lereng gunung."


def test_story_for_the_seller_and_one_that_replaces_it(chat):
    chat.play([
        (SITI, "CERITA Saya bertani cabai sejak 1998 bersama suami.", SAVED_PROFILE.format(n=44)),
        (SITI, "CERITA Kami petani organik.", SAVED_PROFILE.format(n=20)),
    ])
    assert story(chat)["text"] == "Kami petani organik."


def test_missing_text_is_asked_for_a_listing_and_for_anything(chat):
    chat.play([
        (SITI, "CERITA C2", "Ceritakan cabai C2: dari mana, bagaimana ditanam atau dibuat. Balas "
                            "ceritanya, atau BATAL."),
        (SITI, "Ditanam tanpa pestisida.", SAVED_C2.format(n=24)),
        (SITI, "CERITA", "Ceritakan asal-usul produk atau cara membuatnya. Balas ceritanya; untuk "
                         "satu jualan, awali dengan kodenya. Contoh: C3 Cabai dipetik pagi"),
        (SITI, "c2 Dipetik saat merah penuh.", SAVED_C2.format(n=25)),
        (SITI, "CERITA", "Ceritakan asal-usul produk atau cara membuatnya. Balas ceritanya; untuk "
                         "satu jualan, awali dengan kodenya. Contoh: C3 Cabai dipetik pagi"),
        (SITI, "Saya ibu tani dari Sukamaju.", SAVED_PROFILE.format(n=28)),
        (SITI, "CERITA C2", "Ceritakan cabai C2: dari mana, bagaimana ditanam atau dibuat. Balas "
                            "ceritanya, atau BATAL."),
        (SITI, "BATAL", "Baik, dibatalkan. Ketik BANTUAN untuk melihat daftar perintah."),
    ])
    assert story(chat, "C2")["text"] == "Dipetik saat merah penuh."


def test_phone_numbers_links_and_email_are_not_published_and_the_seller_is_told(chat):
    chat.play([
        (SITI, "CERITA C2 Cabai segar. Hubungi WA 0812-3456-7890 atau +62 857 1111 2222",
         "Cerita untuk jualan C2 tersimpan (28 huruf), tanpa nomor telepon: itu tidak "
         "ditampilkan di toko demi keamanan."),
        (SITI, "CERITA Toko kami di tokositi.com, wa.me/6281234567890, siti@desa.id, telp "
               "(0231) 555-1234 ya",
         "Cerita untuk profil Bapak/Ibu tersimpan (21 huruf), tanpa nomor telepon, tautan dan "
         "e-mail: itu tidak ditampilkan di toko demi keamanan."),
        (SITI, "CERITA C2 https://bit.ly/cabai 08123456789",
         "Cerita itu hanya berisi nomor, tautan atau e-mail, yang tidak ditampilkan di toko. "
         "Tidak ada yang disimpan."),
    ])
    assert story(chat, "C2")["text"] == "Cabai segar. Hubungi WA atau"
    assert story(chat)["removed"] == "phone,link,email"
    assert "tokositi" not in story(chat)["text"] and "@" not in story(chat)["text"]


def test_codes_that_are_not_the_sellers(chat):
    chat.play([
        (BUDI, "CERITA C2 Cabai saya",
         "Maaf, jualan C2 bukan milik Bapak/Ibu, jadi tidak bisa diubah. Ketik STOK untuk melihat "
         "kode jualan Bapak/Ibu."),
        (SITI, "CERITA C9", "Maaf, kode C9 tidak ditemukan. Ketik STOK untuk melihat kode jualan "
                            "Bapak/Ibu."),
        # a first word shaped like a code that is no listing (a rice variety): asked
        (SITI, "CERITA IR64 kami tanam di sawah tadah hujan",
         "Tidak ada jualan Bapak/Ibu berkode IR64. Simpan semuanya sebagai cerita profil "
         "Bapak/Ibu? Balas YA atau TIDAK."),
        (SITI, "YA", SAVED_PROFILE.format(n=36)),
        (SITI, "CERITA B7 beras", "Tidak ada jualan Bapak/Ibu berkode B7. Simpan semuanya sebagai "
                                  "cerita profil Bapak/Ibu? Balas YA atau TIDAK."),
        (SITI, "TIDAK", "Baik, cerita tidak disimpan. Untuk satu jualan: CERITA kode teks."),
    ])
    assert story(chat)["text"] == "IR64 kami tanam di sawah tadah hujan"


def test_a_further_text_is_asked_about_before_it_joins_the_story(chat):
    chat.play([
        (SITI, "CERITA C2 Cabai dipetik pagi.", SAVED_C2.format(n=19)),
        (SITI, "Airnya dari mata air gunung.",
         'Tambahkan "Airnya dari mata air gunung." ke cerita jualan C2? Balas YA atau TIDAK.'),
        (SITI, "YA", "Lanjutan digabung. Cerita untuk jualan C2 sekarang 48 huruf."),
        (SITI, "terima kasih", 'Tambahkan "terima kasih" ke cerita jualan C2? Balas YA atau TIDAK.'),
        (SITI, "TIDAK", "Baik, teks itu tidak ditambahkan ke cerita."),
    ])
    assert story(chat, "C2")["text"] == "Cabai dipetik pagi. Airnya dari mata air gunung."
    chat.advance(minutes=11)
    chat.play([(SITI, "halo", "Maaf, pesan Bapak/Ibu tidak dimengerti. Ketik BANTUAN untuk "
                              "melihat daftar perintah.")])


def test_a_long_sms_that_arrived_in_parts_is_joined_and_cleaned_as_a_whole(chat):
    # The phone cut a long CERITA at 153 characters (one full segment of a concatenated
    # SMS) mid-word; the next part joins straight on, unasked, even though it starts
    # with a keyword, and the number cut across the two parts is caught in the whole.
    first = ("CERITA C2 Cabai kami tumbuh di lereng Gunung Ciremai, lalu disiram air pegunungan dan "
             "dipetik pagi oleh ibu tani desa Sukamaju sejak dulu. Pesan: 0812 34")
    assert len(first) == 153
    chat.send(SITI, first)
    chat.play([(SITI, "56 7890 jual di pasar Kamis.",
                "Cerita untuk jualan C2 tersimpan (156 huruf), tanpa nomor telepon: itu tidak "
                "ditampilkan di toko demi keamanan.")])
    text = story(chat, "C2")["text"]
    assert text.endswith("sejak dulu. Pesan: jual di pasar Kamis.") and "7890" not in text


def test_story_dialogs_in_english(chat):
    in_english(chat)
    chat.play([
        (SITI, "STORY C2", "Tell the story of cabai C2: where it comes from, how it is grown or "
                           "made. Reply with the story, or CANCEL."),
        (SITI, "Picked at dawn.", SAVED_C2_EN.format(n=15)),
        (SITI, "Grown without pesticides.",
         'Add "Grown without pesticides." to the story for listing C2? Reply YES or NO.'),
        (SITI, "YES", "Continuation joined. The story for listing C2 now has 41 characters."),
        (SITI, "STORY Mail me at siti@desa.id",
         "Story for your profile saved (10 characters), without e-mail addresses: the shop never "
         "shows those, for safety."),
        (SITI, "STORY", "Tell where your produce comes from or how it is made. Reply with the "
                        "story; for one listing, start with its code. Example: C3 Picked at dawn"),
        (SITI, "CANCEL", "OK, cancelled. Send HELP to see the list of commands."),
        (SITI, "STORY IR64 grown in rain-fed fields",
         "You have no listing with code IR64. Save it all as the story of your profile? Reply YES "
         "or NO."),
        (SITI, "NO", "OK, the story was not saved. For one listing: STORY code text."),
        (SITI, "HELP STORY", "STORY code text: a story for one listing (origin, how it is made). "
                             "STORY text: a story about you. Shown on the online shop, never your "
                             "number."),
        (BUDI, "STORY C2 mine", "Sorry, listing C2 is not yours, so you cannot change it. Send "
                                "STOCK to see your listing codes."),
    ])


def test_too_long_is_refused_and_the_story_kept(chat):
    chat.send(SITI, "CERITA C2 Cabai dipetik pagi.")
    long = "Cabai " * 120
    chat.play([(SITI, f"CERITA C2 {long}", "Cerita terlalu panjang (719 huruf, paling banyak 640). Mohon "
                                           "ketik yang lebih singkat. Contoh: CERITA C3 teks.")])
    assert story(chat, "C2")["text"] == "Cabai dipetik pagi."


def test_buyers_and_strangers_cannot_tell_stories(tmp_path):
    chat = Conversation(tmp_path)
    chat.send(BUDI, "DAFTAR PEMBELI Warung Budi, Bandung")
    chat.send(SITI, "CERITA Saya petani")
    chat.send(BUDI, "CERITA Warung kami")
    assert chat.db.execute("SELECT COUNT(*) FROM stories").fetchone()[0] == 0


def test_a_story_a_coordinator_hid_stays_hidden_when_the_seller_sends_another(chat):
    chat.send(SITI, "CERITA C2 Cabai dipetik pagi.")
    stories.set_hidden(chat.db, story(chat, "C2")["id"], True, chat.now, "+6281100000002", None)
    chat.play([(SITI, "CERITA C2 Cabai merah segar.",
                "Cerita untuk jualan C2 tersimpan (18 huruf), tetapi masih disembunyikan koordinator. "
                "Tanyakan koordinator untuk menampilkannya.")])
    assert (story(chat, "C2")["text"], story(chat, "C2")["status"]) == ("Cabai merah segar.", "hidden")


def _photo(chat, n: int) -> dict:
    """A Twilio payload of a photo sent alone (no caption)."""
    return {"NumMedia": "1", "MediaUrl0": f"https://api.twilio.com/media/ME{n}",
            "MediaContentType0": "image/jpeg"}


def _photos_of(chat) -> list[tuple]:
    return chat.db.execute("SELECT listing_id, story_id FROM media ORDER BY id").fetchall()


def test_a_photo_sent_alone_during_the_dialog_is_kept_with_the_story(chat):
    """DECISIONS 341, in id: before the text (held), after it (joins that story)."""
    assert chat.send(SITI, "CERITA").startswith("Ceritakan asal-usul")
    assert chat.send(SITI, "", _photo(chat, 1)) == (
        "Foto diterima. Sekarang mohon balas dengan ceritanya; untuk satu jualan, awali dengan kodenya. "
        "Contoh: C3 Cabai dipetik pagi")
    assert chat.send(SITI, "C2 Cabai dipetik pagi.") == SAVED_C2.format(n=19)
    assert chat.send(SITI, "", _photo(chat, 2)) == (
        "Foto ditambahkan ke cerita jualan C2 dan akan tampil di toko online setelah dipasang.")
    listing = chat.db.execute("SELECT id FROM listings WHERE code = 'C2'").fetchone()[0]
    assert _photos_of(chat) == [(listing, None), (listing, None)]
    chat.play([
        (SITI, "CERITA", "Ceritakan asal-usul produk atau cara membuatnya. Balas ceritanya; untuk "
                         "satu jualan, awali dengan kodenya. Contoh: C3 Cabai dipetik pagi"),
        (SITI, "Saya ibu tani dari Sukamaju.", SAVED_PROFILE.format(n=28)),
    ])
    assert chat.send(SITI, "", _photo(chat, 3)) == (
        "Foto ditambahkan ke cerita profil Bapak/Ibu dan akan tampil di toko online setelah dipasang.")
    assert _photos_of(chat)[-1] == (None, story(chat)["id"])


def test_a_photo_sent_alone_in_english(chat):
    in_english(chat)
    assert chat.send(SITI, "STORY C2").startswith("Tell the story of")
    assert chat.send(SITI, "", _photo(chat, 1)) == (
        "Photo received for the story of listing C2. Now please reply with the story itself, or CANCEL.")
    assert chat.send(SITI, "Picked at dawn.") == SAVED_C2_EN.format(n=15)
    assert chat.send(SITI, "", _photo(chat, 2)) == (
        "Photo added to the story of listing C2; it will show on the online shop once it is ready.")
    listing = chat.db.execute("SELECT id FROM listings WHERE code = 'C2'").fetchone()[0]
    assert _photos_of(chat) == [(listing, None), (listing, None)]
