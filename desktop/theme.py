"""Trove's look: Fusion with a light or dark palette that follows the system, one style
sheet for both, and the SVG icons shipped in the ``resources`` package."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

Role = QPalette.ColorRole
Group = QPalette.ColorGroup

# Pixmap sizes pre-rendered per icon: 16-48 px at scale 1 and 2, so Qt only ever scales down.
ICON_SIZES = (16, 24, 32, 48, 64, 96)

# Extractor kind (core.extract) -> icon; kinds Trove cannot read fall back to "file".
KIND_ICONS: dict[str, str] = {
    "text": "kind-text",
    "code": "kind-code",
    "markdown": "kind-markdown",
    "html": "kind-html",
    "pdf": "kind-pdf",
    "docx": "kind-document",
    "odt": "kind-document",
    "rtf": "kind-document",
    "xlsx": "kind-spreadsheet",
    "ods": "kind-spreadsheet",
    "csv": "kind-spreadsheet",
    "pptx": "kind-slides",
    "odp": "kind-slides",
    "epub": "kind-ebook",
    "email": "kind-email",
    "image": "kind-image",
}
FALLBACK_KIND_ICON = "kind-file"

_LIGHT: dict[Role, str] = {
    Role.Window: "#efeff2",
    Role.WindowText: "#1d1d21",
    Role.Base: "#ffffff",
    Role.AlternateBase: "#f5f5f8",
    Role.Text: "#1d1d21",
    Role.PlaceholderText: "#6e717a",
    Role.Button: "#f5f5f7",
    Role.ButtonText: "#1d1d21",
    Role.BrightText: "#c62828",
    Role.Light: "#ffffff",
    Role.Midlight: "#e2e2e6",
    Role.Mid: "#b8bac1",
    Role.Dark: "#9c9ea6",
    Role.Shadow: "#6b6d74",
    Role.Highlight: "#2f6fd6",
    Role.HighlightedText: "#ffffff",
    Role.Accent: "#2f6fd6",
    Role.Link: "#1f5cc4",
    Role.LinkVisited: "#7440c0",
    Role.ToolTipBase: "#fdfdf2",
    Role.ToolTipText: "#1d1d21",
}
_LIGHT_DISABLED: dict[Role, str] = {
    Role.WindowText: "#9fa1a8",
    Role.Text: "#9fa1a8",
    Role.ButtonText: "#9fa1a8",
    Role.Highlight: "#c5c8d0",
}

_DARK: dict[Role, str] = {
    Role.Window: "#2a2a2e",
    Role.WindowText: "#e6e6ea",
    Role.Base: "#1e1e21",
    Role.AlternateBase: "#26262a",
    Role.Text: "#e6e6ea",
    Role.PlaceholderText: "#8d9099",
    Role.Button: "#35353b",
    Role.ButtonText: "#e6e6ea",
    Role.BrightText: "#ff6e6e",
    Role.Light: "#4b4b53",
    Role.Midlight: "#3d3d44",
    Role.Mid: "#5c5e66",
    Role.Dark: "#18181b",
    Role.Shadow: "#0b0b0d",
    Role.Highlight: "#3b7de0",
    Role.HighlightedText: "#ffffff",
    Role.Accent: "#3b7de0",
    Role.Link: "#79aaff",
    Role.LinkVisited: "#b48cff",
    Role.ToolTipBase: "#3a3a41",
    Role.ToolTipText: "#e6e6ea",
}
_DARK_DISABLED: dict[Role, str] = {
    Role.WindowText: "#6d6f77",
    Role.Text: "#6d6f77",
    Role.ButtonText: "#6d6f77",
    Role.Highlight: "#45464d",
}

# (background, text) behind matched query terms: soft yellow on light, dark amber on dark.
_MATCH_LIGHT = ("#ffd54f", "#1d1d21")
_MATCH_DARK = ("#6e5200", "#fff3d1")


def apply_theme(app: QApplication) -> None:
    """Style ``app`` once at start-up; later system light/dark changes re-style it."""
    app.setStyle("Fusion")
    _follow_scheme(app, app.styleHints().colorScheme(), _style_sheet())
    app.setWindowIcon(icon("trove"))
    # Calling twice must not connect twice: each connection would re-style on every change.
    if not app.property("troveThemeFollowsSystem"):
        app.setProperty("troveThemeFollowsSystem", True)
        app.styleHints().colorSchemeChanged.connect(
            lambda scheme: _follow_scheme(app, scheme, app.styleSheet())
        )


def is_dark(palette: QPalette) -> bool:
    return palette.color(Role.Window).lightnessF() < 0.5


def palette_for(scheme: Qt.ColorScheme) -> QPalette:
    """The palette for a colour scheme; Unknown (no system preference) gets the light one."""
    if scheme == Qt.ColorScheme.Dark:
        return _build_palette(_DARK, _DARK_DISABLED)
    return _build_palette(_LIGHT, _LIGHT_DISABLED)


def match_colors(palette: QPalette) -> tuple[QColor, QColor]:
    """Background and text colour for highlighted query terms and passages."""
    background, text = _MATCH_DARK if is_dark(palette) else _MATCH_LIGHT
    return QColor(background), QColor(text)


def passage_tint(palette: QPalette) -> QColor:
    """Behind the matched passage in the preview: a quarter of the way from the page to
    the words' mark, so the marked words still stand out within it."""
    mark, page = match_colors(palette)[0], palette.color(QPalette.ColorRole.Base)
    pairs = zip(page.getRgb()[:3], mark.getRgb()[:3], strict=True)
    return QColor(*(round(p + (m - p) / 4) for p, m in pairs))


def contrast(first: QColor, second: QColor) -> float:
    """The WCAG contrast ratio of two colours (1 to 21; text needs 4.5)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(color.redF())
        + 0.7152 * channel(color.greenF())
        + 0.0722 * channel(color.blueF())
    )


@cache
def icon(name: str) -> QIcon:
    """``resources/icons/<name>.svg`` as an icon; raises FileNotFoundError for a bad name.

    The SVG is rendered here rather than handed to Qt's SVG icon engine by path, because
    the engine re-reads the file lazily and needs its plugin deployed, while bytes from
    importlib.resources work wherever the package is installed.
    """
    data = (files("resources") / "icons" / f"{name}.svg").read_bytes()
    renderer = QSvgRenderer(QByteArray(data))
    if not renderer.isValid():
        raise ValueError(f"icon {name!r} is not a valid SVG file")
    result = QIcon()
    for size in ICON_SIZES:
        result.addPixmap(_render(renderer, size))
    return result


def kind_icon(kind: str) -> QIcon:
    """The icon for an extractor kind ("pdf", "docx", ...), "file" for anything else."""
    return icon(KIND_ICONS.get(kind, FALLBACK_KIND_ICON))


def _render(renderer: QSvgRenderer, size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return pixmap


def _build_palette(colors: dict[Role, str], disabled: dict[Role, str]) -> QPalette:
    palette = QPalette()
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    for role, color in disabled.items():
        palette.setColor(Group.Disabled, role, QColor(color))
    return palette


def _follow_scheme(app: QApplication, scheme: Qt.ColorScheme, style_sheet: str) -> None:
    app.setPalette(palette_for(scheme))
    # palette(...) in a style sheet is resolved when the sheet is applied, not when the
    # palette changes, so the sheet is set again to pick up the new colours.
    app.setStyleSheet(style_sheet)


def _style_sheet() -> str:
    # One segment at a time: in the frozen app this is Python 3.11's MultiplexedPath,
    # whose joinpath takes a single name.
    return (files("resources") / "styles" / "trove.qss").read_text(encoding="utf-8")
