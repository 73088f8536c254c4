"""The data layer's error: raw or prepared data is missing, malformed or stale."""
from __future__ import annotations

from ..errors import ConfigError


class DataError(ConfigError):
    """Raw or prepared data is missing, malformed or stale; the message names the file."""


def shorten(text: str | bytes, limit: int = 80) -> str:
    """File content fit for a message: decoded, non-printable characters escaped as in
    ``repr`` (without the quotes), cut to ``limit`` characters with the length said when
    longer."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return shown if len(text) <= limit else f"{shown}... ({len(text):,} characters)"
