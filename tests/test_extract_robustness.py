"""Every file of the shared robustness corpus, through a real worker process.

Each file must end in a Document or an ExtractionFailed with a category, never another
exception or a hang, and the outcome must be the one written down below: a phrase known
to be in the file's text, or the category of the failure.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.errors import ExtractionFailed
from core.extract import Category, Document, ExtractionPool, Registry
from core.extract.pieces import MAX_PIECE_CHARS

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "docs_robustness"
if not (CORPUS / "MANIFEST.json").is_file():
    pytest.skip(f"robustness corpus not found at {CORPUS}", allow_module_level=True)

MANIFEST: list[dict[str, object]] = json.loads((CORPUS / "MANIFEST.json").read_text("utf-8"))
MB = 1024 * 1024


@dataclass(frozen=True)
class Reads:
    """The extracted text contains ``phrase``, within a piece located at ``where`` if given."""

    phrase: str
    where: str | None = None


@dataclass(frozen=True)
class Decodes:
    """A text file in the encoding its name states: the text must equal the bytes
    decoded with that codec (ignoring whitespace) and contain ``phrase``."""

    encoding: str
    phrase: str


@dataclass(frozen=True)
class Fails:
    category: str


Expectation = Reads | Decodes | Fails

EXPECTED: dict[str, Expectation] = {
    # ---- PDF
    "pdf/sf__minimal-document.pdf": Reads("Lorem ipsum dolor sit amet"),
    "pdf/sf__libreoffice-writer-password.pdf": Fails(Category.PASSWORD),
    # One 16 x 16 pixel picture (a smiley): OCR finds no text in it.
    "pdf/sf__imagemagick-CCITTFaxDecode.pdf": Fails(Category.NO_TEXT_LAYER),
    "pdf/sf__GeoTopo-komprimiert.pdf": Reads("Geometrie und Topologie"),
    "pdf/sf__habibi-rotated.pdf": Reads("habibi"),
    # startxref has no offset and the linearized xref is unusable: PDFium (like pypdf)
    # cannot find the page tree.
    "pdf/sf__unreadablemetadata.pdf": Fails(Category.CORRUPT),
    "pdf/sf__multicolumn.pdf": Reads("Two-Column Document with Lorem Ipsum"),
    "pdf/pypdf__issue-297.pdf": Reads("test example"),
    "pdf/pypdf__crazyones-encrypted-256.pdf": Fails(Category.PASSWORD),
    "pdf/pypdf__r2-empty-password.pdf": Reads("pdf encryption test"),
    "pdf/pypdf__Seige_of_Vicksburg_Sample_OCR.pdf": Reads("THE SIEGE OF VICKSBURG"),
    "pdf/pdfminer__zen_of_python_corrupted.pdf": Reads("Beautiful is better than ugly"),
    "pdf/pdfminer__aes-256-r6.pdf": Fails(Category.PASSWORD),
    "pdf/pdfminer__jo.pdf": Reads("宇宙塵をたべ"),
    "pdf/pdfminer__issue-1113-evil-xobjects.pdf": Reads("Hello world"),
    "pdf/qpdf__bad1.pdf": Fails(Category.WRONG_TYPE),  # "oops\n"
    "pdf/qpdf__issue-335b.pdf": Fails(Category.WRONG_TYPE),  # garbage, no %PDF header
    "pdf/qpdf__empty.pdf": Fails(Category.EMPTY),  # valid, zero pages
    "pdf/qpdf__append-xref-loop.pdf": Reads("Potato"),
    "pdf/qpdf__damaged-stream.pdf": Reads("Potato"),
    "pdf/tika__testPDF_protected.pdf": Reads("RETHINKING THE FINANCIAL NETWORK"),  # empty user pw
    "pdf/tika__testOCR.pdf": Reads("Happy New Year 2003", "page 1 (scan)"),  # a picture: OCR
    # ---- DOCX
    "docx/docx__test.docx": Reads("python-docx was here too!"),
    "docx/docx__tbl-having-tables.docx": Fails(Category.EMPTY),  # nested tables, all cells empty
    "docx/docx__hdr-header-footer.docx": Reads("Header for section-1"),
    "docx/tika__testWORD_truncated.docx": Fails(Category.CORRUPT),
    "docx/tika__testWORD_protected_passtika.docx": Fails(Category.PASSWORD),
    "docx/tika__testWORD_various.docx": Reads("Row 1 Col 2 | Row 1 Col 3"),
    # ---- legacy Office: recognized, refused with advice
    "doc/tika__testWORD.doc": Fails(Category.UNSUPPORTED),
    "xls/xlrd__corrupted_error.xls": Fails(Category.UNSUPPORTED),
    # ---- OpenDocument
    "odt/sf__source.odt": Reads("Lorem ipsum dolor sit amet", "paragraph 1"),
    "odt/tika__testODTEncrypted.odt": Fails(Category.PASSWORD),
    "odt/tika__testODTnotaZipFile.odt": Fails(Category.WRONG_TYPE),  # 24 bytes of text
    "ods/xlrd__sample.ods": Fails(Category.EMPTY),  # one sheet, one empty cell
    # ---- PowerPoint and Excel
    "pptx/pptx__test.pptx": Reads("Presentation Title Text\nSubtitle Text", "slide 1"),
    "pptx/pptx__prs-notes.pptx": Reads("Notes", "slide 1 notes"),  # the slide itself is empty
    "pptx/pptx__missing_rels_item.pptx": Reads("Subtitle Text", "slide 1"),
    "xlsx/xlrd__sample.xlsx": Reads("B1: Just a test", "Sheet1, comments"),  # no cells, a comment
    # ---- EPUB
    "epub/epubjs__alice.epub": Reads("There was a table set out under a tree", "A Mad Tea-Party"),
    "epub/tika__testEPUB.epub": Reads("This is the text for chapter One", "Chapter 1"),
    # ---- Markdown and HTML
    "md/tika__testMARKDOWN.md": Reads("Café naïve résumé"),
    "html/read__wikipedia.source.html": Reads("Mozilla is a free-software community"),
    "html/read__lemonde-1.source.html": Reads("projet de loi sur le renseignement"),
    "html/read__rtl-1.source.html": Reads("Lorem ipsum dolor sit amet"),
    "html/read__hukumusume.source.html": Reads("欲張りなイヌ"),
    "html/tika__testHTML_charset_utf16le.html": Reads("This is a sample text"),
    "html/tika__testHTMLNoisyMetaEncoding_1.html": Reads("الاتحاد الجزائري"),
    # Declares UTF-8 but is Windows-1256: the bytes are not valid UTF-8, so Trove guesses.
    "html/tika__testArabicMisleadingCharset.html": Reads("في قرية من القرى"),
    "txt/chardet__GB2312___mozilla_bug171813_text.html": Reads("搜狐在线"),
    # ---- text in many encodings (chardet names the encoding in the folder name)
    "txt/chardet__UTF-16__bom-utf-16-le.srt": Decodes("utf-16", "About 2 months ago"),
    "txt/chardet__UTF-16LE__nobom-utf16le.txt": Decodes("utf-16-le", "DateTime,Bid,Ask"),
    "txt/chardet__UTF-32__bom-utf-32-be.srt": Decodes("utf-32", "About 2 months ago"),
    "txt/chardet__SHIFT_JIS___ude_1.txt": Decodes("shift_jis", "一人の下人が、羅生門の下で"),
    "txt/chardet__EUC-JP___ude_1.txt": Decodes("euc_jp", "コンソール アプリケーション"),
    "txt/chardet__iso-8859-1___ude_1.txt": Decodes("latin-1", "acha-se tão bem determinada"),
    "txt/chardet__windows-1251-russian___ude_1.txt": Decodes("cp1251", "В гимназии он не был"),
    "txt/chardet__utf-8-sig___ude_4.txt": Decodes("utf-8-sig", "コンソール アプリケーション"),
    # EBCDIC: detected as cp037, which differs from cp500 only in a few punctuation marks.
    "txt/tika__english.cp500.txt": Reads("IntelliStation POWER"),
    "txt/tika__russian.cp866.txt": Decodes("cp866", "Однажды, в студеную зимнюю пору"),
}

FILES = [str(item["file"]) for item in MANIFEST]


@pytest.fixture(scope="module")
def pool() -> Iterator[ExtractionPool]:
    # The settings' memory limit: OCR (two pages here) needs more than 1 GB of addresses.
    with ExtractionPool(workers=1, timeout_s=30, memory_mb=2048, max_bytes=50 * MB) as pool:
        yield pool


def test_every_corpus_file_has_an_expectation() -> None:
    assert len(FILES) == 59
    assert set(FILES) == set(EXPECTED)


@pytest.mark.parametrize("name", FILES)
def test_corpus_file(pool: ExtractionPool, name: str) -> None:
    path = CORPUS / name
    _check_checksum(path, name)
    expected = EXPECTED[name]
    try:
        outcome: Document | ExtractionFailed = pool.extract(path)
    except ExtractionFailed as failure:
        outcome = failure
    if isinstance(expected, Fails):
        assert isinstance(outcome, ExtractionFailed), f"expected {expected.category}, got text"
        assert outcome.category == expected.category, outcome.reason
        assert outcome.reason.strip()
        return
    assert isinstance(outcome, Document), f"expected text, got {outcome}"
    _check_document(outcome)
    text = "\n".join(piece.text for piece in outcome.pieces)
    assert expected.phrase in text
    if isinstance(expected, Reads) and expected.where is not None:
        located = [piece.location for piece in outcome.pieces if expected.phrase in piece.text]
        assert expected.where in located, located
    if isinstance(expected, Decodes):
        reference = path.read_bytes().decode(expected.encoding)
        assert _squashed(text) == _squashed(reference)


def test_size_limit_applies_to_corpus_files() -> None:
    path = CORPUS / "pdf/sf__GeoTopo-komprimiert.pdf"  # 1.8 MB
    with pytest.raises(ExtractionFailed) as caught:
        Registry.default().extract(path, max_bytes=1 * MB)
    assert caught.value.category == Category.TOO_LARGE


def _check_document(document: Document) -> None:
    assert document.pieces
    for piece in document.pieces:
        assert piece.text.strip()
        assert len(piece.text) <= MAX_PIECE_CHARS
        assert isinstance(piece.location, str)
        assert len(piece.location) <= 300
    assert document.title is None or document.title.strip()


def _check_checksum(path: Path, name: str) -> None:
    """The expectations describe these exact bytes."""
    item = next(item for item in MANIFEST if item["file"] == name)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == item["sha256"]


def _squashed(text: str) -> str:
    return re.sub(r"\s+", "", text.lstrip("\ufeff"))
