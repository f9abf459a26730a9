"""CSV and TSV, EPUB, e-mail and RTF, on files written here.

Each format is built by hand (ZIP parts and XML, the email package, RTF source), small
but valid, and read through the registry like any file Trove meets: text and locations
must both come out right.  Hostile variants of the same files must fail with the right
category, quickly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from core.extract import Category, Registry
from tests.extract_files import (
    LIMIT,
    add_zeros,
    by_location,
    extract,
    failure,
    full_text,
    write_zip,
)

# ---------------------------------------------------------------- CSV and TSV


def test_csv_pieces_repeat_the_header_and_locate_rows(registry: Registry, tmp_path: Path) -> None:
    lines = ["date;crossing;passengers"]
    lines += [f"2024-01-{n % 28 + 1:02d};North quay {n};{n * 3}" for n in range(1, 90)]
    lines.insert(5, '2024-02-30;"Quoted; with a\nline break";7')
    path = tmp_path / "crossings.csv"
    path.write_text("\n".join(lines) + "\n", encoding="cp1252")
    document = extract(registry, path)
    assert [piece.location for piece in document.pieces] == [
        "rows 1-40",
        "rows 41-80",
        "rows 81-91",
    ]
    first, second = document.pieces[0].text, document.pieces[1].text
    assert first.startswith("date | crossing | passengers\n2024-01-02 | North quay 1 | 3")
    assert "Quoted; with a\nline break | 7" in first
    assert second.startswith("date | crossing | passengers\n")
    assert second.splitlines()[1] == "2024-01-12 | North quay 39 | 117"  # row 41


def test_tsv_with_empty_cells(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "fares.tsv"
    path.write_text("route\tprice\tnote\nNorth\t4\t\nSouth\t\tclosed\n", encoding="utf-8")
    document = extract(registry, path)
    assert [(p.location, p.text) for p in document.pieces] == [
        ("rows 1-3", "route | price | note\nNorth | 4\nSouth |  | closed")
    ]


# ---------------------------------------------------------------- EPUB

OPF_NS = 'xmlns="http://www.idpf.org/2007/opf" xmlns:dc="http://purl.org/dc/elements/1.1/"'


def xhtml(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html>'
        f'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{title}</title></head>'
        f"<body>{body}</body></html>"
    )


CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" '
    'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
    '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)


def make_epub(path: Path, extra: dict[str, str] | None = None) -> Path:
    """An EPUB 3 book: the manifest lists chapter two first, the spine puts it second."""
    opf = (
        f'<package {OPF_NS} version="3.0"><metadata><dc:title>The Keeper\'s Log</dc:title>'
        "</metadata><manifest>"
        '<item id="c2" href="text/two.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        '<item id="c1" href="text/one%20a.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="c3" href="text/three.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="css" href="style.css" media-type="text/css"/></manifest>'
        '<spine><itemref idref="nav"/><itemref idref="c1"/><itemref idref="c2"/>'
        '<itemref idref="c3"/><itemref idref="css"/></spine></package>'
    )
    nav = xhtml(
        "Contents",
        '<nav epub:type="toc" xmlns:epub="http://www.idpf.org/2007/ops"><ol>'
        '<li><a href="text/one%20a.xhtml">The First Storm</a></li>'
        '<li><a href="text/two.xhtml#start">Calm Seas</a></li></ol></nav>',
    )
    parts = {
        "mimetype": "application/epub+zip",
        "META-INF/container.xml": CONTAINER,
        "OEBPS/content.opf": opf,
        "OEBPS/nav.xhtml": nav,
        "OEBPS/text/two.xhtml": xhtml("x", "<p>The sea lay flat for a week.</p>"),
        "OEBPS/text/one a.xhtml": xhtml(
            "x", "<h1>I. The First Storm</h1><p>Waves broke over the lamp room.</p>"
        ),
        "OEBPS/text/three.xhtml": xhtml("x", "<h2>Epilogue</h2><p>The light still turns.</p>"),
        "OEBPS/style.css": "p { margin: 0 }",
    }
    return write_zip(path, parts | (extra or {}))


def test_epub_chapters_in_spine_order_titled_from_the_toc(
    registry: Registry, tmp_path: Path
) -> None:
    document = extract(registry, make_epub(tmp_path / "log.epub"))
    assert document.title == "The Keeper's Log"
    assert [(p.location, p.text) for p in document.pieces] == [
        ("The First Storm", "I. The First Storm\n\nWaves broke over the lamp room."),
        ("Calm Seas", "The sea lay flat for a week."),
        ("Epilogue", "Epilogue\n\nThe light still turns."),  # not in the toc: its heading
    ]


def test_epub2_titles_come_from_the_ncx(registry: Registry, tmp_path: Path) -> None:
    opf = (
        f'<package {OPF_NS} version="2.0"><metadata><dc:title>Old Book</dc:title></metadata>'
        '<manifest><item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>'
        '<item id="a" href="a.html" media-type="application/xhtml+xml"/>'
        '<item id="b" href="b.html" media-type="application/xhtml+xml"/></manifest>'
        '<spine toc="ncx"><itemref idref="a"/><itemref idref="b"/></spine></package>'
    )
    ncx = (
        '<?xml version="1.0"?><!DOCTYPE ncx PUBLIC "-//NISO//DTD ncx 2005-1//EN" '
        '"http://www.daisy.org/z3986/2005/ncx-2005-1.dtd">'
        '<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><navMap>'
        '<navPoint id="p1"><navLabel><text>Arrival</text></navLabel><content src="a.html"/>'
        "</navPoint></navMap></ncx>"
    )
    path = write_zip(
        tmp_path / "old.epub",
        {
            "mimetype": "application/epub+zip",
            "META-INF/container.xml": CONTAINER,
            "OEBPS/content.opf": opf,
            "OEBPS/toc.ncx": ncx,
            "OEBPS/a.html": xhtml("a", "<p>We came by the night boat.</p>"),
            "OEBPS/b.html": xhtml("b", "<p>No heading here.</p>"),
        },
    )
    document = extract(registry, path)
    assert document.title == "Old Book"
    assert [(p.location, p.text) for p in document.pieces] == [
        ("Arrival", "We came by the night boat."),
        ("chapter 2", "No heading here."),
    ]


ENCRYPTION = (
    '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
    'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
    '<enc:EncryptionMethod Algorithm="{algorithm}"/><enc:CipherData>'
    '<enc:CipherReference URI="{uri}"/></enc:CipherData></enc:EncryptedData></encryption>'
)


def test_drm_epub_is_password_protected(registry: Registry, tmp_path: Path) -> None:
    encryption = ENCRYPTION.format(
        algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc", uri="OEBPS/text/two.xhtml"
    )
    path = make_epub(tmp_path / "drm.epub", {"META-INF/encryption.xml": encryption})
    failed = failure(registry, path)
    assert failed.category == Category.PASSWORD
    assert "DRM" in failed.reason


def test_epub_with_obfuscated_fonts_only_is_read(registry: Registry, tmp_path: Path) -> None:
    encryption = ENCRYPTION.format(
        algorithm="http://www.idpf.org/2008/embedding", uri="OEBPS/fonts/serif.otf"
    )
    path = make_epub(tmp_path / "fonts.epub", {"META-INF/encryption.xml": encryption})
    assert "lamp room" in full_text(extract(registry, path))


def test_epub_zip_bomb_is_refused(registry: Registry, tmp_path: Path) -> None:
    path = make_epub(tmp_path / "bomb.epub")
    add_zeros(path, "OEBPS/text/two.xhtml.bak", 300)
    failed = failure(registry, path)
    assert failed.category == Category.CORRUPT
    assert "decompression bomb" in failed.reason


def test_plain_zip_named_epub_is_the_wrong_type(registry: Registry, tmp_path: Path) -> None:
    path = write_zip(tmp_path / "photos.epub", {"IMG_0001.txt": "holiday"})
    failed = failure(registry, path)
    assert failed.category == Category.WRONG_TYPE
    assert "plain ZIP archive" in failed.reason


# ---------------------------------------------------------------- e-mail

SENT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def make_message(subject: str, body: str, html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "Ann Keeper <ann@lighthouse.example>"
    message["To"] = "crew@lighthouse.example"
    message["Date"] = format_datetime(SENT)
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def test_eml_headers_body_and_attachments(registry: Registry, tmp_path: Path) -> None:
    message = make_message(
        "Lamp room repairs — café budget", "The lens needs cleaning.\nBring cloths.",
        "<p>HTML twin of the body</p>",
    )  # fmt: skip
    message.add_attachment(bytes(2048), maintype="application", subtype="pdf", filename="quote.pdf")
    path = tmp_path / "repairs.eml"
    path.write_bytes(message.as_bytes())
    document = extract(registry, path)
    assert document.title == "Lamp room repairs — café budget"
    sections = by_location(document)
    assert list(sections) == ["headers", "body", "attachments"]
    assert sections["headers"] == (
        "Subject: Lamp room repairs — café budget\n"
        "From: Ann Keeper <ann@lighthouse.example>\n"
        "To: crew@lighthouse.example\n"
        "Date: Fri, 01 Mar 2024 09:30:00 +0000"
    )
    assert sections["body"] == "The lens needs cleaning.\nBring cloths."
    assert sections["attachments"] == "quote.pdf (2 KB)"


def test_eml_with_only_html_reads_the_html_as_text(registry: Registry, tmp_path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "Newsletter"
    html = "<html><head><style>p{}</style></head><body><h1>Tides</h1><p>High at noon.</p>"
    message.set_content(html + "</body></html>", subtype="html")
    path = tmp_path / "news.eml"
    path.write_bytes(message.as_bytes())
    assert by_location(extract(registry, path))["body"] == "Tides\n\nHigh at noon."


def test_eml_without_headers_is_the_wrong_type(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "notes.eml"
    path.write_text("\n\njust some words\n", encoding="utf-8")
    assert failure(registry, path).category == Category.WRONG_TYPE


def test_mbox_messages_are_located_by_number_and_subject(
    registry: Registry, tmp_path: Path
) -> None:
    first = make_message("Rota for March", "Ann takes the first week.\n>From the log: calm.")
    second = make_message("Fuel delivery", "The boat comes on Tuesday.")
    second.add_attachment(b"x" * 10, maintype="text", subtype="plain", filename="manifest.txt")
    chunks = []
    for message in (first, second):
        raw = message.as_bytes().replace(b"\n>From", b"\n>>From")  # mboxrd escaping
        chunks.append(b"From ann@lighthouse.example Fri Mar  1 09:30:00 2024\n" + raw + b"\n")
    path = tmp_path / "keepers.mbox"
    path.write_bytes(b"".join(chunks))
    document = extract(registry, path)
    assert document.title is None
    sections = by_location(document)
    assert list(sections) == ["message 1: Rota for March", "message 2: Fuel delivery"]
    rota = sections["message 1: Rota for March"]
    assert rota.startswith("Subject: Rota for March\nFrom: Ann Keeper")
    assert "Ann takes the first week.\n>From the log: calm." in rota
    assert sections["message 2: Fuel delivery"].endswith("manifest.txt (10 bytes)")


# ---------------------------------------------------------------- RTF

RTF = (
    r"{\rtf1\ansi\ansicpg1252\deff0"
    r"{\fonttbl{\f0\fswiss\fcharset0 Helvetica;}{\f1\fnil\fcharset204 Cyrillic Font;}}"
    r"{\colortbl;\red255\green0\blue0;}"
    r"{\stylesheet{\s0 Normal Style Name;}}"
    r"{\info{\title Caf\'e9 Minutes}{\author Somebody Secret}}"
    r"{\*\generator Hidden Generator 1.0;}"
    "\n"
    r"\pard\plain The caf\'e9 costs \u8364? 5 and \u-10179?\u-8704? smiles.\par"
    "\n"
    r"{\f1 \'cf\'f0\'e8\'e2\'e5\'f2} from the keeper.\par "
    r"Line one\line line two\tab tabbed \{braces\}\par"
    r"{\pict\pngblip 89504e470d0a1a0a0000000d49484452}"
    r"{\object{\*\objdata 0105000002000000}}"
    r'{\field{\*\fldinst HYPERLINK "http://example.com"}{\fldrslt the link text}}\par'
    "\n"
    r"Binary \bin4 {}\\ skipped.\par"
    r"\uc2 Two fallbacks \u8212\'97\'97 done.\par"
    "}"
)


def test_rtf_text_escapes_and_title(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "minutes.rtf"
    path.write_bytes(RTF.encode("ascii"))
    document = extract(registry, path)
    assert document.title == "Café Minutes"
    text = full_text(document)
    assert text.split("\n\n") == [
        "The café costs € 5 and 😀 smiles.",
        "Привет from the keeper.",
        "Line one",
        "line two\ttabbed {braces}",
        "the link text",
        "Binary  skipped.",
        "Two fallbacks — done.",
    ]
    assert document.pieces[0].location == "paragraph 1"
    for hidden in ("Helvetica", "Normal Style", "Somebody", "Generator", "89504e", "HYPERLINK"):
        assert hidden not in text


def test_text_named_rtf_is_the_wrong_type(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "plain.rtf"
    path.write_text("just text, no RTF header", encoding="utf-8")
    assert failure(registry, path).category == Category.WRONG_TYPE


def test_csv_rows_longer_than_a_piece_are_cut_and_keep_their_row(
    registry: Registry, tmp_path: Path
) -> None:
    long_cell = " ".join(f"word{n}" for n in range(2000))  # about 16,000 characters
    path = tmp_path / "wide.csv"
    path.write_text(f"id,text\n1,short\n2,{long_cell}\n3,after\n", encoding="utf-8")
    document = extract(registry, path)  # checks every piece fits MAX_PIECE_CHARS
    locations = [piece.location for piece in document.pieces]
    assert locations[0] == "rows 1-2"
    assert set(locations[1:-1]) == {"row 3"}
    assert locations[-1] == "rows 3-4"
    assert all(p.text.startswith("id | text\n") for p in document.pieces[1:])


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("wild.rtf", rb"{\rtf1 Out of range \u99999999999 and \u-99999 code units.\par}"),
        ("unbalanced.rtf", rb"{\rtf1 {{{ never closed \'zz \bin99999999999"),
        ("date.eml", b"Subject: Far future\nDate: Mon, 1 Jan 99999999999 10:00:00 +0000\n\nbody"),
        ("header.eml", b"Subject: =?utf-8?q?broken\nFrom: <<<@>>>\nTo: ,,,\n\nStill a body."),
    ],
)
def test_malformed_text_formats_still_give_text(
    registry: Registry, tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert full_text(registry.extract(path, LIMIT)).strip()
