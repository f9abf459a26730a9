"""Which extractor reads which file, and the checks every file passes first."""

from __future__ import annotations

import importlib.util
import logging
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ExtractionFailed

from .base import Category, Document, Extractor, size_label
from .delimited import DelimitedExtractor
from .docx import DocxExtractor
from .epub import EpubExtractor
from .html import HtmlExtractor
from .image import HEIC_EXTENSIONS, HEIC_PACKAGE, IMAGE_EXTENSIONS, MAX_FRAMES, ImageExtractor
from .mail import EmailExtractor, MboxExtractor
from .markdown import MarkdownExtractor
from .odf import OdfExtractor
from .pdf import PdfExtractor
from .pptx import PptxExtractor
from .rtf import RtfExtractor
from .signature import NAMES, sniff
from .text import TextExtractor
from .unsupported import KNOWN, UnsupportedFormat
from .xlsx import XlsxExtractor

if TYPE_CHECKING:
    from core.ocr import TextReader

log = logging.getLogger(__name__)

TEXT_EXTENSIONS = (
    "txt", "text", "log", "rst", "tex", "bib", "org", "adoc", "asciidoc",
    "srt", "vtt", "nfo",
)  # fmt: skip
CODE_EXTENSIONS = (
    "py", "pyi", "pyw", "ipy", "js", "mjs", "cjs", "ts", "mts", "cts", "tsx", "jsx", "vue",
    "svelte", "java", "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "hxx", "cs", "go", "rs",
    "rb", "php", "swift", "kt", "kts", "scala", "groovy", "gradle", "dart", "lua", "pl",
    "pm", "r", "m", "mm", "jl", "hs", "elm", "erl", "ex", "exs", "clj", "cljs", "fs",
    "fsx", "ml", "mli", "nim", "zig", "vb", "vbs", "sh", "bash", "zsh", "fish", "ps1",
    "psm1", "bat", "cmd", "sql", "yaml", "yml", "toml", "ini", "cfg", "conf", "json",
    "jsonc", "json5", "xml", "xsd", "xsl", "css", "scss", "sass", "less", "proto",
    "graphql", "gql", "tf", "hcl", "cmake", "mk", "properties", "asm", "s", "f90",
    "pas", "tcl", "awk", "vim", "el", "lisp", "scm", "rkt", "sol",
)  # fmt: skip
MARKDOWN_EXTENSIONS = ("md", "markdown", "mdown", "mkd", "mkdn")
HTML_EXTENSIONS = ("html", "htm", "xhtml")
DOCX_EXTENSIONS = ("docx", "docm", "dotx", "dotm")
XLSX_EXTENSIONS = ("xlsx", "xlsm", "xltx", "xltm")
PPTX_EXTENSIONS = ("pptx", "pptm", "ppsx", "ppsm", "potx", "potm")
ODF_EXTENSIONS = {"odt": ("odt", "ott"), "ods": ("ods", "ots"), "odp": ("odp", "otp")}
CSV_EXTENSIONS = ("csv", "tsv")
# Extensionless files people write by hand, by lowercase name.
TEXT_NAMES = (
    "readme", "license", "licence", "copying", "authors", "contributors", "changelog",
    "changes", "news", "todo", "install", "notice", "thanks",
)  # fmt: skip
CODE_NAMES = (
    "makefile", "gnumakefile", "dockerfile", "containerfile", "gemfile", "rakefile",
    "procfile", "vagrantfile", "jenkinsfile", "justfile", "brewfile", "podfile",
    ".gitignore", ".gitattributes", ".editorconfig", ".bashrc", ".zshrc", ".profile",
)  # fmt: skip

# What a file's first bytes may announce (see signature.sniff) for each kind of file;
# None stands for "no known signature", which is what text looks like.
TEXTUAL: frozenset[str | None] = frozenset({None})
PDF_LIKE: frozenset[str | None] = frozenset({"pdf", None})  # the PDF reader judges the rest
# Office also saves password-protected documents as compound (OLE) files.
OFFICE_LIKE: frozenset[str | None] = frozenset({"zip", "ole"})
ZIP_ONLY: frozenset[str | None] = frozenset({"zip"})
RTF_ONLY: frozenset[str | None] = frozenset({"rtf"})


