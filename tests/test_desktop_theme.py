"""The theme: icons that render, kinds that map to them, palettes that follow the scheme."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from PySide6.QtCore import SIGNAL, Qt, QtMsgType
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from core.extract import Registry
from desktop.theme import apply_theme, icon, is_dark, kind_icon, match_colors, palette_for

APP_ICONS = ["trove", "trove-tray"]
KIND_ICONS = [
    "kind-text", "kind-code", "kind-markdown", "kind-html", "kind-pdf", "kind-document",
    "kind-spreadsheet", "kind-slides", "kind-ebook", "kind-email", "kind-image", "kind-file",
]  # fmt: skip
UI_ICONS = [
    "search", "folder", "folder-add", "pause", "play", "similar", "settings", "warning",
    "retry", "open", "reveal", "remove",
]  # fmt: skip
ALL_ICONS = APP_ICONS + KIND_ICONS + UI_ICONS

# A file name per extractor kind Trove reads, and the icon its kind should get.
READABLE = {
    "notes.txt": "kind-text",
    "script.py": "kind-code",
    "readme.md": "kind-markdown",
    "page.html": "kind-html",
    "paper.pdf": "kind-pdf",
    "letter.docx": "kind-document",
    "letter.odt": "kind-document",
    "letter.rtf": "kind-document",
    "budget.xlsx": "kind-spreadsheet",
    "budget.ods": "kind-spreadsheet",
    "budget.csv": "kind-spreadsheet",
    "talk.pptx": "kind-slides",
    "talk.odp": "kind-slides",
    "novel.epub": "kind-ebook",
    "message.eml": "kind-email",
    "archive.mbox": "kind-email",
    "photo.jpg": "kind-image",
    "scan.tiff": "kind-image",
}
# Kinds Trove recognizes but cannot read, and made-up ones: all get the plain file icon.
UNREADABLE = ["old.doc", "old.xls", "old.ppt", "mail.msg", "essay.pages", "deck.key"]


def image_of(name: str, size: int) -> QImage:
    return icon(name).pixmap(size, size).toImage()


def opaque_share(image: QImage) -> float:
    pixels = [image.pixelColor(x, y) for x in range(image.width()) for y in range(image.height())]
    return sum(1 for color in pixels if color.alpha() > 128) / len(pixels)


def luminance(color: QColor) -> float:
    """WCAG relative luminance."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * linear(color.redF())
        + 0.7152 * linear(color.greenF())
        + 0.0722 * linear(color.blueF())
    )


def contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture
def restored_app(qapp: QApplication) -> Iterator[QApplication]:
    """The shared QApplication, with its palette and style sheet put back afterwards."""
    palette, sheet = QPalette(qapp.palette()), qapp.styleSheet()
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)


@pytest.mark.parametrize("name", ALL_ICONS)
def test_every_icon_ships_and_renders_at_16_and_32_px(qapp: QApplication, name: str) -> None:
    assert files("resources").joinpath("icons", f"{name}.svg").is_file()
    for size in (16, 32):
        image = image_of(name, size)
        assert (image.width(), image.height()) == (size, size)
        # Thin outline glyphs cover little of their square, but never almost nothing.
        assert opaque_share(image) > 0.08, f"{name} is (nearly) empty at {size} px"


def test_an_unknown_icon_name_is_an_error(qapp: QApplication) -> None:
    with pytest.raises(FileNotFoundError):
        icon("no-such-icon")


def test_kind_icons_differ_from_each_other(qapp: QApplication) -> None:
    images = [image_of(name, 32) for name in KIND_ICONS]
    for i, image in enumerate(images):
        assert all(image != other for other in images[i + 1 :]), KIND_ICONS[i]


@pytest.mark.parametrize(("file_name", "expected"), READABLE.items())
def test_each_kind_core_reads_gets_its_icon(
    qapp: QApplication, registry: Registry, file_name: str, expected: str
) -> None:
    kind = registry.kind_of(Path(file_name))
    assert kind is not None, f"core no longer reads {file_name}"
    assert kind_icon(kind).pixmap(32, 32).toImage() == image_of(expected, 32)


