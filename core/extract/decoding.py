"""Turning the bytes of a text file into str, whatever its encoding."""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING

from core.errors import ExtractionFailed

from .base import Category

if TYPE_CHECKING:
    from charset_normalizer import CharsetMatch, CharsetMatches

# Longest BOMs first: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Guessing an encoding costs time in proportion to the sample; the start of a file
# tells as much as the whole of it.
_SAMPLE_BYTES = 256 * 1024

# A declared "latin-1" is nearly always Windows-1252 in practice (browsers agree).
_DECLARED_ALIASES = {"latin1": "cp1252", "iso88591": "cp1252", "usascii": "cp1252"}

# How much more "chaos" (odd character sequences, in percent) Windows-1252 may show
# than the best guess and still be chosen; the language fit must be at least as good.
_CP1252_CHAOS_MARGIN = 10.0

_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")


def decode(data: bytes, declared: str | None = None) -> str:
    """Decode ``data``, trusting a byte-order mark, then UTF-8, then ``declared``, then a guess.

    Raises ExtractionFailed(WRONG_TYPE) when the bytes are not text in any encoding.
    """
    text = _decode_known(data, declared)
    if text is None:
        text = _guess(data)
    if _looks_binary(text):
        raise ExtractionFailed(Category.WRONG_TYPE, "it contains binary data, not text")
    return text


def _decode_known(data: bytes, declared: str | None) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    wide = _wide_encoding(data[:4096])
    if wide is not None:
        return data.decode(wide, errors="replace")
    candidates = ["utf-8", _normalized(declared)]
    for encoding in filter(None, candidates):
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    return None


def _normalized(declared: str | None) -> str | None:
    if not declared:
        return None
    key = declared.lower().replace("-", "").replace("_", "")
    return _DECLARED_ALIASES.get(key, declared)


def _wide_encoding(head: bytes) -> str | None:
    """Recognize UTF-16/32 without a byte-order mark by where its zero bytes fall.

    In UTF-16 text the zeros sit in one byte lane only (the high byte of ASCII and
    Latin characters); binary data has them everywhere.  The guess must then decode.
    """
    n = len(head) - len(head) % 4
    if n < 8 or b"\x00" not in head:
        return None
    lanes = [head[i:n:4].count(0) / (n // 4) for i in range(4)]
    even, odd = (lanes[0] + lanes[2]) / 2, (lanes[1] + lanes[3]) / 2
    if lanes[2] > 0.9 and lanes[3] > 0.9:
        guess = "utf-32-le"
    elif lanes[0] > 0.9 and lanes[1] > 0.9:
        guess = "utf-32-be"
    elif odd > 0.05 and even < 0.01:
        guess = "utf-16-le"
    elif even > 0.05 and odd < 0.01:
        guess = "utf-16-be"
    else:
        return None
    try:
        # Incremental: the sample may end in the middle of a surrogate pair.
        codecs.getincrementaldecoder(guess)().decode(head[:n], final=False)
    except UnicodeDecodeError:
        return None
    return guess


def _guess(data: bytes) -> str:
    from charset_normalizer import from_bytes

    if b"\x00" in data[:_SAMPLE_BYTES]:
        raise ExtractionFailed(Category.WRONG_TYPE, "it contains binary data, not text")
    best = _preferred(from_bytes(_sample(data)))
    if best is None:
        raise ExtractionFailed(Category.WRONG_TYPE, "its bytes are not text in any known encoding")
    # The sample may end inside a multi-byte character, so decode the whole leniently.
    return data.decode(best.encoding, errors="replace")


def _preferred(matches: CharsetMatches) -> CharsetMatch | None:
    """The best guess, except that Windows-1252 wins a near tie among single-byte code
    pages: it is by far the most common legacy encoding, and a short Western text fits
    Baltic or Central European code pages about as well."""
    from charset_normalizer.utils import is_multi_byte_encoding

    best = matches.best()
    if best is None or is_multi_byte_encoding(best.encoding):
        return best
    for match in matches:
        if (
            "cp1252" in match.could_be_from_charset
            and match.percent_chaos <= best.percent_chaos + _CP1252_CHAOS_MARGIN
            and match.percent_coherence >= best.percent_coherence
        ):
            return match
    return best


def _sample(data: bytes) -> bytes:
    """The start of ``data``, cut at a line end so no multi-byte character is split."""
    if len(data) <= _SAMPLE_BYTES:
        return data
    end = data.rfind(b"\n", 0, _SAMPLE_BYTES)
    return data[: end + 1] if end > 0 else data[:_SAMPLE_BYTES]


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ch < " " and ch not in _ALLOWED_CONTROLS)
    return controls / len(sample) > 0.05
