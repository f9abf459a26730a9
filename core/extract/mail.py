"""E-mail: single messages (.eml) and mailboxes (.mbox).

A message gives its headers, its body (the plain text part, else the HTML part as text)
and the names and sizes of its attachments, which are listed but not read.
"""

from __future__ import annotations

import email.errors
import re
from collections.abc import Iterator
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path
from typing import BinaryIO

from core.errors import ExtractionFailed

from .base import Category, Document, Piece, size_label
from .decoding import decode
from .html import parse as parse_html
from .pieces import split_long

_HEADERS = ("Subject", "From", "To", "Cc", "Date")
_SPACES = re.compile(r"\s+")
# Headers that a broken or hostile message makes the header parser trip on.
_HEADER_ERRORS = (
    email.errors.HeaderParseError, IndexError, ValueError, TypeError, AttributeError,
    OverflowError,  # a Date header whose year or hour will not fit a datetime
)  # fmt: skip
_MBOX_ESCAPED_FROM = re.compile(rb"^>(>*From )")
_MAX_SUBJECT_CHARS = 100


class EmailExtractor:
    """One message saved as a file (.eml)."""

    kind = "email"

    def extract(self, path: Path) -> Document:
        with path.open("rb") as file:
            message = _parse(file.read())
        if not message.keys():
            raise ExtractionFailed(Category.WRONG_TYPE, "it has no e-mail headers")
        pieces = [Piece(headers_text(message), "headers")]
        pieces += [Piece(run, "body") for run in split_long(body_text(message))]
        pieces += [Piece(run, "attachments") for run in split_long(attachments_text(message))]
        return Document(pieces, header(message, "Subject") or None)


class MboxExtractor:
    """A mailbox file: the messages one after another, each located by number and subject."""

    kind = "email"

    def extract(self, path: Path) -> Document:
        pieces: list[Piece] = []
        with path.open("rb") as file:
            for number, data in enumerate(mbox_messages(file), start=1):
                message = _parse(data)
                subject = header(message, "Subject")[:_MAX_SUBJECT_CHARS]
                where = f"message {number}: {subject}" if subject else f"message {number}"
                parts = (headers_text(message), body_text(message), attachments_text(message))
                text = "\n\n".join(part for part in parts if part)
                pieces.extend(Piece(run, where) for run in split_long(text))
        return Document(pieces)


def mbox_messages(file: BinaryIO) -> Iterator[bytes]:
    """The raw messages of an mbox file, one at a time.

    Every line starting "From " opens the next message, as Python's mailbox module and
    mail programs read it; inside a message such lines were escaped as ">From ", which is
    undone.
    """
    lines: list[bytes] = []
    for line in file:
        if line.startswith(b"From "):
            if any(part.strip() for part in lines):
                yield b"".join(lines)
            lines = []
        else:
            lines.append(_MBOX_ESCAPED_FROM.sub(rb"\1", line))
    if any(part.strip() for part in lines):
        yield b"".join(lines)


def headers_text(message: EmailMessage) -> str:
    lines = (f"{name}: {value}" for name in _HEADERS if (value := header(message, name)))
    return "\n".join(lines)


def header(message: EmailMessage, name: str) -> str:
    """One header's value as text ("" when absent), however broken its encoding."""
    try:
        value = str(message.get(name) or "")
    except _HEADER_ERRORS:
        raw = next((v for key, v in message.raw_items() if key.lower() == name.lower()), "")
        try:
            value = str(make_header(decode_header(str(raw))))
        except (*_HEADER_ERRORS, LookupError, UnicodeError):
            value = str(raw)
    return _SPACES.sub(" ", value).strip()


def body_text(message: EmailMessage) -> str:
    """The plain text body, else the HTML body as text, else nothing."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _text_of(part)
    if part.get_content_subtype() == "html":
        document = parse_html(text)
        text = "\n\n".join(piece.text for piece in document.pieces)
    return text.strip()


def attachments_text(message: EmailMessage) -> str:
    """One line per attachment: its name and size."""
    lines: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        if name is None and part.get_content_disposition() != "attachment":
            continue
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        lines.append(f"{name or 'unnamed attachment'} ({size_label(size)})")
    return "\n".join(lines)


def _parse(data: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data)


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return decode(payload, part.get_content_charset())
    except ExtractionFailed:
        return ""  # a "text" part holding binary data
