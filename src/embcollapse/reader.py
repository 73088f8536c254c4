"""What a reader of the book meets: executed notebooks tagged for Jupyter Book.

:func:`tag_for_readers` decides how each code cell shows (source behind a toggle, parameters left
out, wide tables and multi-panel figures given the page's margin); the book's CSS
(``book/_static/embcollapse.css``) fits tables to the text column. ``make screenshots``
(:mod:`embcollapse.screenshots`) checks the result in a browser.
"""
from __future__ import annotations

import base64
import binascii
import re
import struct
from typing import Any

# tags a chapter's author can give a code cell to decide for themselves how it shows
READER_TAGS = {"show-input", "hide-input", "remove-input", "hide-cell", "remove-cell",
               "hide-output", "remove-output"}


def tag_for_readers(notebook: Any) -> Any:
    """Tag a notebook's code cells for the reader (in place; returns ``notebook``).

    The reader meets text, figures and tables: every code cell's source goes behind a toggle
    (``hide-input``) unless its author tagged it otherwise (``show-input`` keeps it shown); the
    ``parameters`` cell (defaults papermill overrides) is removed and papermill's
    ``injected-parameters`` cell (the values used) is hidden as a whole (``hide-cell``). A cell
    showing a table of :data:`WIDE_TABLE` columns or more, or a figure :data:`WIDE_FIGURE` times
    wider than high, may use the margin (``full-width``).
    """
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        wide = table_columns(cell) >= WIDE_TABLE or figure_aspect(cell) >= WIDE_FIGURE
        if wide and "full-width" not in cell.metadata.get("tags", []):
            cell.metadata["tags"] = list(cell.metadata.get("tags", [])) + ["full-width"]
        tags = list(cell.metadata.get("tags", []))
        if "parameters" in tags:
            extra = "remove-cell"
        elif "injected-parameters" in tags:
            extra = "hide-cell"
        elif READER_TAGS & set(tags):
            continue
        else:
            extra = "hide-input"
        if extra not in tags:
            cell.metadata["tags"] = tags + [extra]
    return notebook


# tables with this many columns (index included) get the page's margin too (``full-width``):
# at the book's table type size they do not fit the text column at desktop width
WIDE_TABLE = 9


def table_columns(cell: Any) -> int:
    """Columns of the widest HTML table among a code cell's outputs (0 for none)."""
    widest = 0
    for output in cell.get("outputs", []):
        html = output.get("data", {}).get("text/html", "")
        html = "".join(html) if isinstance(html, list) else html
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S)[-1:]:
            widest = max(widest, len(re.findall(r"<t[hd][\s>]", row)))
    return widest


# figures this many times wider than high (rows of three or more panels) get the margin too:
# in the text column their labels would be too small to read
WIDE_FIGURE = 2.6


def figure_aspect(cell: Any) -> float:
    """Width over height of the widest PNG among a code cell's outputs (0 for none)."""
    widest = 0.0
    for output in cell.get("outputs", []):
        data = output.get("data", {}).get("image/png")
        if not data:
            continue
        try:
            head = base64.b64decode("".join(data) if isinstance(data, list) else data)[:24]
        except (binascii.Error, ValueError):
            continue
        if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) == 24:
            width, height = struct.unpack(">II", head[16:24])   # the IHDR chunk
            widest = max(widest, width / max(height, 1))
    return widest
