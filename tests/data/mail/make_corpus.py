#!/usr/bin/env python3
"""Generate the "ugly real-world e-mail" test corpus for mailrobot.

Run from anywhere:

    python3 tests/data/mail/make_corpus.py

It (re)writes every generated ``*.eml`` file next to this script and
``manifest.json`` (generated entries + the entries for the files copied from
public corpora into ``public/``, which this script does NOT touch).

Everything is deterministic: no clock, no randomness, only stdlib encoders
(base64, quopri, urllib.parse.quote) whose output is fixed by the RFCs.
Messages are written as byte strings.  Russian text is kept readable as
``str`` literals and turned into bytes with an explicit ``.encode(charset)``
at the place where the charset matters.  Header/body templates use ``\\n``
and are converted to CRLF (the default, as a message received over SMTP
looks) unless a case says ``eol=LF``.  Cases that need exact raw bytes
(bare CR, mixed endings, NUL, ...) build them explicitly.
"""

import base64
import json
import os
import quopri
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
CRLF = b"\r\n"
LF = b"\n"
TEAM = "mailrobot team"
TEAM_LICENCE = "same licence as the mailrobot repository (written for it)"

# --------------------------------------------------------------------------
# Customer texts (realistic, fictional people; all addresses are example.*)
# --------------------------------------------------------------------------

NO_POWER = """\
Здравствуйте!

С 8 утра нет электричества в доме по адресу: г. Тверь, ул. Ленина, д. 15, кв. 42.
Соседи по подъезду тоже без света. Лицевой счёт 1234567890.
Просим срочно восстановить подачу электроэнергии и сообщить сроки.

С уважением,
Иванов Иван Иванович
тел. +7 900 000-00-00
"""

METER = """\
Добрый день.

Передаю показания счётчика на 25.03.2025:
  Т1 (день) - 12345
  Т2 (ночь) - 06789
Счётчик Меркурий 201, заводской номер 0098765.
Лицевой счёт 2233445566.

Петрова Анна Сергеевна
"""

BILL = """\
Здравствуйте.

Прошу разобраться с квитанцией за февраль 2025 года. Начислено 4560 руб. 00 коп.,
хотя по показаниям счётчика расход за месяц составил 150 кВт*ч.
Прошу сделать перерасчёт и прислать исправленную квитанцию на этот адрес.

Сидоров П. П., лицевой счёт 3344556677
"""

SPARK = """\
Добрый вечер!
Во дворе дома 7 по ул. Садовой искрит провод на опоре, рядом играют дети.
Свет в квартирах мигает, у соседей сгорел холодильник.
Примите меры как можно скорее!
Кузнецов Олег
"""

UKR = """\
Добрий день!
Третій день немає світла у під'їзді будинку 3 на вул. Шевченка.
На ґанку іскрить проводка, це небезпечно.
Прошу перевірити лічильник і надіслати рахунок за березень.
Коваленко Олена
"""

# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def bword(text, label="UTF-8", codec=None):
    """RFC 2047 B encoded-word; ``codec`` is the Python codec when the label
    is not one (x-cp1251, a lie, ...)."""
    raw = text if isinstance(text, bytes) else text.encode(codec or label)
    return b"=?%s?B?%s?=" % (label.encode(), base64.b64encode(raw))


def qword(text, label="UTF-8", codec=None):
    """RFC 2047 Q encoded-word."""
    raw = text if isinstance(text, bytes) else text.encode(codec or label)
    out = []
    for byte in raw:
        if byte == 0x20:
            out.append(b"_")
        elif (0x30 <= byte <= 0x39) or (0x41 <= byte <= 0x5A) or (0x61 <= byte <= 0x7A):
            out.append(bytes([byte]))
        else:
            out.append(b"=%02X" % byte)
    return b"=?%s?Q?%s?=" % (label.encode(), b"".join(out))


def b64body(data):
    """base64 body, 76-column lines, LF endings (converted later)."""
    return base64.encodebytes(data)


def qpbody(data):
    """quoted-printable body (soft breaks may split multi-byte chars, as
    real mailers do)."""
    return quopri.encodestring(data)


def rfc2231(text):
    """RFC 2231 extended value: UTF-8''%XX..."""
    return b"UTF-8''" + quote(text, safe="").encode("ascii")


def trace(n, sender_host=b"mx.example.ru"):
    """Received/Date/Message-ID block; deterministic, numbered per case."""
    return (
        b"Return-Path: <customer%d@example.ru>\n"
        b"Received: from %s (%s [192.0.2.%d])\n"
        b"\tby robot.example.com (Postfix) with ESMTPS id 4Q%05dA\n"
        b"\tfor <support@example.com>; Mon, 3 Mar 2025 09:%02d:17 +0300 (MSK)\n"
        b"Date: Mon, 3 Mar 2025 09:%02d:02 +0300\n"
        b"Message-ID: <20250303.%05d.robotcase@%s>\n"
        % (n, sender_host, sender_host, n, n, n % 60, n % 60, n, sender_host)
    )


def build(head, body, eol=CRLF):
    """head + empty line + body, with the chosen line ending."""
    data = head + b"\n" + body
    assert b"\r" not in data, "templates use LF only; raw cases build bytes themselves"
    return data.replace(b"\n", eol) if eol != LF else data


# --------------------------------------------------------------------------
# Case registry
# --------------------------------------------------------------------------

CASES = []


def case(file, what, *, from_addr, subject=None, body=None, attachments=0, defective=False):
    def register(fn):
        CASES.append({
            "file": file,
            "make": fn,
            "case": what,
            "expect": {
                "from_addr": from_addr,
                "subject_contains": subject,
                "body_contains": body,
                "attachments": attachments,
                "defective": defective,
            },
        })
        return fn
    return register


# ==========================================================================
# 1. UTF-8 bodies, RFC 2047 subjects and display names
# ==========================================================================

@case("utf8_8bit_plain.eml",
      "UTF-8 text/plain, Content-Transfer-Encoding 8bit; Subject, From and To as RFC 2047 "
      "B encoded-words (encoded display names); From address in mixed case",
      from_addr="ivanov@example.ru", subject="Нет электричества с 8 утра",
      body="нет электричества в доме")
def _():
    head = trace(1) + (
        b"From: %s <Ivanov@Example.RU>\n"
        b"To: %s <support@example.com>\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=UTF-8; format=flowed\n"
        b"Content-Transfer-Encoding: 8bit\n"
        b"User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Thunderbird/115.8.0\n"
        % (bword("Иванов Иван Иванович"), bword("Горэлектросеть, обращения"),
           bword("Нет электричества с 8 утра")))
    return build(head, NO_POWER.encode("utf-8"))


@case("utf8_qp_subject_q_folded.eml",
      "UTF-8 quoted-printable body whose soft line breaks split multi-byte characters, one "
      "line with lower-case hex (=d0=bf); Subject as several Q encoded-words folded over "
      "three lines (lower-case ?q? too); whitespace between encoded-words must vanish",
      from_addr="petrova@example.ru", subject="Показания счётчика за март",
      body="Передаю показания счётчика")
def _():
    subject = (qword("Показания") + b"\n " + qword(" счётчика", "utf-8")
               + b"\n " + qword(" за март").replace(b"?Q?", b"?q?"))
    body = qpbody(METER.encode("utf-8"))
    # a real-world webmail quirk: lower-case hex digits on the last line
    body += b"=d0=9d=d0=b0 =d1=81=d0=b2=d1=8f=d0=b7=d0=b8.\n"   # "На связи."
    head = trace(2) + (
        b"From: =?utf-8?Q?=D0=9F=D0=B5=D1=82=D1=80=D0=BE=D0=B2=D0=B0_=D0=90.=D0=A1.?=\n"
        b" <petrova@example.ru>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain;\n\tcharset=\"utf-8\"\n"
        b"Content-Transfer-Encoding: quoted-printable\n"
        b"X-Mailer: Mail.Ru Mailer 1.0\n" % subject)
    return build(head, body)


