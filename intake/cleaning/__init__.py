"""Cleaning evidence files: recognise each by its content, then remove what could give its sender away.

Each module cleans one family and raises `Refused` with a reason the forms explain in plain words:
`images` (photos, decoded within a pixel budget), `pdf` (pikepdf, in a child process), `office` (DOCX,
XLSX, ODT: zipfile and lxml), `media` (MP4, M4A, 3GP, MOV: ffmpeg remux, in a child process), `kinds`
(recognition by content). The modules import nothing else from `intake`: the PDF child runs this package
on its own (see `sandbox`).
"""

from __future__ import annotations


class Refused(ValueError):
    """A file that cannot be cleaned, so is not accepted. `reason` names why (see REASONS)."""

    REASONS = ("type", "image", "document", "encrypted", "media", "timeout", "pixels_total", "unavailable")

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
