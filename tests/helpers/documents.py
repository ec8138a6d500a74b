"""Documents built at test time with real libraries: a PDF with a text layer (fpdf2), a PDF with no
text (a drawn image only, as a scan would be), and a Word file (python-docx)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

PDF_PAGES = (
    (
        "The harbour authority said ferry traffic grew by twelve percent in 2024, the fastest rise in a "
        "decade, as tourists returned to the islands.",
        "Dredging of the outer channel will begin in May and last six weeks.",
    ),
    (
        "The new pier will cost 4.5 million pounds, paid for by the regional council and a government grant.",
        "Work on the pier is due to finish in the spring of 2026.",
    ),
)
DOCX_BLOCKS = (
    ("Title", "School budget memo"),
    ("Normal", "The council will spend two million pounds on school roofs next year."),
    ("Heading 1", "Transport"),
    ("Normal", "Free bus passes for pupils will cost the council 300,000 pounds a year."),
    ("Normal", "The cycle lane on Mill Road will be finished by August."),
)


def write_pdf(path: Path, pages=PDF_PAGES, title: str = "Harbour report") -> Path:
    """A PDF with one page per item of `pages` (paragraphs wrapped by fpdf2), its title and creation date set."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_creation_date(datetime(2025, 4, 2, 9, 30, tzinfo=UTC))
    pdf.set_font("helvetica", size=12)
    for paragraphs in pages:
        pdf.add_page()
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(4)
    pdf.output(str(path))
    return path


def write_scan(path: Path) -> Path:
    """A PDF whose only page holds drawn shapes and no text (as a scanned page would)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_fill_color(90, 90, 90)
    for row in range(20):
        pdf.rect(10, 10 + row * 12, 150 - row * 3, 8, style="F")
    pdf.output(str(path))
    return path


def write_docx(path: Path, blocks=DOCX_BLOCKS) -> Path:
    """A Word file of (style, text) paragraphs, with a small table at the end."""
    import docx

    document = docx.Document()
    for style, text in blocks:
        document.add_paragraph(text, style=style)
    table = document.add_table(rows=2, cols=2)
    for r, (item, cost) in enumerate((("Roofs", "2,000,000"), ("Bus passes", "300,000"))):
        table.cell(r, 0).text, table.cell(r, 1).text = item, cost
    document.save(str(path))
    return path