@pytest.mark.parametrize("file_name", UNREADABLE)
def test_kinds_core_cannot_read_get_the_file_icon(
    qapp: QApplication, registry: Registry, file_name: str
) -> None:
    kind = registry.kind_of(Path(file_name))
    assert kind is not None, f"core no longer recognizes {file_name}"
    assert kind_icon(kind).pixmap(32, 32).toImage() == image_of("kind-file", 32)


@pytest.mark.parametrize("kind", ["", "zip", "no-such-kind"])
def test_unknown_kinds_get_the_file_icon(qapp: QApplication, kind: str) -> None:
    assert kind_icon(kind).pixmap(32, 32).toImage() == image_of("kind-file", 32)


def test_palettes_are_light_dark_and_light_when_unknown(qapp: QApplication) -> None:
    light, dark = palette_for(Qt.ColorScheme.Light), palette_for(Qt.ColorScheme.Dark)
    assert not is_dark(light) and is_dark(dark)
    assert not is_dark(palette_for(Qt.ColorScheme.Unknown))
    for palette in (light, dark):
        window, text = (
            palette.color(QPalette.ColorRole.Window),
            palette.color(QPalette.ColorRole.WindowText),
        )
        assert contrast(window, text) > 7
        assert (
            contrast(palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text))
            > 7
        )


def test_apply_theme_styles_the_app_and_follows_the_scheme(
    restored_app: QApplication, qtlog
) -> None:
    app = restored_app
    apply_theme(app)
    # Offscreen has no system scheme (Unknown), so the light palette applies.
    assert not is_dark(app.palette())
    assert "#searchBox" in app.styleSheet()
    assert not app.windowIcon().isNull()
    search = QLineEdit()
    search.setObjectName("searchBox")
    search.ensurePolished()

    def base() -> float:
        return search.palette().color(QPalette.ColorRole.Base).lightnessF()

    assert base() > 0.9

    # QStyleHints.setColorScheme has no effect offscreen, so play the system's part.
    app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert is_dark(app.palette())
    # An open window's palette(base) in the sheet must now resolve against the dark palette.
    assert base() < 0.3

    app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert not is_dark(app.palette())
    assert base() > 0.9
    warnings = [r.message for r in qtlog.records if r.type != QtMsgType.QtDebugMsg]
    assert warnings == []
    # With a style sheet set, app.style() is Qt's sheet proxy, which hides the name.
    app.setStyleSheet("")
    assert app.style().name() == "fusion"


def test_the_style_sheet_parses_without_a_qt_warning(restored_app: QApplication, qtlog) -> None:
    apply_theme(restored_app)
    # Qt parses an application sheet when it first styles a widget, and warns if it cannot.
    for name in ("emptyTitle", "emptyHint", "statusLabel"):
        label = QLabel("x")
        label.setObjectName(name)
        label.ensurePolished()
    assert restored_app.styleSheet().strip()
    assert [r.message for r in qtlog.records] == []


def test_applying_the_theme_twice_follows_the_scheme_once(restored_app: QApplication) -> None:
    hints = restored_app.styleHints()
    apply_theme(restored_app)
    before = hints.receivers(SIGNAL("colorSchemeChanged(Qt::ColorScheme)"))
    apply_theme(restored_app)
    assert hints.receivers(SIGNAL("colorSchemeChanged(Qt::ColorScheme)")) == before >= 1