@dataclass(frozen=True, slots=True)
class _Entry:
    extractor: Extractor
    accepts: frozenset[str | None] | None  # None: do not look at the bytes first


class Registry:
    """Maps file extensions (and a few well-known file names) to extractors."""

    def __init__(self, ocr: TextReader | None = None) -> None:
        self._by_extension: dict[str, _Entry] = {}
        self._by_name: dict[str, _Entry] = {}
        self.ocr = ocr  # what reads text in pictures; None: OCR is off

    @classmethod
    def default(
        cls, ocr: bool = True, ocr_pages: int = MAX_FRAMES, thumbnails: bool = False
    ) -> Registry:
        """Every format Trove reads, plus the known ones it reports as unsupported;
        ``ocr``: reading the text in pictures and scanned pages, ``ocr_pages`` of a file
        at most; ``thumbnails``: pictures come with their pixels, shrunk, for a model
        that reads pictures."""
        from core.ocr import TextReader

        registry = cls(TextReader() if ocr else None)
        for kind, (name, advice, extensions) in KNOWN.items():
            registry.register(UnsupportedFormat(kind, name, advice), extensions, accepts=None)
        registry.register(TextExtractor("text"), TEXT_EXTENSIONS, TEXT_NAMES)
        registry.register(TextExtractor("code"), CODE_EXTENSIONS, CODE_NAMES)
        registry.register(MarkdownExtractor(), MARKDOWN_EXTENSIONS)
        registry.register(HtmlExtractor(), HTML_EXTENSIONS)
        registry.register(PdfExtractor(registry.ocr, ocr_pages), ("pdf",), accepts=PDF_LIKE)
        pictures = ImageExtractor(registry.ocr, ocr_pages, thumbnails=thumbnails)
        registry.register(pictures, IMAGE_EXTENSIONS, accepts=None)
        if importlib.util.find_spec(HEIC_PACKAGE) is not None:
            registry.register(pictures, HEIC_EXTENSIONS, accepts=None)
        registry.register(DocxExtractor(), DOCX_EXTENSIONS, accepts=OFFICE_LIKE)
        registry.register(XlsxExtractor(), XLSX_EXTENSIONS, accepts=OFFICE_LIKE)
        registry.register(PptxExtractor(), PPTX_EXTENSIONS, accepts=OFFICE_LIKE)
        for kind, extensions in ODF_EXTENSIONS.items():
            registry.register(OdfExtractor(kind), extensions, accepts=ZIP_ONLY)
        registry.register(EpubExtractor(), ("epub",), accepts=ZIP_ONLY)
        registry.register(DelimitedExtractor(), CSV_EXTENSIONS)
        registry.register(EmailExtractor(), ("eml",))
        registry.register(MboxExtractor(), ("mbox",))
        registry.register(RtfExtractor(), ("rtf",), accepts=RTF_ONLY)
        return registry

    def register(
        self,
        extractor: Extractor,
        extensions: Iterable[str],
        names: Iterable[str] = (),
        accepts: frozenset[str | None] | None = TEXTUAL,
    ) -> None:
        """Use ``extractor`` for these extensions (no dot) and exact file names.

        ``accepts`` lists the signatures the file's bytes may show; anything else is
        refused as WRONG_TYPE before the extractor runs.  A later call for the same
        extension replaces the earlier one.
        """
        entry = _Entry(extractor, accepts)
        for extension in extensions:
            self._by_extension[extension.lower().lstrip(".")] = entry
        for name in names:
            self._by_name[name.lower()] = entry

    def kind_of(self, path: Path) -> str | None:
        """The kind of extractor for ``path``, or None when Trove does not index such files."""
        entry = self._entry(path)
        return entry.extractor.kind if entry is not None else None

    def is_indexable(self, path: Path) -> bool:
        return self._entry(path) is not None

    def extensions_for(self, type_name: str) -> frozenset[str]:
        """The extensions (lowercase, no dot) a search filter on ``type_name`` covers.

        A kind ("markdown", "code") covers all of its extensions; an extension Trove reads
        ("md") covers itself; anything else covers nothing (an empty set).
        """
        name = type_name.lower().lstrip(".")
        of_kind = [ext for ext, entry in self._by_extension.items() if entry.extractor.kind == name]
        if of_kind:
            return frozenset(of_kind)
        return frozenset([name]) if name in self._by_extension else frozenset()

    def extract(self, path: Path, max_bytes: int) -> Document:
        """The text of ``path``, or ExtractionFailed saying why there is none."""
        entry = self._entry(path)
        if entry is None:
            raise ExtractionFailed(Category.UNSUPPORTED, f"Trove does not read {_label(path)}")
        try:
            _check_file(path, max_bytes, entry)
            document = entry.extractor.extract(path)
        except (ExtractionFailed, MemoryError):
            raise
        except OSError as error:
            raise ExtractionFailed(Category.UNREADABLE, _os_reason(error)) from None
        except Exception as error:
            # A library choking on a strange file must cost that file only; the log
            # keeps the traceback so the bug can still be found and fixed.
            log.exception("extractor %s failed on %s", entry.extractor.kind, path)
            raise ExtractionFailed(
                Category.CRASHED,
                f"the {entry.extractor.kind} reader failed ({type(error).__name__}: {error})",
            ) from error
        return _with_text(document)

    def _entry(self, path: Path) -> _Entry | None:
        by_name = self._by_name.get(path.name.lower())
        if by_name is not None:
            return by_name
        return self._by_extension.get(path.suffix.lower().lstrip("."))


