"""PowerPoint and Excel files, written here and read back, and their hostile variants."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from core.errors import ExtractionFailed
from core.extract import Category, Registry
from core.extract.archive import ZipLimits
from core.extract.xlsx import XlsxExtractor
from tests.extract_files import (
    MB,
    add_zeros,
    by_location,
    extract,
    failure,
    write_zip,
)

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