@pytest.mark.parametrize("scheme", [Qt.ColorScheme.Light, Qt.ColorScheme.Dark])
def test_match_colors_are_readable_and_stand_out(
    qapp: QApplication, scheme: Qt.ColorScheme
) -> None:
    palette = palette_for(scheme)
    background, text = match_colors(palette)
    assert contrast(background, text) >= 4.5
    # The highlight must be visible against the list's own background, not just legible.
    base = palette.color(QPalette.ColorRole.Base)
    distance = sum(
        (a - b) ** 2 for a, b in zip(background.getRgb()[:3], base.getRgb()[:3], strict=True)
    )
    assert distance**0.5 > 80
    assert is_dark(palette) == (luminance(background) < luminance(text))


def test_qt_calls_do_not_drop_references_to_none_or_true(qapp: QApplication) -> None:
    """PySide6 6.12.0 on Python 3.11 takes a reference off None on every void call and off
    True on every emit; a few thousand calls later the interpreter aborts.  pyproject
    excludes that release; this catches any other with the same bug."""
    label = QLabel()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for i in range(2000):
        label.setText(str(i))
        label.objectNameChanged.emit("x")
    assert sys.getrefcount(None) > none_before - 100
    assert sys.getrefcount(True) > true_before - 100


@pytest.mark.parametrize("width", [380, 640, 1100])
def test_the_first_run_sentence_gets_every_line_it_needs(qtbot: QtBot, width: int) -> None:
    """Styled as in the app, the wrapped hint is as tall as its width needs (it was laid
    out at a one-line height, cutting its lines in half)."""
    from desktop.emptystate import EmptyState

    apply_theme(QApplication.instance())  # type: ignore[arg-type]
    state = EmptyState()
    qtbot.addWidget(state)
    state.resize(width, 600)
    state.show()
    qtbot.waitExposed(state)
    hint = state.findChild(QLabel, "emptyHint")
    assert hint.height() >= hint.heightForWidth(hint.width()) > hint.fontMetrics().height()


@pytest.mark.parametrize("scheme", [Qt.ColorScheme.Light, Qt.ColorScheme.Dark])
def test_marked_words_are_readable_on_rows_and_in_the_preview(
    qapp: QApplication, scheme: Qt.ColorScheme
) -> None:
    """Marks carry their own text colour (a selected row's white text on pale yellow was
    unreadable), and the preview's passage tint is far enough from the words' mark that
    the words stand out inside it (#FFEA9E behind #FFE58A did not)."""
    from desktop.results import marked_html
    from desktop.theme import contrast, passage_tint

    palette = palette_for(scheme)
    mark, text = match_colors(palette)
    assert contrast(text, mark) >= 4.5
    html = marked_html("the rent clause", [(4, 8)], mark.name(), text.name())
    assert f"background-color:{mark.name()}; color:{text.name()}" in html
    tint = passage_tint(palette)
    assert (
        contrast(text, tint) >= 4.5
        and contrast(palette.color(QPalette.ColorRole.Text), tint) >= 4.5
    )
    assert contrast(mark, tint) >= 1.25  # the words' mark is visible against the passage


@pytest.mark.parametrize("name", ["resultList", "similarList", "previewText"])
def test_the_widget_with_the_keyboard_is_framed(qtbot: QtBot, name: str) -> None:
    """Lists and the preview show where the keyboard is: a frame in the accent colour
    while they have focus, none otherwise (the list had ``outline: none`` and no frame)."""
    from PySide6.QtWidgets import QListView, QPlainTextEdit, QVBoxLayout, QWidget

    app = QApplication.instance()
    apply_theme(app)  # type: ignore[arg-type]
    page = QWidget()
    qtbot.addWidget(page)
    view = QPlainTextEdit() if name == "previewText" else QListView()
    view.setObjectName(name)
    other = QLineEdit()
    layout = QVBoxLayout(page)
    layout.addWidget(view)
    layout.addWidget(other)
    page.resize(300, 300)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()

    def edge() -> QColor:
        return view.grab().toImage().pixelColor(0, view.height() // 2)

    highlight = view.palette().color(QPalette.ColorRole.Highlight)
    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    assert edge() == highlight
    other.setFocus()
    qtbot.waitUntil(other.hasFocus)
    assert edge() != highlight