def _check_file(path: Path, max_bytes: int, entry: _Entry) -> None:
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise ExtractionFailed(Category.UNREADABLE, "it is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        # Reading a pipe or device could block forever or never end.
        raise ExtractionFailed(Category.UNREADABLE, "it is not a regular file")
    if info.st_size > max_bytes:
        raise ExtractionFailed(
            Category.TOO_LARGE,
            f"it is {size_label(info.st_size)}, over the {size_label(max_bytes)} limit",
        )
    if info.st_size == 0:
        raise ExtractionFailed(Category.EMPTY, "the file is empty")
    if entry.accepts is not None:
        _check_signature(path, entry)


def _check_signature(path: Path, entry: _Entry) -> None:
    assert entry.accepts is not None
    with path.open("rb") as file:
        found = sniff(file.read(8192))
    if found in entry.accepts:
        return
    kind = entry.extractor.kind
    if found is None:
        reason = f"its contents do not look like {_a(kind)} file"
    else:
        reason = f"it is really a {NAMES[found]}, not {_a(kind)} file"
    raise ExtractionFailed(Category.WRONG_TYPE, reason)


def _with_text(document: Document) -> Document:
    """Drop blank pieces; a document with nothing left is EMPTY."""
    pieces = [piece for piece in document.pieces if piece.text.strip()]
    if not pieces:
        raise ExtractionFailed(Category.EMPTY, "it contains no text")
    document.pieces = pieces
    return document


def _os_reason(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "it no longer exists"
    if isinstance(error, PermissionError):
        return "Trove is not allowed to read it (permission denied)"
    if isinstance(error, IsADirectoryError):
        return "it is a folder, not a file"
    return f"it could not be read ({error.strerror or error})"


def _a(kind: str) -> str:
    """ "a" or "an" before a kind's name, read the way people say it ("an HTML file")."""
    spelled_out = kind in ("html", "rtf", "odt", "ods", "odp", "xlsx")
    return f"an {kind}" if kind[0] in "aeiou" or spelled_out else f"a {kind}"


def _label(path: Path) -> str:
    return f".{path.suffix.lower().lstrip('.')} files" if path.suffix else "files like this"