@case("utf8_base64_subject_split_multibyte.eml",
      "UTF-8 base64 body; Subject split into B encoded-words at arbitrary byte offsets, so "
      "a Cyrillic character is cut between two encoded-words (forbidden by RFC 2047 "
      "sect. 5 but produced by real mailers; a careful decoder joins adjacent words of "
      "the same charset before decoding)",
      from_addr="sidorov@example.ru", subject="Ошибка в квитанции за февраль",
      body="Прошу разобраться с квитанцией", defective=True)
def _():
    raw = "Ошибка в квитанции за февраль".encode("utf-8")
    words = [bword(raw[i:i + 9]) for i in range(0, len(raw), 9)]   # 9 bytes: odd cut
    head = trace(3) + (
        b"From: \"Sidorov P.\" <sidorov@example.ru>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: base64\n" % b"\n ".join(words))
    return build(head, b64body(BILL.encode("utf-8")))


@case("subject_mixed_charsets_lang.eml",
      "Subject mixing plain ASCII, a KOI8-R B-word, a windows-1251 Q-word and a UTF-8 "
      "Q-word with an RFC 2231 language tag (=?UTF-8*ru?Q?...?=); From display name is "
      "an encoded-word inside a quoted string (not allowed, very common); To has two "
      "encoded display names",
      from_addr="smirnova@example.ru", subject="Re: Перерасчёт за электроэнергию (ЛС 1234567890)",
      body="нет электричества")
def _():
    subject = (b"Re: " + bword("Перерасчёт", "KOI8-R") + b"\n "
               + qword(" за электроэнергию", "windows-1251") + b"\n "
               + qword(" (ЛС", "UTF-8").replace(b"UTF-8?", b"UTF-8*ru?") + b" 1234567890)")
    head = trace(4) + (
        b"From: \"%s\" <smirnova@example.ru>\n"
        b"To: %s <support@example.com>,\n %s <dispatcher@example.com>\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=UTF-8\n"
        b"Content-Transfer-Encoding: 8bit\n"
        % (bword("Смирнова Елена"), bword("Служба поддержки"), qword("Диспетчер"), subject))
    return build(head, NO_POWER.encode("utf-8"))


# ==========================================================================
# 2. Cyrillic 8-bit charsets: labelled, unlabelled, aliases, lies
# ==========================================================================

@case("koi8r_labelled.eml",
      "KOI8-R 8bit body with charset=koi8-r; Subject as =?KOI8-R?B?...?=",
      from_addr="kuznetsov@example.ru", subject="Искрит провод на опоре", body="искрит провод на опоре")
def _():
    head = trace(5) + (
        b"From: %s <kuznetsov@example.ru>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=koi8-r\n"
        b"Content-Transfer-Encoding: 8bit\n"
        % (bword("Кузнецов Олег", "KOI8-R"), bword("Искрит провод на опоре", "KOI8-R")))
    return build(head, SPARK.encode("koi8-r"))


@case("koi8r_unlabelled.eml",
      "KOI8-R text with no charset anywhere: Content-Type text/plain without charset "
      "parameter, 8bit body, raw 8-bit KOI8-R bytes in Subject and in the From display "
      "name; LF line endings (old Unix MUA). A careful parser detects KOI8-R from the "
      "byte statistics",
      from_addr="ivanov@example.ru", subject="Нет света уже третий день",
      body="нет электричества в доме", defective=True)
def _():
    head = (
        b"Received: from oldbox.example.ru (oldbox.example.ru [192.0.2.6])\n"
        b"\tby robot.example.com (Postfix) with SMTP id 4Q00006A\n"
        b"\tfor <support@example.com>; Mon, 3 Mar 2025 09:06:17 +0300 (MSK)\n"
        b"Date: Mon, 3 Mar 2025 09:06:02 +0300\n"
        b"From: " + "Иван Иванов".encode("koi8-r") + b" <ivanov@example.ru>\n"
        b"To: support@example.com\n"
        b"Subject: " + "Нет света уже третий день".encode("koi8-r") + b"\n"
        b"Message-ID: <Pine.LNX.4.64.0503030906.6@oldbox.example.ru>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: TEXT/PLAIN\n"
        b"Content-Transfer-Encoding: 8BIT\n"
        b"X-Mailer: Pine 4.64\n")
    return build(head, NO_POWER.encode("koi8-r"), eol=LF)


@case("cp1251_labelled_qp.eml",
      "windows-1251 quoted-printable body, charset=\"windows-1251\"; Subject as "
      "=?windows-1251?Q?...?=; Outlook Express style headers",
      from_addr="petrova@example.ru", subject="Показания счётчика", body="Передаю показания счётчика")
def _():
    head = trace(7) + (
        b"From: %s <petrova@example.ru>\n"
        b"To: <support@example.com>\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain;\n\tcharset=\"windows-1251\"\n"
        b"Content-Transfer-Encoding: quoted-printable\n"
        b"X-Priority: 3\n"
        b"X-MSMail-Priority: Normal\n"
        b"X-Mailer: Microsoft Outlook Express 6.00.2900.5931\n"
        % (qword("Петрова Анна", "windows-1251"), qword("Показания счётчика", "windows-1251")))
    return build(head, qpbody(METER.encode("cp1251")))


@case("cp1251_unlabelled.eml",
      "windows-1251 text with no MIME headers at all (no MIME-Version, no Content-Type): "
      "8-bit cp1251 body, raw cp1251 bytes in Subject and From display name",
      from_addr="sidorov@example.ru", subject="Ошибка в квитанции",
      body="Прошу разобраться с квитанцией", defective=True)
def _():
    head = trace(8) + (
        b"From: " + "Сидоров Петр".encode("cp1251") + b" <sidorov@example.ru>\n"
        b"To: support@example.com\n"
        b"Subject: " + "Ошибка в квитанции".encode("cp1251") + b"\n"
        b"X-Mailer: The Bat! (v3.99.3) Professional\n")
    return build(head, BILL.encode("cp1251"))


@case("cp1251_charset_cp1251_base64.eml",
      "charset=cp1251 (Python codec name, not the IANA name) on a base64 body; Subject "
      "=?cp1251?B?...?=",
      from_addr="kuznetsov@example.ru", subject="Искрит провод", body="искрит провод на опоре")
def _():
    head = trace(9) + (
        b"From: kuznetsov@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=cp1251\n"
        b"Content-Transfer-Encoding: base64\n" % bword("Искрит провод!", "cp1251"))
    return build(head, b64body(SPARK.encode("cp1251")))


@case("cp1251_charset_x_cp1251.eml",
      "charset=x-cp1251 (old Mozilla/Eudora alias, unknown to Python's codec registry) on "
      "an 8bit windows-1251 body; Subject as =?x-cp1251?Q?...?=",
      from_addr="ivanov@example.ru", subject="Нет электричества", body="нет электричества в доме")
def _():
    head = trace(10) + (
        b"From: Ivan Ivanov <ivanov@example.ru>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=x-cp1251\n"
        b"Content-Transfer-Encoding: 8bit\n" % qword("Нет электричества", "x-cp1251", "cp1251"))
    return build(head, NO_POWER.encode("cp1251"))


@case("cp1251_charset_unknown_name.eml",
      "charset=\"x-unknown-foo\" (no such charset) on 8bit windows-1251 text; Subject is "
      "an encoded-word with the same bogus charset. A careful parser falls back to "
      "detection",
      from_addr="petrova@example.ru", subject="Показания счётчика",
      body="Передаю показания счётчика", defective=True)
def _():
    head = trace(11) + (
        b"From: petrova@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=\"x-unknown-foo\"\n"
        b"Content-Transfer-Encoding: 8bit\n" % bword("Показания счётчика", "x-unknown-foo", "cp1251"))
    return build(head, METER.encode("cp1251"))


@case("mislabelled_utf8_is_cp1251.eml",
      "Declared charset=utf-8 but the 8bit body is windows-1251 (invalid UTF-8); the "
      "Subject encoded-word also says UTF-8 but carries cp1251 bytes",
      from_addr="sidorov@example.ru", subject="Ошибка в квитанции",
      body="Прошу разобраться с квитанцией", defective=True)
def _():
    head = trace(12) + (
        b"From: Sidorov <sidorov@example.ru>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n" % bword("Ошибка в квитанции", "utf-8", "cp1251"))
    return build(head, BILL.encode("cp1251"))


