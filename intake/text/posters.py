"""A school's printable poster: A4, in Kazakh or Russian, with the QR code of its report page.

HTML and CSS rendered to PDF by WeasyPrint (system fonts through Pango: DejaVu covers Kazakh
Cyrillic); the PNG is the PDF's page rasterised by PDFium, so both always show the same poster.
"""

from __future__ import annotations

import io

import segno
from flask import render_template
from flask_babel import force_locale

from intake.text.models import School
from intake.text.schools import report_url

POSTER_LANGUAGES = ("kk", "ru")
PNG_DPI = 150  # sharp enough to print a QR code at A4; about 1240 x 1754 pixels


def qr_svg(url: str) -> str:
    # error level "h": a poster gets torn, scribbled on and photographed at an angle
    return str(segno.make(url, error="h").svg_data_uri(scale=10, border=2, dark="#111"))


def poster_html(school: School, token: str, lang: str) -> str:
    url = report_url(token)
    with force_locale(lang):
        return render_template("intake/text/poster.html", school=school, lang=lang, url=url,
                               qr=qr_svg(url))


def poster_pdf(school: School, token: str, lang: str) -> bytes:
    from weasyprint import HTML  # a heavy library (Pango), loaded only when a poster is made

    pdf: bytes = HTML(string=poster_html(school, token, lang)).write_pdf()
    return pdf


def poster_png(school: School, token: str, lang: str) -> bytes:
    import pypdfium2  # PDFium, loaded only when a PNG poster is made

    document = pypdfium2.PdfDocument(poster_pdf(school, token, lang))
    try:
        image = document[0].render(scale=PNG_DPI / 72).to_pil()
    finally:
        document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
