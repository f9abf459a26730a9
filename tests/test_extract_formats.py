"""OpenDocument, PowerPoint, Excel, CSV, EPUB, e-mail and RTF, on files written here.

Each format is built by hand (ZIP parts and XML, the email package, RTF source), small
but valid, and read through the registry like any file Trove meets: text and locations
must both come out right.  Hostile variants of the same files must fail with the right
category, quickly.
"""

from __future__ import annotations

import time
import zipfile
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from core.errors import ExtractionFailed
from core.extract import Category, Document, Registry
from core.extract.archive import ZipLimits
from core.extract.pieces import MAX_PIECE_CHARS
from core.extract.xlsx import XlsxExtractor

MB = 1024 * 1024
LIMIT = 50 * MB


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.default()


def extract(registry: Registry, path: Path) -> Document:
    document = registry.extract(path, LIMIT)
    for piece in document.pieces:
        assert piece.text.strip()
        assert len(piece.text) <= MAX_PIECE_CHARS
    return document


def failure(registry: Registry, path: Path) -> ExtractionFailed:
    with pytest.raises(ExtractionFailed) as caught:
        registry.extract(path, LIMIT)
    return caught.value


def by_location(document: Document) -> dict[str, str]:
    """Text per location, pieces of the same location joined."""
    found: dict[str, str] = {}
    for piece in document.pieces:
        found[piece.location] = (found.get(piece.location, "") + "\n" + piece.text).strip()
    return found


def full_text(document: Document) -> str:
    return "\n".join(piece.text for piece in document.pieces)


