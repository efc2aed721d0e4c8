"""The saved advice as a PDF: fpdf2 draws the HTML of templates/advice_pdf.html.

The text comes from the same template texts as the web page. A Unicode TrueType font (DejaVu,
shipped by Debian's fonts-dejavu-core) is used when present; without one, fpdf2's core font
only knows latin-1, so typographic characters are replaced and the rest becomes "?".
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fpdf import FPDF

FONT_DIRS: Final = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
)
# fpdf2 style -> DejaVu file name
FONT_FILES: Final = {
    "": "DejaVuSans.ttf",
    "B": "DejaVuSans-Bold.ttf",
    "I": "DejaVuSans-Oblique.ttf",
    "BI": "DejaVuSans-BoldOblique.ttf",
}
LATIN1_REPLACEMENTS: Final = {
    "€": "EUR ",
    "‘": "'",
    "’": "'",
    "‚": ",",
    "“": '"',
    "”": '"',
    "„": '"',
    "–": "-",
    "—": "-",
    "…": "...",
    "•": "-",
    "⚠": "!",
    "\u00a0": " ",
}


def unicode_font_dir() -> Path | None:
    """The first folder holding every DejaVu Sans style, or None."""
    for folder in FONT_DIRS:
        if all((folder / name).is_file() for name in FONT_FILES.values()):
            return folder
    return None


def latin1(text: str) -> str:
    """`text` in latin-1 for the core fonts: typographic characters replaced, others "?"."""
    for char, replacement in LATIN1_REPLACEMENTS.items():
        text = text.replace(char, replacement)
    return text.encode("latin-1", "replace").decode("latin-1")


def render_pdf(html: str, *, font_dir: Path | None = None, unicode: bool = True) -> bytes:
    """A4 PDF of `html` (the subset of HTML fpdf2 draws). `unicode=False` forces the core font."""
    pdf = FPDF(format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_title("Zijwijzer")
    pdf.set_creator("Zijwijzer")
    folder = (font_dir or unicode_font_dir()) if unicode else None
    if folder is not None:
        for style, name in FONT_FILES.items():
            pdf.add_font("DejaVu", style, str(folder / name))
        family = "DejaVu"
    else:
        family = "helvetica"
        html = latin1(html)
    pdf.add_page()
    pdf.set_font(family, size=10)
    pdf.write_html(html, font_family=family)
    return bytes(pdf.output())