@case("koi8u_ukrainian.eml",
      "KOI8-U Ukrainian text (і ї є ґ, letters absent from KOI8-R) with charset=koi8-u; "
      "Subject =?koi8-u?B?...?=",
      from_addr="kovalenko@example.org", subject="Немає світла", body="немає світла у під'їзді")
def _():
    head = trace(13, b"mail.example.org") + (
        b"From: %s <kovalenko@example.org>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=koi8-u\n"
        b"Content-Transfer-Encoding: 8bit\n"
        % (bword("Олена Коваленко", "koi8-u"), bword("Немає світла, іскрить ґанок", "koi8-u")))
    return build(head, UKR.encode("koi8-u"))


@case("utf8_bom.eml",
      "UTF-8 body starting with a byte-order mark (EF BB BF), as Windows tools paste it; "
      "the Subject encoded-word also starts with a BOM",
      from_addr="petrova@example.ru", subject="Показания счётчика", body="Передаю показания счётчика")
def _():
    head = trace(14) + (
        b"From: petrova@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n" % bword("\ufeffПоказания счётчика"))
    return build(head, "\ufeff".encode("utf-8") + METER.encode("utf-8"))


# ==========================================================================
# 3. HTML, multipart structures, attachments
# ==========================================================================

OUTLOOK_HTML = """\
<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head><meta http-equiv=Content-Type content="text/html; charset=windows-1251"><meta name=Generator content="Microsoft Word 15 (filtered medium)"><style><!--
/* Font Definitions */
@font-face
	{font-family:"Cambria Math";
	panose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face
	{font-family:Calibri;
	panose-1:2 15 5 2 2 2 4 3 2 4;}
/* Style Definitions */
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{margin:0cm;
	font-size:11.0pt;
	font-family:"Calibri",sans-serif;
	mso-fareast-language:EN-US;}
span.EmailStyle17
	{mso-style-type:personal-compose;
	font-family:"Calibri",sans-serif;
	color:windowtext;}
.MsoChpDefault
	{mso-style-type:export-only;}
@page WordSection1
	{size:612.0pt 792.0pt;
	margin:2.0cm 42.5pt 2.0cm 3.0cm;}
div.WordSection1
	{page:WordSection1;}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]--><!--[if gte mso 9]><xml>
<o:shapelayout v:ext="edit">
<o:idmap v:ext="edit" data="1" />
</o:shapelayout></xml><![endif]--></head><body lang=RU link="#0563C1" vlink="#954F72" style='word-wrap:break-word'><div class=WordSection1><p class=MsoNormal>Добрый день!<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>Прошу проверить начисления по лицевому счёту 4455667788.<o:p></o:p></p><p class=MsoNormal>В квитанции за январь указан расход 1&nbsp;250&nbsp;кВт&middot;ч, а по счётчику &laquo;Нева&raquo; всего 180&nbsp;&#8212; разница в семь раз.<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal><span style='mso-fareast-language:RU'>&#1057; уважением,<o:p></o:p></span></p><p class=MsoNormal><span style='mso-fareast-language:RU'>Смирнова&nbsp;Е.&nbsp;В.<o:p></o:p></span></p></div></body></html>
"""


@case("html_only_outlook_cp1251.eml",
      "HTML-only Outlook 2016 message (no text/plain): windows-1251 quoted-printable, "
      "<style> block with mso- rules, conditional comments, <o:p>, &nbsp;, &laquo;, "
      "&middot;, numeric entities (&#1057; = С), 300+ character HTML lines",
      from_addr="smirnova@example.ru", subject="Начисления за январь",
      body="Прошу проверить начисления по лицевому счёту 4455667788")
def _():
    head = trace(15) + (
        b"From: %s <smirnova@example.ru>\n"
        b"To: \"support@example.com\" <support@example.com>\n"
        b"Subject: %s\n"
        b"Thread-Topic: %s\n"
        b"Thread-Index: AdmN3xAbCdEfGhIjKlMnOpQrStUvWx==\n"
        b"Content-Language: ru-RU\n"
        b"X-MS-Has-Attach: \n"
        b"X-MS-TNEF-Correlator: \n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/html; charset=\"windows-1251\"\n"
        b"Content-Transfer-Encoding: quoted-printable\n"
        % (bword("Смирнова Елена Викторовна", "windows-1251"),
           bword("Начисления за январь", "windows-1251"),
           bword("Начисления за январь", "windows-1251")))
    return build(head, qpbody(OUTLOOK_HTML.encode("cp1251")))


@case("multipart_alternative_utf8.eml",
      "multipart/alternative: text/plain (quoted-printable) + text/html (base64), UTF-8, "
      "preamble text before the first boundary, epilogue after the last",
      from_addr="ivanov@example.ru", subject="Нет света", body="нет электричества в доме")
def _():
    html = ("<div dir=\"ltr\"><div>" + NO_POWER.replace("\n\n", "</div><div><br></div><div>")
            .replace("\n", "<br>") + "</div></div>\n").encode("utf-8")
    head = trace(16) + (
        b"From: =?UTF-8?B?0JjQstCw0L0g0JjQstCw0L3QvtCy?= <ivanov@example.ru>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/alternative; boundary=\"000000000000a1b2c3d4e5f60718\"\n"
        % bword("Нет света"))
    body = (b"This is a multi-part message in MIME format.\n\n"
            b"--000000000000a1b2c3d4e5f60718\n"
            b"Content-Type: text/plain; charset=\"UTF-8\"\n"
            b"Content-Transfer-Encoding: quoted-printable\n\n"
            + qpbody(NO_POWER.encode("utf-8")) + b"\n"
            b"--000000000000a1b2c3d4e5f60718\n"
            b"Content-Type: text/html; charset=\"UTF-8\"\n"
            b"Content-Transfer-Encoding: base64\n\n"
            + b64body(html) + b"\n"
            b"--000000000000a1b2c3d4e5f60718--\n"
            b"epilogue: ignored by MIME readers\n")
    return build(head, body)


PDF_BYTES = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
             b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
             b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
             b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n"
             b"4 0 obj\n<< /Length 8 >>\nstream\n\x00\x01\x02\xff\r\n\x80\x90\nendstream\nendobj\n"
             b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")

PNG_BYTES = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
             b"\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\xdac\xf8\xcf\xc0\x00\x00\x03\x01"
             b"\x01\x00\xf7\x03AC\x00\x00\x00\x00IEND\xaeB`\x82")          # 1x1 red pixel

XLS_BYTES = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"


@case("multipart_mixed_attachments.eml",
      "multipart/mixed with a text part and three attachments: a PDF-like binary with an "
      "RFC 2231 filename (filename*=UTF-8''%D0%9A...), a PNG image with an RFC 2047 "
      "encoded filename in a quoted string (\"=?UTF-8?B?...?=\", non-standard but "
      "ubiquitous), and an .xls with an RFC 2231 continued filename (filename*0*/filename*1*)",
      from_addr="sidorov@example.ru", subject="Квитанция и фото счётчика",
      body="Квитанция и фото счётчика во вложении", attachments=3)
