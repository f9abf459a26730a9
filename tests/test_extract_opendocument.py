"""OpenDocument text, spreadsheets and presentations, written here and read back."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

from core.extract import Category, Registry
from tests.extract_files import (
    by_location,
    extract,
    failure,
    full_text,
    write_zip,
)

# ---------------------------------------------------------------- OpenDocument

ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"'
)
ODF_TYPES = {
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
}
MANIFEST_NS = 'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'


def make_odf(
    path: Path, kind: str, body: str, title: str | None = None, encrypted: bool = False
) -> Path:
    element = {"odt": "text", "ods": "spreadsheet", "odp": "presentation"}[kind]
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODF_NS} '
        f'office:version="1.2"><office:body><office:{element}>{body}'
        f"</office:{element}></office:body></office:document-content>"
    )
    meta_title = f"<dc:title>{title}</dc:title>" if title else ""
    meta = (
        f"<office:document-meta {ODF_NS}><office:meta>{meta_title}</office:meta>"
        "</office:document-meta>"
    )
    encryption = (
        '<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x">'
        '<manifest:algorithm manifest:algorithm-name="Blowfish CFB"/></manifest:encryption-data>'
        if encrypted
        else ""
    )
    manifest = (
        f"<manifest:manifest {MANIFEST_NS}>"
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{ODF_TYPES[kind]}"/>'
        f'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
        f"{encryption}</manifest:file-entry></manifest:manifest>"
    )
    return write_zip(
        path,
        {
            "mimetype": ODF_TYPES[kind],
            "content.xml": content,
            "meta.xml": meta,
            "META-INF/manifest.xml": manifest,
        },
    )


ODT_BODY = """
<text:sequence-decls><text:sequence-decl text:name="Figure"/></text:sequence-decls>
<text:p text:style-name="Standard">An opening remark before any heading.</text:p>
<text:h text:outline-level="1">Harbour Operations</text:h>
<text:p>Ferries<text:s text:c="3"/>cross<text:tab/>twice daily.<text:note>
<text:note-citation>1</text:note-citation><text:note-body>
<text:p>Except on public holidays.</text:p>
</text:note-body></text:note> Tickets are sold <text:span>on board</text:span>.</text:p>
<table:table table:name="Fares"><table:table-column/>
<table:table-row><table:table-cell><text:p>Route</text:p></table:table-cell>
<table:table-cell><text:p>Price</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell><text:p>North quay</text:p></table:table-cell>
<table:table-cell><text:p>4 euros</text:p></table:table-cell></table:table-row></table:table>
<text:h text:outline-level="2">Winter Schedule</text:h>
<text:list><text:list-item><text:p>Last crossing at six.</text:p></text:list-item></text:list>
<text:tracked-changes><text:changed-region><text:deletion>
<text:p>Words the author deleted.</text:p>
</text:deletion></text:changed-region></text:tracked-changes>
"""


def test_odt_reads_headings_paragraphs_tables_and_notes(registry: Registry, tmp_path: Path) -> None:
    path = make_odf(tmp_path / "harbour.odt", "odt", ODT_BODY, title="Port Handbook")
    document = extract(registry, path)
    assert document.title == "Port Handbook"
    sections = by_location(document)
    assert list(sections) == [
        "paragraph 1",
        "Harbour Operations",
        "Harbour Operations › Winter Schedule",
    ]
    assert sections["paragraph 1"] == "An opening remark before any heading."
    harbour = sections["Harbour Operations"]
    assert "Ferries   cross\ttwice daily. Tickets are sold on board." in harbour
    assert "Except on public holidays." in harbour  # the footnote, after its paragraph
    assert "Route | Price\nNorth quay | 4 euros" in harbour
    assert "Last crossing at six." in sections["Harbour Operations › Winter Schedule"]
    assert "deleted" not in full_text(document)


def test_odt_title_falls_back_to_the_first_heading(registry: Registry, tmp_path: Path) -> None:
    path = make_odf(tmp_path / "t.ott", "odt", '<text:h text:outline-level="1">Minutes</text:h>')
    assert extract(registry, path).title == "Minutes"


ODS_BODY = """
<table:table table:name="Budget">
<table:table-column table:number-columns-repeated="3"/>
<table:table-row>
<table:table-cell office:value-type="string"><text:p>Item</text:p></table:table-cell>
<table:table-cell><text:p>Cost</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell><text:p>Rent</text:p>
<office:annotation><dc:creator>Ann</dc:creator><text:p>Due on the first</text:p></office:annotation>
</table:table-cell><table:table-cell table:number-columns-repeated="1000"/>
<table:table-cell office:value-type="float" office:value="1200">
<text:p>1200</text:p></table:table-cell>
</table:table-row>
<table:table-row table:number-rows-repeated="2"><table:table-cell table:number-columns-repeated="3">
<text:p>0</text:p></table:table-cell></table:table-row>
<table:table-row table:number-rows-repeated="1048000"><table:table-cell/></table:table-row>
<table:table-row><table:table-cell><text:p>Far below</text:p></table:table-cell></table:table-row>
</table:table>
<table:table table:name="Notes"><table:table-row><table:table-cell>
<text:p>Ask about the deposit</text:p></table:table-cell></table:table-row></table:table>
"""


def test_ods_rows_are_located_by_sheet_and_row(registry: Registry, tmp_path: Path) -> None:
    path = make_odf(tmp_path / "budget.ods", "ods", ODS_BODY)
    document = extract(registry, path)
    sections = by_location(document)
    assert sections["Budget, rows 1-4"] == "Item | Cost\nRent | 1200\n0 | 0 | 0\n0 | 0 | 0"
    assert sections["Budget, row 1048005"] == "Far below"  # empty repeats counted, not copied
    assert sections["Budget, comments"] == "A2: Due on the first"
    assert sections["Notes, row 1"] == "Ask about the deposit"
    assert "Ann" not in full_text(document)


def odp_page(number: int, title: str, body: str, notes: str) -> str:
    return (
        f'<draw:page draw:name="page{number}">'
        f'<draw:frame presentation:class="title"><draw:text-box><text:p>{title}</text:p>'
        f"</draw:text-box></draw:frame>"
        f'<draw:frame presentation:class="outline"><draw:text-box><text:list><text:list-item>'
        f"<text:p>{body}</text:p></text:list-item></text:list></draw:text-box></draw:frame>"
        f"<presentation:notes><draw:page-thumbnail/><draw:frame><draw:text-box>"
        f"<text:p>{notes}</text:p></draw:text-box></draw:frame></presentation:notes></draw:page>"
    )


def test_odp_slides_and_speaker_notes(registry: Registry, tmp_path: Path) -> None:
    pages = odp_page(1, "Quarterly Review", "Revenue grew", "Thank the team first") + odp_page(
        2, "Next Steps", "Hire two engineers", "Mention the budget"
    )
    document = extract(registry, make_odf(tmp_path / "talk.odp", "odp", pages))
    assert document.title == "Quarterly Review"
    assert by_location(document) == {
        "slide 1": "Quarterly Review\nRevenue grew",
        "slide 1 notes": "Thank the team first",
        "slide 2": "Next Steps\nHire two engineers",
        "slide 2 notes": "Mention the budget",
    }


def test_encrypted_odt_needs_a_password(registry: Registry, tmp_path: Path) -> None:
    path = make_odf(tmp_path / "secret.odt", "odt", "<text:p>x</text:p>", encrypted=True)
    assert failure(registry, path).category == Category.PASSWORD


def test_spreadsheet_named_odt_is_the_wrong_type(registry: Registry, tmp_path: Path) -> None:
    path = make_odf(tmp_path / "budget.odt", "ods", ODS_BODY)
    failed = failure(registry, path)
    assert failed.category == Category.WRONG_TYPE
    assert "OpenDocument spreadsheet" in failed.reason


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>
<text:p>&lol9;</text:p></office:text></office:body></office:document-content>"""


def test_billion_laughs_in_odt_is_refused(registry: Registry, tmp_path: Path) -> None:
    path = make_odf(tmp_path / "laughs.odt", "odt", "")
    with zipfile.ZipFile(path) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    parts["content.xml"] = BILLION_LAUGHS.encode()
    write_zip(path, parts)
    started = time.monotonic()
    failed = failure(registry, path)
    assert failed.category == Category.CORRUPT
    assert "entities" in failed.reason
    assert time.monotonic() - started < 2


def test_deeply_nested_odt_does_not_exhaust_the_stack(registry: Registry, tmp_path: Path) -> None:
    depth = 200_000
    body = "<text:p>" + "<text:span>" * depth + "deep words" + "</text:span>" * depth + "</text:p>"
    path = make_odf(tmp_path / "deep.odt", "odt", body)
    assert full_text(extract(registry, path)) == "deep words"