def write_zip(path: Path, parts: dict[str, str | bytes]) -> Path:
    """A ZIP with ``parts`` in order; a "mimetype" part is stored uncompressed, as ODF
    and EPUB require."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compress_type=method)
    return path


def add_zeros(path: Path, name: str, megabytes: int) -> None:
    """Append a part of ``megabytes`` of zeros, written in chunks (a real bomb)."""
    chunk = bytes(MB)
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w", force_zip64=True) as member,
    ):
        for _ in range(megabytes):
            member.write(chunk)


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


# ---------------------------------------------------------------- PowerPoint

P_NS = (
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
)
RELS_NS = 'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)


def rels(*links: tuple[str, str, str]) -> str:
    items = "".join(
        f'<Relationship Id="{ident}" Type="{REL}/{kind}" Target="{target}"/>'
        for ident, kind, target in links
    )
    return f"<Relationships {RELS_NS}>{items}</Relationships>"


def core_properties(title: str) -> str:
    return (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{title}</dc:title></cp:coreProperties>"
    )


def shape(text: str, placeholder: str | None = None, y: int | None = None) -> str:
    ph = f'<p:nvPr><p:ph type="{placeholder}"/></p:nvPr>' if placeholder else "<p:nvPr/>"
    xfrm = (
        f'<a:xfrm><a:off x="0" y="{y}"/><a:ext cx="10" cy="10"/></a:xfrm>' if y is not None else ""
    )
    paragraphs = "".join(f"<a:p><a:r><a:t>{line}</a:t></a:r></a:p>" for line in text.split("\n"))
    return (
        f'<p:sp><p:nvSpPr><p:cNvPr id="2" name="s"/><p:cNvSpPr/>{ph}</p:nvSpPr>'
        f"<p:spPr>{xfrm}</p:spPr><p:txBody><a:bodyPr/>{paragraphs}</p:txBody></p:sp>"
    )


def table_frame(rows: list[list[str]]) -> str:
    cells = "".join(
        "<a:tr>"
        + "".join(
            f"<a:tc><a:txBody><a:p><a:r><a:t>{c}</a:t></a:r></a:p></a:txBody></a:tc>" for c in row
        )
        + "</a:tr>"
        for row in rows
    )
    return (
        '<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="9" name="t"/></p:nvGraphicFramePr>'
        '<p:xfrm><a:off x="0" y="5000000"/></p:xfrm><a:graphic><a:graphicData>'
        f"<a:tbl>{cells}</a:tbl></a:graphicData></a:graphic></p:graphicFrame>"
    )


def slide_xml(*shapes: str, root: str = "sld") -> str:
    return (
        f'<p:{root} {P_NS}><p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/>'
        f"<p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>{''.join(shapes)}"
        f"</p:spTree></p:cSld></p:{root}>"
    )


def make_pptx(path: Path) -> Path:
    """Three slides whose list order (2, 1, 3 by part name) is not their part order."""
    presentation = (
        f'<p:presentation {P_NS}><p:sldIdLst><p:sldId id="256" r:id="rB"/>'
        '<p:sldId id="257" r:id="rA"/><p:sldId id="258" r:id="rC"/></p:sldIdLst></p:presentation>'
    )
    notes = slide_xml(
        shape("", "sldImg"), shape("Remember to smile"), shape("1", "sldNum"), root="notes"
    )
    return write_zip(
        path,
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": rels(
                ("r1", "officeDocument", "ppt/presentation.xml"),
                ("r2", "metadata/core-properties", "docProps/core.xml"),
            ),
            "docProps/core.xml": core_properties("Lighthouse Pitch"),
            "ppt/presentation.xml": presentation,
            "ppt/_rels/presentation.xml.rels": rels(
                ("rA", "slide", "slides/slide1.xml"),
                ("rB", "slide", "slides/slide2.xml"),
                ("rC", "slide", "/ppt/slides/slide3.xml"),
            ),
            # Listed first: body text placed below a later title, then the title.
            "ppt/slides/slide2.xml": slide_xml(
                shape("Bottom line", y=6000000),
                shape("Top line", y=1000000),
                shape("Why lighthouses", "title"),
            ),
            "ppt/slides/_rels/slide2.xml.rels": rels(
                ("n1", "notesSlide", "../notesSlides/notesSlide1.xml")
            ),
            "ppt/notesSlides/notesSlide1.xml": notes,
            "ppt/slides/slide1.xml": slide_xml(
                shape("Costs", "title"), table_frame([["Lamp", "40"], ["Keeper", "900"]])
            ),
            "ppt/slides/slide3.xml": slide_xml(shape("Questions?", "ctrTitle")),
        },
    )


def test_pptx_slides_in_presentation_order_with_notes(registry: Registry, tmp_path: Path) -> None:
    document = extract(registry, make_pptx(tmp_path / "pitch.pptx"))
    assert document.title == "Lighthouse Pitch"
    assert [(p.location, p.text) for p in document.pieces] == [
        ("slide 1", "Why lighthouses\nTop line\nBottom line"),
        ("slide 1 notes", "Remember to smile"),
        ("slide 2", "Costs\nLamp | 40\nKeeper | 900"),
        ("slide 3", "Questions?"),
    ]


def test_pptx_without_a_slide_list_reads_slides_by_number(
    registry: Registry, tmp_path: Path
) -> None:
    path = write_zip(
        tmp_path / "bare.pptx",
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "ppt/presentation.xml": f"<p:presentation {P_NS}/>",
            "ppt/slides/slide10.xml": slide_xml(shape("Tenth")),
            "ppt/slides/slide2.xml": slide_xml(shape("Second")),
        },
    )
    document = extract(registry, path)
    assert [(p.location, p.text) for p in document.pieces] == [
        ("slide 1", "Second"),
        ("slide 2", "Tenth"),
    ]


def test_word_document_named_pptx_is_the_wrong_type(registry: Registry, tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "letter.pptx",
        {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": "<w:document/>"},
    )
    failed = failure(registry, path)
    assert failed.category == Category.WRONG_TYPE
    assert "Word document" in failed.reason


# ---------------------------------------------------------------- Excel

X_NS = (
    'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)


def sheet_xml(rows: list[str]) -> str:
    return f"<worksheet {X_NS}><sheetData>{''.join(rows)}</sheetData></worksheet>"


def make_xlsx(path: Path, budget_rows: int = 2) -> Path:
    strings = (
        f'<sst {X_NS} count="4"><si><t>Item</t></si><si><t>Cost</t></si>'
        "<si><r><t>Harbour </t></r><r><rPr><b/></rPr><t>dues</t></r>"
        "<rPh><t>ignored reading</t></rPh></si><si><t>Paid</t></si></sst>"
    )
    styles = (
        f'<styleSheet {X_NS}><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
        '</numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/>'
        '<xf numFmtId="164"/></cellXfs></styleSheet>'
    )
    rows = ['<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>']
    rows.append(
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>1234.5</v></c>'
        '<c r="C2" s="1"><v>45352</v></c><c r="D2" t="b"><v>1</v></c>'
        '<c r="E2" t="inlineStr"><is><t>inline note</t></is></c><c r="F2" t="e"><v>#DIV/0!</v></c>'
        '<c r="G2" s="2"><v>45352.5</v></c><c r="H2"><v>0.30000000000000004</v></c></row>'
    )
    rows += [f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(3, budget_rows + 1)]
    comments = (
        f"<comments {X_NS}><authors><author>Ann</author></authors><commentList>"
        '<comment ref="B2" authorId="0"><text><r><t>Check with the harbour master</t></r></text>'
        "</comment></commentList></comments>"
    )
    return write_zip(
        path,
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": rels(("r1", "officeDocument", "xl/workbook.xml")),
            "xl/workbook.xml": (
                f'<workbook {X_NS}><sheets><sheet name="Budget" sheetId="1" r:id="s1"/>'
                '<sheet name="Empty" sheetId="2" r:id="s2"/>'
                '<sheet name="Plans" sheetId="3" r:id="s3"/></sheets></workbook>'
            ),
            "xl/_rels/workbook.xml.rels": rels(
                ("s1", "worksheet", "worksheets/sheet1.xml"),
                ("s2", "worksheet", "worksheets/sheet2.xml"),
                ("s3", "worksheet", "worksheets/sheet3.xml"),
                ("ss", "sharedStrings", "sharedStrings.xml"),
                ("st", "styles", "styles.xml"),
            ),
            "xl/sharedStrings.xml": strings,
            "xl/styles.xml": styles,
            "xl/worksheets/sheet1.xml": sheet_xml(rows),
            "xl/worksheets/_rels/sheet1.xml.rels": rels(("c1", "comments", "../comments1.xml")),
            "xl/comments1.xml": comments,
            "xl/worksheets/sheet2.xml": sheet_xml(['<row r="1"><c r="A1"/></row>']),
            "xl/worksheets/sheet3.xml": sheet_xml(
                ['<row r="7"><c r="B7" t="s"><v>3</v></c></row>']
            ),
        },
    )


def test_xlsx_rows_by_sheet_with_strings_numbers_dates_and_comments(
    registry: Registry, tmp_path: Path
) -> None:
    document = extract(registry, make_xlsx(tmp_path / "budget.xlsx"))
    assert by_location(document) == {
        "Budget, rows 1-2": (
            "Item | Cost\nHarbour dues | 1234.5 | 2024-03-01 | TRUE | inline note"
            " | 2024-03-01 12:00 | 0.3"
        ),
        "Budget, comments": "B2: Check with the harbour master",
        "Plans, row 7": "Paid",
    }


def test_xlsx_rows_are_grouped_into_bounded_pieces(registry: Registry, tmp_path: Path) -> None:
    document = extract(registry, make_xlsx(tmp_path / "long.xlsx", budget_rows=120))
    locations = [piece.location for piece in document.pieces if piece.location.startswith("Budget")]
    assert locations == [
        "Budget, rows 1-40",
        "Budget, rows 41-80",
        "Budget, rows 81-120",
        "Budget, comments",
    ]


def test_xlsx_zip_bomb_is_refused(registry: Registry, tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "bomb.xlsx")
    add_zeros(path, "xl/media/padding.bin", 300)
    assert path.stat().st_size < 1 * MB
    failed = failure(registry, path)
    assert failed.category == Category.CORRUPT
    assert "decompression bomb" in failed.reason
    assert "300 MB" in failed.reason


def test_xlsx_inflation_budget_covers_parts_read_twice(tmp_path: Path) -> None:
    """Two sheets pointing at one part: each read fits, together they pass the budget."""
    path = make_xlsx(tmp_path / "twice.xlsx")
    with zipfile.ZipFile(path) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    big_row = '<row r="1"><c r="A1" t="inlineStr"><is><t>' + "w " * 300_000 + "</t></is></c></row>"
    parts["xl/worksheets/sheet2.xml"] = sheet_xml([big_row]).encode()
    parts["xl/_rels/workbook.xml.rels"] = rels(
        ("s1", "worksheet", "worksheets/sheet2.xml"),
        ("s2", "worksheet", "worksheets/sheet2.xml"),
        ("s3", "worksheet", "worksheets/sheet2.xml"),
    ).encode()
    write_zip(path, parts)
    XlsxExtractor(ZipLimits(max_total_bytes=2 * MB)).extract(path)  # read three times: fine
    with pytest.raises(ExtractionFailed) as caught:
        XlsxExtractor(ZipLimits(max_total_bytes=int(1.5 * MB))).extract(path)
    assert caught.value.category == Category.CORRUPT
    assert "inflated more than" in caught.value.reason


def test_truncated_xlsx_is_corrupt(registry: Registry, tmp_path: Path) -> None:
    whole = make_xlsx(tmp_path / "whole.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    assert failure(registry, path).category == Category.CORRUPT


def test_password_protected_xlsx_needs_a_password(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "secret.xlsx"
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    path.write_bytes(ole + bytes(504) + "EncryptedPackage".encode("utf-16-le") + bytes(512))
    assert failure(registry, path).category == Category.PASSWORD


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
    try:
        document = registry.extract(path, LIMIT)
    except ExtractionFailed as failed:
        assert failed.category != Category.CRASHED, failed.reason
        assert failed.category == Category.EMPTY
        return
    assert full_text(document).strip()