def _():
    text = ("Здравствуйте.\nКвитанция и фото счётчика во вложении.\n"
            "Там же показания за прошлый год.\nСидоров\n").encode("utf-8")
    pdf_name = "Квитанция за февраль.pdf"
    png_name = bword("Фото счётчика.png")
    xls_1, xls_2 = "Показания", " за 2024 год.xls"
    head = trace(17) + (
        b"From: Sidorov <sidorov@example.ru>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed;\n boundary=\"------------9C3B3E2A1F0D4C5B6A7E8F90\"\n"
        % bword("Квитанция и фото счётчика"))
    body = (b"This is a multi-part message in MIME format.\n"
            b"--------------9C3B3E2A1F0D4C5B6A7E8F90\n"
            b"Content-Type: text/plain; charset=UTF-8; format=flowed\n"
            b"Content-Transfer-Encoding: 8bit\n\n" + text + b"\n"
            b"--------------9C3B3E2A1F0D4C5B6A7E8F90\n"
            b"Content-Type: application/pdf; name*=" + rfc2231(pdf_name) + b"\n"
            b"Content-Disposition: attachment; filename*=" + rfc2231(pdf_name) + b"\n"
            b"Content-Transfer-Encoding: base64\n\n" + b64body(PDF_BYTES) + b"\n"
            b"--------------9C3B3E2A1F0D4C5B6A7E8F90\n"
            b"Content-Type: image/png; name=\"" + png_name + b"\"\n"
            b"Content-Disposition: attachment; filename=\"" + png_name + b"\"\n"
            b"Content-Transfer-Encoding: base64\n\n" + b64body(PNG_BYTES) + b"\n"
            b"--------------9C3B3E2A1F0D4C5B6A7E8F90\n"
            b"Content-Type: application/vnd.ms-excel\n"
            b"Content-Disposition: attachment;\n"
            b" filename*0*=" + rfc2231(xls_1) + b";\n"
            b" filename*1*=" + quote(xls_2, safe="").encode() + b"\n"
            b"Content-Transfer-Encoding: base64\n\n" + b64body(XLS_BYTES) + b"\n"
            b"--------------9C3B3E2A1F0D4C5B6A7E8F90--\n")
    return build(head, body)


@case("forwarded_message_rfc822.eml",
      "Forward-as-attachment: multipart/mixed with a UTF-8 note and a message/rfc822 part "
      "(RFC 2047 encoded name) that is itself a windows-1251 quoted-printable message "
      "from another sender. The attachment count is 1 (the forwarded message as a whole); "
      "from_addr is the forwarder, not the inner sender",
      from_addr="ivanova@example.ru", subject="Fwd: Нет света",
      body="Пересылаю письмо соседки", attachments=1)
def _():
    inner = build(
        b"From: %s <sosedka@example.org>\n"
        b"To: ivanova@example.ru\n"
        b"Subject: %s\n"
        b"Date: Sun, 2 Mar 2025 21:40:11 +0300\n"
        b"Message-ID: <inner.20250302@example.org>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=windows-1251\n"
        b"Content-Transfer-Encoding: quoted-printable\n"
        % (bword("Соседка Мария", "windows-1251"), bword("Нет света", "windows-1251")),
        qpbody(NO_POWER.encode("cp1251")), eol=LF)
    head = trace(18) + (
        b"From: Ivanova <ivanova@example.ru>\n"
        b"To: support@example.com\n"
        b"Subject: Fwd: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"fwd-boundary-7c1e\"\n" % bword("Нет света"))
    body = (b"--fwd-boundary-7c1e\n"
            b"Content-Type: text/plain; charset=utf-8\n"
            b"Content-Transfer-Encoding: 8bit\n\n"
            + "Пересылаю письмо соседки, у неё нет интернета. Она тоже без света.\n".encode("utf-8")
            + b"\n--fwd-boundary-7c1e\n"
            b"Content-Type: message/rfc822; name=\"" + bword("Нет света.eml") + b"\"\n"
            b"Content-Disposition: attachment; filename=\"" + bword("Нет света.eml") + b"\"\n\n"
            + inner + b"\n"
            b"--fwd-boundary-7c1e--\n")
    return build(head, body)


def _tnef_attr(level, attr_id, data):
    """One TNEF attribute: level, id (LE), length (LE), data, 16-bit checksum."""
    return (bytes([level]) + attr_id.to_bytes(4, "little") + len(data).to_bytes(4, "little")
            + data + (sum(data) % 65536).to_bytes(2, "little"))


TNEF_BYTES = (b"\x78\x9f\x3e\x22"            # TNEF signature 0x223E9F78
              + b"\x01\x00"                  # legacy key
              + _tnef_attr(1, 0x00089006, b"\x00\x00\x01\x00")                   # attTnefVersion
              + _tnef_attr(1, 0x00069007, b"\xe4\x04\x00\x00")                   # attOemCodepage 1252
              + _tnef_attr(1, 0x00078008, b"IPM.Microsoft Mail.Note\x00")         # attMessageClass
              + _tnef_attr(2, 0x00069002, b"\x01\x00\x00\x00")                   # attAttachRenddata
              + _tnef_attr(2, 0x00018010, b"schet.doc\x00")                       # attAttachTitle
              + _tnef_attr(2, 0x0006800f, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 24))


@case("tnef_winmail_dat.eml",
      "Outlook/Exchange rich-text mail: text/plain part plus application/ms-tnef "
      "attachment winmail.dat (TNEF-like bytes: signature 0x223E9F78, valid attribute "
      "framing and checksums, an embedded attachment title)",
      from_addr="smirnova@example.ru", subject="Счёт во вложении", body="счёт во вложении",
      attachments=1)
def _():
    head = trace(19) + (
        b"From: \"Smirnova, Elena\" <smirnova@example.ru>\n"
        b"To: \"support@example.com\" <support@example.com>\n"
        b"Subject: %s\n"
        b"Thread-Index: AdmN4yQ3q1w2e3r4t5y6u7i8o9p0Aw==\n"
        b"X-MS-Has-Attach: yes\n"
        b"X-MS-TNEF-Correlator: <0A1B2C3D4E5F@example.ru>\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed;\n\tboundary=\"_002_0A1B2C3D4E5Fexampleru_\"\n"
        % bword("Счёт во вложении"))
    body = (b"--_002_0A1B2C3D4E5Fexampleru_\n"
            b"Content-Type: text/plain; charset=\"koi8-r\"\n"
            b"Content-Transfer-Encoding: quoted-printable\n\n"
            + qpbody("Добрый день, счёт во вложении. Прошу проверить.\n".encode("koi8-r"))
            + b"\n--_002_0A1B2C3D4E5Fexampleru_\n"
            b"Content-Type: application/ms-tnef; name=\"winmail.dat\"\n"
            b"Content-Description: winmail.dat\n"
            b"Content-Disposition: attachment; filename=\"winmail.dat\"; size=%d\n"
            b"Content-Transfer-Encoding: base64\n\n" % len(TNEF_BYTES)
            + b64body(TNEF_BYTES) + b"\n"
            b"--_002_0A1B2C3D4E5Fexampleru_--\n")
    return build(head, body)


# ==========================================================================
# 4. Malformed MIME
# ==========================================================================

@case("missing_closing_boundary.eml",
      "multipart/mixed whose closing boundary (--b--) never comes: the message ends right "
      "after the base64 of the last part (connection cut / broken mailer)",
      from_addr="sidorov@example.ru", subject="Квитанция", body="Прошу разобраться с квитанцией",
      attachments=1, defective=True)
def _():
    head = trace(20) + (
        b"From: sidorov@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"=_cut_here_=\"\n" % bword("Квитанция"))
    body = (b"--=_cut_here_=\n"
            b"Content-Type: text/plain; charset=utf-8\n"
            b"Content-Transfer-Encoding: quoted-printable\n\n"
            + qpbody(BILL.encode("utf-8")) + b"\n"
            b"--=_cut_here_=\n"
            b"Content-Type: application/pdf; name=\"kvitanciya.pdf\"\n"
            b"Content-Disposition: attachment; filename=\"kvitanciya.pdf\"\n"
            b"Content-Transfer-Encoding: base64\n\n" + b64body(PDF_BYTES))
    return build(head, body)


@case("boundary_declared_absent.eml",
      "Content-Type multipart/alternative declares boundary=\"----=_Part_declared_0\" but "
      "the body uses a different boundary, so the declared one never occurs. A careful "
      "parser falls back to treating the whole body as text (the UTF-8 8bit text is "
      "visible verbatim)",
      from_addr="petrova@example.ru", subject="Показания", body="Передаю показания счётчика",
      defective=True)
def _():
    head = trace(21) + (
        b"From: petrova@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/alternative; boundary=\"----=_Part_declared_0\"\n"
        % bword("Показания"))
    body = (b"This is a multi-part message in MIME format.\n\n"
            b"------=_Part_other_12345\n"
            b"Content-Type: text/plain; charset=utf-8\n"
            b"Content-Transfer-Encoding: 8bit\n\n"
            + METER.encode("utf-8") + b"\n"
            b"------=_Part_other_12345--\n")
    return build(head, body)


