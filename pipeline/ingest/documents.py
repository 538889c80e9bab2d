"""The unit ingest hands to the splitter."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawDocument:
    """Decoded text of one input file, or of one spreadsheet row.

    Attributes:
        source: Path relative to the input root (``#rowN`` appended for rows).
        text: The decoded text, not yet cleaned.
        kind: Reader that produced it (``text``, ``docx``, ``pdf``, ``table``).
        meta: Author/unit/row and reader notes (e.g. detected ``encoding``).
        splittable: Whether the splitter may look for several essays inside
            (a spreadsheet row is always one submission).
    """

    source: str
    text: str
    kind: str = "text"
    meta: dict[str, Any] = field(default_factory=dict)
    splittable: bool = True
