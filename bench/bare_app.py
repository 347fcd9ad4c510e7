"""The baseline for bench/webhook.py: a bare Flask endpoint answering the same TwiML."""

from flask import Flask, Response

REPLY = ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Perintah: DAFTAR nama, desa '
         '(daftar sebagai penjual); BAHASA en (English); BERHENTI (stop siaran); BATAL. Contoh: '
         'BANTUAN DAFTAR</Message></Response>')

app = Flask(__name__)


@app.post("/twilio/messages")
def messages():
    return Response(REPLY, mimetype="text/xml")