@case("nested_same_boundary.eml",
      "Duplicate boundaries: the inner multipart/alternative reuses the outer "
      "multipart/mixed boundary string (Outlook Express for Mac did this), so every "
      "delimiter is ambiguous; the end delimiter occurs twice. Python's stdlib closes the "
      "outer multipart at the first --B-- and drops the PNG into the epilogue; a "
      "nesting-aware parser (the inner part declared B, so the first --B-- is its end) "
      "recovers the attachment",
      from_addr="kuznetsov@example.ru", subject="Искрит провод", body="искрит провод на опоре",
      attachments=1, defective=True)
def _():
    b = b"MS_Mac_OE_3071477847_720252_MIME_Part"
    head = trace(22) + (
        b"From: kuznetsov@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed;\n   boundary=\"%s\"\n" % (bword("Искрит провод"), b))
    body = (b"> This message is in MIME format.\n\n"
            b"--%s\n" % b +
            b"Content-Type: multipart/alternative;\n   boundary=\"%s\"\n\n\n" % b +
            b"--%s\n" % b +
            b"Content-Type: text/plain; charset=\"utf-8\"\n"
            b"Content-Transfer-Encoding: quoted-printable\n\n"
            + qpbody(SPARK.encode("utf-8")) + b"\n"
            b"--%s\n" % b +
            b"Content-Type: text/html; charset=\"utf-8\"\n"
            b"Content-Transfer-Encoding: quoted-printable\n\n"
            + qpbody(("<html><body>" + SPARK.replace("\n", "<br>\n") + "</body></html>\n")
                     .encode("utf-8")) + b"\n"
            b"--%s--\n\n" % b +
            b"--%s\n" % b +
            b"Content-Type: image/png; name=\"opora.png\"\n"
            b"Content-Disposition: attachment\n"
            b"Content-Transfer-Encoding: base64\n\n" + b64body(PNG_BYTES) + b"\n"
            b"--%s--\n" % b)
    return build(head, body)


def _corrupt_b64(data):
    """base64 lines of ``data``; from line 3 on: junk characters, a line whose
    length is not a multiple of 4, and wrong padding at the end."""
    lines = b64body(data).splitlines()
    lines[2] = lines[2][:20] + b"!!*%$" + lines[2][20:]      # invalid characters
    lines[3] = lines[3][:-1]                                 # 75 chars: misaligned
    lines[-1] = lines[-1].rstrip(b"=") + b"==="              # wrong padding
    return b"\n".join(lines) + b"\n"


@case("bad_base64_attachment.eml",
      "A fine quoted-printable text part plus a PDF attachment whose base64 has invalid "
      "characters (!!*%$), a 75-character line (misaligned) and wrong padding (===)",
      from_addr="sidorov@example.ru", subject="Квитанция", body="Прошу разобраться с квитанцией",
      attachments=1, defective=True)
def _():
    head = trace(23) + (
        b"From: sidorov@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"bad64\"\n" % bword("Квитанция"))
    body = (b"--bad64\n"
            b"Content-Type: text/plain; charset=utf-8\n"
            b"Content-Transfer-Encoding: quoted-printable\n\n"
            + qpbody(BILL.encode("utf-8")) + b"\n"
            b"--bad64\n"
            b"Content-Type: application/pdf; name=\"schet.pdf\"\n"
            b"Content-Disposition: attachment; filename=\"schet.pdf\"\n"
            b"Content-Transfer-Encoding: base64\n\n" + _corrupt_b64(PDF_BYTES * 3) + b"\n"
            b"--bad64--\n")
    return build(head, body)


@case("bad_base64_body.eml",
      "Single-part UTF-8 text/plain in base64 that goes bad from its third line on (invalid "
      "characters, a misaligned line, wrong padding). The first two lines (114 bytes) "
      "decode cleanly, so the beginning of the text is recoverable",
      from_addr="sidorov@example.ru", subject="Перерасчёт", body="Прошу разобраться",
      defective=True)
def _():
    head = trace(24) + (
        b"From: sidorov@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: base64\n" % bword("Перерасчёт"))
    return build(head, _corrupt_b64(BILL.encode("utf-8")))


@case("no_header_body_separator.eml",
      "No empty line between the header block and the body: the first body line (Cyrillic, "
      "no colon) follows the last header directly",
      from_addr="petrova@example.ru", subject="Показания", body="Передаю показания счётчика",
      defective=True)
def _():
    head = trace(25) + (
        b"From: petrova@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n" % bword("Показания"))
    return (head + METER.encode("utf-8")).replace(b"\n", CRLF)


@case("header_line_without_colon.eml",
      "A header line without a colon in the middle of the header block, followed by more "
      "headers. Readers disagree whether the header block ends there (Python's parser "
      "starts the body at that line); From/Subject/Content-Type come before it so both "
      "readings give the same results",
      from_addr="kuznetsov@example.ru", subject="Искрит провод", body="искрит провод на опоре",
      defective=True)
def _():
    head = trace(26) + (
        b"From: kuznetsov@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n"
        b"X-Mailer: SuperMailer 2.1\n"
        b"This line has no colon and is not a continuation\n"
        b"X-Priority: 3\n"
        b"X-Original-IP: 198.51.100.7\n" % bword("Искрит провод"))
    return build(head, SPARK.encode("utf-8"))


@case("long_references_10kb.eml",
      "A 10 KB References header on one physical line (no folding; RFC 5322 allows at "
      "most 998 octets per line) plus a folded 2 KB In-Reply-To/X-header mess",
      from_addr="ivanov@example.ru", subject="Re: Нет света", body="нет электричества в доме",
      defective=True)
def _():
    ids = b" ".join(b"<%05d.reply.%08x@mail.example.ru>" % (i, i * 2654435761 % 2**32)
                    for i in range(300))
    folded = b"\n\t".join(b"x-tracking-%03d=%032x;" % (i, i * 7919) for i in range(40))
    head = trace(27) + (
        b"From: ivanov@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: Re: %s\n"
        b"In-Reply-To: <00299.reply.0000babe@mail.example.ru>\n"
        b"References: %s\n"
        b"X-Tracking: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n" % (bword("Нет света"), ids, folded))
    assert len(ids) > 10000
    return build(head, NO_POWER.encode("utf-8"))


@case("long_body_line_5000.eml",
      "UTF-8 8bit body whose main paragraph is one line of 5,000 characters (about "
      "9,300 octets, far over the 998-octet limit) with no line break; the key sentence "
      "is at its very end, so truncating parsers lose it",
      from_addr="petrova@example.ru", subject="Подробная жалоба",
      body="Итого прошу вернуть 4560 рублей", defective=True)
def _():
    sentence = "Сообщаю, что свет отключали 3, 5, 9 и 12 марта без предупреждения. "
    tail = "Итого прошу вернуть 4560 рублей."
    line = (sentence * 100)[: 5000 - len(tail)] + tail
    assert len(line) == 5000
    head = trace(28) + (
        b"From: petrova@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n" % bword("Подробная жалоба"))
    return build(head, ("Здравствуйте.\n" + line + "\nПетрова\n").encode("utf-8"))


@case("deep_nesting_50.eml",
      "50 levels of nested multipart/mixed (each level one part); the only leaf is a UTF-8 "
      "text/plain at depth 50. Valid MIME; a parser with a nesting limit below 50 must "
      "adapt this expectation",
      from_addr="kuznetsov@example.ru", subject="Вложенность", body="искрит провод на опоре")
def _():
    depth = 50
    head = trace(29) + (
        b"From: kuznetsov@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"lvl00\"\n" % bword("Вложенность"))
    body = b""
    for level in range(1, depth):
        body += b"--lvl%02d\nContent-Type: multipart/mixed; boundary=\"lvl%02d\"\n\n" % (level - 1, level)
    body += (b"--lvl%02d\nContent-Type: text/plain; charset=utf-8\n"
             b"Content-Transfer-Encoding: 8bit\n\n" % (depth - 1)) + SPARK.encode("utf-8")
    for level in range(depth - 1, -1, -1):
        body += b"--lvl%02d--\n" % level
    return build(head, body)


@case("subject_2000_encoded_words.eml",
      "Subject made of 2,000 encoded-words (alternating B and Q, \"Нет \"/\"света \"), "
      "folded 4 per line: ~60 KB of header, a complexity/DoS probe for header decoders",
      from_addr="ivanov@example.ru", subject="Нет света Нет света",
      body="нет электричества в доме")
def _():
    words = [bword("Нет ") if i % 2 == 0 else qword("света ") for i in range(2000)]
    lines = [b" ".join(words[i:i + 4]) for i in range(0, 2000, 4)]
    head = trace(30) + (
        b"From: ivanov@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n" % b"\n ".join(lines))
    return build(head, NO_POWER.encode("utf-8"))


@case("cte_x_unknown.eml",
      "Content-Transfer-Encoding: x-unknown (not a known encoding) on a text/plain part "
      "whose bytes are plain 8bit UTF-8; a careful parser passes the bytes through",
      from_addr="petrova@example.ru", subject="Показания", body="Передаю показания счётчика",
      defective=True)
def _():
    head = trace(31) + (
        b"From: petrova@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: x-unknown\n" % bword("Показания"))
    return build(head, METER.encode("utf-8"))


@case("nul_bytes.eml",
      "NUL bytes (0x00) inside the 8bit UTF-8 body (between sentences, a run of 16 at the "
      "end) and one in an X- header value",
      from_addr="sidorov@example.ru", subject="Квитанция", body="Прошу разобраться с квитанцией",
      defective=True)
def _():
    text = BILL.encode("utf-8").replace(b"\n\n", b"\n\x00\n", 1)
    text = text.replace("года. ".encode("utf-8"), "года.\x00 ".encode("utf-8"))
    head = trace(32) + (
        b"From: sidorov@example.ru\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"X-Client-Note: scan\x00ned\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n" % bword("Квитанция"))
    return build(head, text + b"\x00" * 16 + b"\n")


# ==========================================================================
# 5. Address tricks
# ==========================================================================

@case("from_cve_2023_27043.eml",
      "From: alice@example.org)<bob@example.com> - the CVE-2023-27043 pattern: legacy "
      "parseaddr() used to return one of the two addresses; a careful parser rejects the "
      "header (no trustworthy sender)",
      from_addr=None, subject="Нет света", body="нет электричества в доме", defective=True)
def _():
    head = trace(33) + (
        b"From: alice@example.org)<bob@example.com>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n" % bword("Нет света"))
    return build(head, NO_POWER.encode("utf-8"))


@case("from_two_mailboxes.eml",
      "From header with two mailboxes and no Sender header (RFC 5322 sect. 3.6.2 requires "
      "Sender then); the first author is taken",
      from_addr="petrova@example.ru", subject="Показания", body="Передаю показания счётчика",
      defective=True)
def _():
    head = trace(34) + (
        b"From: %s <petrova@example.ru>, %s <sidorov@example.org>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n"
        % (bword("Петрова А."), bword("Сидоров П."), bword("Показания")))
    return build(head, METER.encode("utf-8"))


@case("from_duplicate_headers.eml",
      "Two From: header fields (RFC 5322 allows exactly one); the first one is the "
      "expected sender, the second one (added lower down) must not win",
      from_addr="petrova@example.ru", subject="Показания", body="Передаю показания счётчика",
      defective=True)
def _():
    head = trace(35) + (
        b"From: Petrova <petrova@example.ru>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"From: Someone Else <intruder@example.com>\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n" % bword("Показания"))
    return build(head, METER.encode("utf-8"))


@case("display_name_encoded_crlf.eml",
      "Header injection via RFC 2047: the From display name and the Subject decode to text "
      "containing CR LF followed by fake header lines (Bcc:, X-Injected:). The decoded "
      "values must never be written back into a header unsanitised",
      from_addr="ivanov@example.ru", subject="Нет света", body="нет электричества в доме",
      defective=True)
def _():
    head = trace(36) + (
        b"From: %s <ivanov@example.ru>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n"
        % (bword("Иванов И.И.\r\nBcc: victim@example.com\r\n"),
           bword("Нет света\r\nX-Injected: 1\r\n\r\n<b>injected body</b>")))
    return build(head, NO_POWER.encode("utf-8"))


@case("no_from.eml",
      "No From header at all (and no Sender/Reply-To/Return-Path to fall back on)",
      from_addr=None, subject="Искрит провод", body="искрит провод на опоре", defective=True)
def _():
    head = (
        b"Received: from [198.51.100.23] (helo=localhost)\n"
        b"\tby robot.example.com with smtp (Exim 4.96) id 1tNoFrom-000001\n"
        b"\tfor support@example.com; Mon, 03 Mar 2025 09:37:00 +0300\n"
        b"Date: Mon, 03 Mar 2025 09:37:00 +0300\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n" % bword("Искрит провод"))
    return build(head, SPARK.encode("utf-8"))


@case("from_empty_angle.eml",
      "From: <> (an empty address, the null reverse-path copied into the header)",
      from_addr=None, subject="Нет света", body="нет электричества в доме", defective=True)
def _():
    head = (
        b"Return-Path: <>\n"
        b"Received: from [198.51.100.24] by robot.example.com with SMTP;\n"
        b"\tMon, 3 Mar 2025 09:38:00 +0300\n"
        b"Date: Mon, 3 Mar 2025 09:38:00 +0300\n"
        b"From: <>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n" % bword("Нет света"))
    return build(head, NO_POWER.encode("utf-8"))


# ==========================================================================
# 6. Auto-generated mail
# ==========================================================================

@case("auto_reply_out_of_office.eml",
      "Exchange out-of-office reply: Auto-Submitted: auto-replied, X-Auto-Response-Suppress, "
      "Russian \"Автоматический ответ:\" subject prefix; must not be registered as an "
      "appeal nor answered",
      from_addr="kuznetsova@example.com", subject="Автоматический ответ: Показания счётчика",
      body="в отпуске до 17 марта")
def _():
    text = ("Здравствуйте!\n\nЯ в отпуске до 17 марта включительно, почта не читается.\n"
            "По срочным вопросам звоните в диспетчерскую: 8 800 000-00-00.\n\n"
            "Кузнецова Мария\n").encode("utf-8")
    head = trace(37, b"exch.example.com") + (
        b"From: =?utf-8?B?0JrRg9C30L3QtdGG0L7QstCwINCc0LDRgNC40Y8=?= <kuznetsova@example.com>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"Thread-Topic: %s\n"
        b"In-Reply-To: <20250303.00007.robotcase@mx.example.ru>\n"
        b"Auto-Submitted: auto-replied\n"
        b"X-Auto-Response-Suppress: All\n"
        b"X-MS-Exchange-Inbox-Rules-Loop: kuznetsova@example.com\n"
        b"X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\n"
        b"Content-Language: ru-RU\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=\"utf-8\"\n"
        b"Content-Transfer-Encoding: base64\n"
        % (bword("Автоматический ответ: Показания счётчика"), bword("Показания счётчика")))
    return build(head, b64body(text))


@case("dsn_bounce_mailer_daemon.eml",
      "Postfix delivery status notification: multipart/report; report-type=delivery-status "
      "from MAILER-DAEMON with Return-Path <>, text part, message/delivery-status and the "
      "returned robot reply as message/rfc822 (UTF-8 base64). Attachments counted: "
      "delivery-status + returned message",
      from_addr="mailer-daemon@mx.example.ru", subject="Undelivered Mail Returned to Sender",
      body="This is the mail system at host mx.example.ru", attachments=2)
def _():
    original = build(
        b"Return-Path: <support@example.com>\n"
        b"From: %s <support@example.com>\n"
        b"To: ivanov-old@example.ru\n"
        b"Subject: %s\n"
        b"Date: Mon, 3 Mar 2025 09:40:00 +0300\n"
        b"Message-ID: <reply.12345@robot.example.com>\n"
        b"Auto-Submitted: auto-replied\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: base64\n"
        % (bword("Горэлектросеть"), bword("Ваше обращение № 12345 зарегистрировано")),
        b64body("Ваше обращение № 12345 зарегистрировано.\n".encode("utf-8")), eol=LF)
    head = (
        b"Return-Path: <>\n"
        b"Received: by mx.example.ru (Postfix) id 4Q0BOUNCE1; Mon,  3 Mar 2025 09:40:05 +0300 (MSK)\n"
        b"Date: Mon,  3 Mar 2025 09:40:05 +0300 (MSK)\n"
        b"From: MAILER-DAEMON@mx.example.ru (Mail Delivery System)\n"
        b"Subject: Undelivered Mail Returned to Sender\n"
        b"To: support@example.com\n"
        b"Auto-Submitted: auto-replied\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/report; report-type=delivery-status;\n"
        b"\tboundary=\"4Q0BOUNCE1.1741000805/mx.example.ru\"\n"
        b"Content-Transfer-Encoding: 8bit\n"
        b"Message-Id: <20250303064005.4Q0BOUNCE1@mx.example.ru>\n")
    body = (b"This is a MIME-encapsulated message.\n\n"
            b"--4Q0BOUNCE1.1741000805/mx.example.ru\n"
            b"Content-Description: Notification\n"
            b"Content-Type: text/plain; charset=us-ascii\n\n"
            b"This is the mail system at host mx.example.ru.\n\n"
            b"I'm sorry to have to inform you that your message could not\n"
            b"be delivered to one or more recipients. It's attached below.\n\n"
            b"                   The mail system\n\n"
            b"<ivanov-old@example.ru>: host mx.example.ru[192.0.2.25] said: 550 5.1.1\n"
            b"    <ivanov-old@example.ru>: Recipient address rejected: User unknown (in\n"
            b"    reply to RCPT TO command)\n\n"
            b"--4Q0BOUNCE1.1741000805/mx.example.ru\n"
            b"Content-Description: Delivery report\n"
            b"Content-Type: message/delivery-status\n\n"
            b"Reporting-MTA: dns; mx.example.ru\n"
            b"X-Postfix-Queue-ID: 4Q0BOUNCE1\n"
            b"X-Postfix-Sender: rfc822; support@example.com\n"
            b"Arrival-Date: Mon,  3 Mar 2025 09:40:00 +0300 (MSK)\n\n"
            b"Final-Recipient: rfc822; ivanov-old@example.ru\n"
            b"Original-Recipient: rfc822;ivanov-old@example.ru\n"
            b"Action: failed\n"
            b"Status: 5.1.1\n"
            b"Remote-MTA: dns; mx.example.ru\n"
            b"Diagnostic-Code: smtp; 550 5.1.1 <ivanov-old@example.ru>: Recipient address\n"
            b"    rejected: User unknown\n\n"
            b"--4Q0BOUNCE1.1741000805/mx.example.ru\n"
            b"Content-Description: Undelivered Message\n"
            b"Content-Type: message/rfc822\n\n" + original + b"\n"
            b"--4Q0BOUNCE1.1741000805/mx.example.ru--\n")
    return build(head, body)


@case("mailing_list_newsletter.eml",
      "Mailing-list newsletter: List-Id, List-Unsubscribe (+ One-Click), Precedence: list, "
      "multipart/alternative; must not be registered as an appeal",
      from_addr="news@example.org", subject="Плановые отключения электроэнергии",
      body="плановые отключения электроэнергии")
def _():
    text = ("Уважаемые абоненты!\n\n12 марта с 9:00 до 17:00 будут проводиться "
            "плановые отключения электроэнергии\nна улицах Ленина, Садовой и Мира.\n\n"
            "Отписаться: https://news.example.org/unsubscribe?u=42\n").encode("utf-8")
    html = ("<html><body><h1>Уважаемые абоненты!</h1><p>12 марта с 9:00 до 17:00 будут "
            "проводиться плановые отключения электроэнергии на улицах Ленина, Садовой и "
            "Мира.</p><img src=\"https://news.example.org/pixel.gif?u=42\" width=1 height=1>"
            "</body></html>\n").encode("utf-8")
    head = trace(39, b"lists.example.org") + (
        b"From: %s <news@example.org>\n"
        b"Reply-To: noreply@example.org\n"
        b"To: support@example.com\n"
        b"Subject: [%s] %s\n"
        b"List-Id: =?UTF-8?Q?=D0=9D=D0=BE=D0=B2=D0=BE=D1=81=D1=82=D0=B8?= <news.example.org>\n"
        b"List-Unsubscribe: <mailto:unsubscribe-42@example.org>,\n"
        b" <https://news.example.org/unsubscribe?u=42>\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
        b"List-Archive: <https://news.example.org/archive/>\n"
        b"Precedence: list\n"
        b"X-Mailer: Sendsay\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/alternative; boundary=\"=_news_42_=\"\n"
        % (bword("Энергосбыт: новости"), bword("Новости"),
           bword("Плановые отключения электроэнергии 12 марта")))
    body = (b"--=_news_42_=\n"
            b"Content-Type: text/plain; charset=utf-8\n"
            b"Content-Transfer-Encoding: quoted-printable\n\n" + qpbody(text) + b"\n"
            b"--=_news_42_=\n"
            b"Content-Type: text/html; charset=utf-8\n"
            b"Content-Transfer-Encoding: base64\n\n" + b64body(html) + b"\n"
            b"--=_news_42_=--\n")
    return build(head, body)


# ==========================================================================
# 7. XSS payloads
# ==========================================================================

XSS_HTML = """\
<html><head><script>alert('xss-head')</script>
<style>body{background:url("javascript:alert('css')")}</style></head>
<body onload="alert('onload')">
<p>Здравствуйте! Нет света в подъезде дома 10 по ул. Мира.</p>
<img src="x" onerror="alert(document.cookie)">
<a href="javascript:alert('click')">Фото щитка</a>
<a href="JaVaScRiPt&#58;alert(2)">ещё ссылка</a>
<a href=" &#x6A;avascript:alert(3)">и ещё</a>
<svg/onload=alert(4)>
<iframe src="data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg=="></iframe>
<form action="https://evil.example.com/"><input name="ls" value="5566778899"></form>
<p>Лицевой счёт 5566778899.</p>
<scr<script>ipt>alert(6)</scr</script>ipt>
</body></html>
"""


@case("xss_html_body_and_subject.eml",
      "HTML-only UTF-8 body full of XSS vectors (<script>, onerror=, onload=, javascript: "
      "and entity-obfuscated javascript: links, <svg/onload>, data: iframe, nested "
      "<scr<script>ipt>); Subject decodes to text containing <script>…</script>",
      from_addr="mironov@example.com", subject="Нет света",
      body="Нет света в подъезде дома 10")
def _():
    head = trace(40, b"mail.example.com") + (
        b"From: %s <mironov@example.com>\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: text/html; charset=utf-8\n"
        b"Content-Transfer-Encoding: quoted-printable\n"
        % (bword("<img src=x onerror=alert('name')>"),
           bword("Нет света <script>alert('subject')</script>")))
    return build(head, qpbody(XSS_HTML.encode("utf-8")))


@case("xss_attachment_filenames.eml",
      "Attachment names carrying XSS and path traversal: an RFC 2231 filename "
      "\"><img src=x onerror=alert(1)>.pdf, an RFC 2047 name <script>alert(2)</script>.png "
      "and a plain ../../../etc/cron.d/evil; the file names must be escaped/sanitised",
      from_addr="mironov@example.com", subject="Документы", body="документы по счётчику",
      attachments=3)
def _():
    head = trace(41, b"mail.example.com") + (
        b"From: mironov@example.com\n"
        b"To: support@example.com\n"
        b"Subject: %s\n"
        b"MIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"xss-files\"\n" % bword("Документы"))
    body = (b"--xss-files\n"
            b"Content-Type: text/plain; charset=utf-8\n"
            b"Content-Transfer-Encoding: 8bit\n\n"
            + "Высылаю документы по счётчику.\n".encode("utf-8") + b"\n"
            b"--xss-files\n"
            b"Content-Type: application/pdf\n"
            b"Content-Disposition: attachment; filename*="
            + rfc2231("\"><img src=x onerror=alert(1)>.pdf") + b"\n"
            b"Content-Transfer-Encoding: base64\n\n" + b64body(PDF_BYTES) + b"\n"
            b"--xss-files\n"
            b"Content-Type: image/png; name=\"" + bword("<script>alert(2)</script>.png") + b"\"\n"
            b"Content-Disposition: attachment; filename=\""
            + bword("<script>alert(2)</script>.png") + b"\"\n"
            b"Content-Transfer-Encoding: base64\n\n" + b64body(PNG_BYTES) + b"\n"
            b"--xss-files\n"
            b"Content-Type: application/octet-stream\n"
            b"Content-Disposition: attachment; filename=\"../../../etc/cron.d/evil\"\n"
            b"Content-Transfer-Encoding: base64\n\n"
            + b64body(b"* * * * * root /bin/true\n") + b"\n"
            b"--xss-files--\n")
    return build(head, body)


# ==========================================================================
# Files copied byte for byte from public corpora (public/); not generated
# ==========================================================================

PSF = "PSF-2.0 (Python Software Foundation License Version 2)"
MIT_MAIL = "MIT (Copyright (c) 2009-2015 Mikel Lindsaar; see public/LICENSES.md)"
APACHE = "Apache-2.0"

PUBLIC = [
    {"file": "public/cpython_msg_15.txt",
     "case": "Outlook Express for Mac: inner multipart/alternative reuses the outer "
             "boundary string, preamble starting with '>', bogus base64 in the GIF "
             "attachment ('Some removed base64 encoded chars.'). The text/html alternative "
             "is not counted as an attachment; Python's stdlib loses the GIF part into the "
             "epilogue, a nesting-aware parser recovers it (same as nested_same_boundary.eml)",
     "source": "python/cpython Lib/test/test_email/data/msg_15.txt "
               "(commit a94cdb894ce27ca42628ac327af240ccec3b7c75)",
     "licence": PSF,
     "expect": {"from_addr": "xx@xx.dk", "subject_contains": "XX",
                "body_contains": "Some removed test.", "attachments": 1, "defective": True}},
    {"file": "public/cpython_msg_35.txt",
     "case": "No empty line between headers and body: the body line follows the Subject",
     "source": "python/cpython Lib/test/test_email/data/msg_35.txt "
               "(commit 5f823b3d76cfb69f98edbe3aa3b8038808d40955)",
     "licence": PSF,
     "expect": {"from_addr": "aperson@dom.ain", "subject_contains": "here's something interesting",
                "body_contains": "counter to RFC 5322", "attachments": 0, "defective": True}},
    {"file": "public/cpython_msg_47.txt",
     "case": "Spam with an impossible Date (hour 27) and a display name that is itself an "
             "address (\"123@abuse.net\" <123@example.com>): the real address is the one "
             "in angle brackets",
     "source": "python/cpython Lib/test/test_email/data/msg_47.txt "
               "(commit 2e31ff5efb6deec1fac15e41b4628886ee0a57c6)",
     "licence": PSF,
     "expect": {"from_addr": "123@example.com", "subject_contains": "VIARGA|CIALIS|LEVITRA",
                "body_contains": "PHARRMACY ON1INE", "attachments": 0, "defective": True}},
    {"file": "public/cpython_msg_16.txt",
     "case": "Real Sun Internet Mail Server DSN (multipart/report without report-type, "
             "upper-case message/DELIVERY-STATUS and MESSAGE/RFC822) relayed through a "
             "Mailman list (List-Id, Precedence: bulk, Return-Path <>)",
     "source": "python/cpython Lib/test/test_email/data/msg_16.txt "
               "(commit a94cdb894ce27ca42628ac327af240ccec3b7c75)",
     "licence": PSF,
     "expect": {"from_addr": "postmaster@ucla.edu", "subject_contains": "Delivery has failed",
                "body_contains": "recipient reached disk quota", "attachments": 2,
                "defective": False}},
    {"file": "public/mailparser_mail_malformed_2.eml",
     "case": "Real DSN whose message/rfc822-headers part declares the returned message as "
             "multipart/alternative with a boundary but (correctly for rfc822-headers) has "
             "no body. Python's stdlib parses that part as a full message and reports "
             "boundary defects; a parser that treats rfc822-headers as headers-only finds "
             "nothing wrong, hence defective=false",
     "source": "SpamScope/mail-parser tests/mails/mail_malformed_2 "
               "(commit 2762935c14339ad002533cb1209a41c6e35ab9a9)",
     "licence": APACHE,
     "expect": {"from_addr": "postmaster@netpar.com.br", "subject_contains": "Delivery failure",
                "body_contains": "User's mailbox quota exceeded", "attachments": 2,
                "defective": False}},
    {"file": "public/mail_multiple_content_types.eml",
     "case": "Two Content-Type header fields (multipart/alternative with boundary, then "
             "text/plain); the first one matches the body structure",
     "source": "mikel/mail spec/fixtures/emails/error_emails/multiple_content_types.eml "
               "(commit 86b0aab8bb2d3f63e638ce9992d196917d162785)",
     "licence": MIT_MAIL,
     "expect": {"from_addr": "redacted@flashmail.net", "subject_contains": "Redacted",
                "body_contains": "foo", "attachments": 0, "defective": True}},
    {"file": "public/mail_bad_encoded_subject.eml",
     "case": "Headers-only minimal message, no From; Subject =?NONE?B?VEVTVA=?= has an "
             "unknown charset name and wrong base64 padding (lenient decoding gives TEST). "
             "CRLF line endings (see README about how they were recovered)",
     "source": "mikel/mail spec/fixtures/emails/error_emails/bad_encoded_subject.eml "
               "(commit 4d32b95c15ebacf7c590c1c5722a914cbcbd951c)",
     "licence": MIT_MAIL,
     "expect": {"from_addr": None, "subject_contains": "TEST", "body_contains": "TEST",
                "attachments": 0, "defective": True}},
    {"file": "public/mail_weird_to_header.eml",
     "case": "Web-form mail: To list starting with an empty element ('To: , a, b'), empty "
             "Subject with trailing space, body of labels only. CRLF line endings (see README)",
     "source": "mikel/mail spec/fixtures/emails/error_emails/weird_to_header.eml "
               "(commit 21222e1b48f08f6f848d26643d6b6fb1d873d18c)",
     "licence": MIT_MAIL,
     "expect": {"from_addr": "anonymous@i.tp.host", "subject_contains": None,
                "body_contains": "PAGE THEY WERE ON:", "attachments": 0, "defective": True}},
    {"file": "public/mail_content_transfer_encoding_x_uuencode.eml",
     "case": "Enron-corpus message: attachment with Content-Transfer-Encoding: x-uuencode "
             "and an empty body, parameters continued on lines starting with ' ; ', "
             "a 13-line Comments: header, upper-case address LPETERS@PACIFIER.COM",
     "source": "mikel/mail spec/fixtures/emails/error_emails/"
               "content_transfer_encoding_x_uuencode.eml "
               "(commit 132bcff0a5a1e360d4e0847df334398ab6f7ea1c)",
     "licence": MIT_MAIL,
     "expect": {"from_addr": "lpeters@pacifier.com", "subject_contains": "PGP Comments on RTO West",
                "body_contains": "Attached are the comments of the Public Generating Pool",
                "attachments": 1, "defective": True}},
]


def main():
    manifest = []
    for entry in CASES:
        data = entry["make"]()
        with open(os.path.join(HERE, entry["file"]), "wb") as fh:
            fh.write(data)
        manifest.append({"file": entry["file"], "case": entry["case"], "source": TEAM,
                         "licence": TEAM_LICENCE, "expect": entry["expect"]})
    for entry in PUBLIC:
        if not os.path.exists(os.path.join(HERE, entry["file"])):
            raise SystemExit("missing public file: " + entry["file"])
        manifest.append(entry)
    names = [m["file"] for m in manifest]
    assert len(names) == len(set(names)), "duplicate file names"
    with open(os.path.join(HERE, "manifest.json"), "w", encoding="utf-8", newline="\n") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    print("wrote %d generated files, manifest with %d entries" % (len(CASES), len(manifest)))


if __name__ == "__main__":
    main()
