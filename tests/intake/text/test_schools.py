"""The directory of schools: ``senim schools import/export`` (interfaces.md), token rotation,
and the posters in Kazakh and Russian (PDF and PNG, A4, with a QR code of the report URL)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.extensions import db
from intake.text.models import School, SchoolToken
from tests.reading import get_row, poster_token

CSV = """name_kk,name_ru,region,district
№1 Теректі мектебі,Терекинская школа №1,KZ-27,KZ-27-TEREKTI
Ақсай колледжі,Аксайский колледж,Батыс Қазақстан облысы,Бөрлі ауданы
Астана №5 мектеп,Школа №5 Астаны,KZ-71,
"""


def _cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def _csv(tmp_path: Path, text: str = CSV) -> str:
    path = tmp_path / "schools.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_import_is_idempotent_on_name_and_district(app: Flask, tmp_path: Path) -> None:
    first = _cli(app, "schools", "import", _csv(tmp_path))
    assert first.exit_code == 0, first.output
    assert "3 schools imported, 0 already there" in first.output
    again = _cli(app, "schools", "import", _csv(tmp_path))
    assert "0 schools imported, 3 already there" in again.output
    assert db.session.scalar(select(func.count()).select_from(School)) == 3
    burli = db.session.scalars(select(School).where(School.name_ru == "Аксайский колледж")).one()
    assert (burli.region, burli.district) == ("KZ-27", "KZ-27-BURLIN")  # names read as codes


def test_a_bad_file_imports_nothing_and_names_each_line(app: Flask, tmp_path: Path) -> None:
    bad = CSV + "Жоқ,Нет,KZ-99,\n,Без названия,KZ-27,\nМектеп,Школа,KZ-27,KZ-75-ALATAU\n"
    result = _cli(app, "schools", "import", _csv(tmp_path, bad))
    assert result.exit_code == 1
    for line in ("line 5: unknown region", "line 6: name_kk and name_ru are required",
                 "line 7: unknown district"):
        assert line in result.output
    assert db.session.scalar(select(func.count()).select_from(School)) == 0
    missing = _cli(app, "schools", "import", _csv(tmp_path, "name,region\nx,KZ-27\n"))
    assert missing.exit_code == 1 and "missing columns" in missing.output


def test_export_lists_tokens_and_report_urls(app: Flask, tmp_path: Path) -> None:
    _cli(app, "schools", "import", _csv(tmp_path))
    rows = json.loads(_cli(app, "schools", "export", "--json").output)
    assert len(rows) == 3
    for row in rows:
        assert row["report_url"] == f"http://127.0.0.1:5000/r/{row['report_token']}"
        assert len(row["report_token"]) >= 16
        assert row["name_kk"] not in row["report_token"]
    as_csv = list(csv.DictReader(io.StringIO(_cli(app, "schools", "export").output)))
    assert [r["report_token"] for r in as_csv] == [r["report_token"] for r in rows]
    assert set(as_csv[0]) >= {"name_kk", "name_ru", "region", "district", "report_token", "report_url"}


def test_rotation_retires_the_old_token(app: Flask, tmp_path: Path, client: Any) -> None:
    _cli(app, "schools", "import", _csv(tmp_path))
    school = db.session.scalars(select(School).order_by(School.name_kk)).first()
    assert school is not None
    old = poster_token(school)
    result = _cli(app, "schools", "rotate", school.id)
    assert result.exit_code == 0
    db.session.expire_all()
    new = poster_token(get_row(School, school.id))
    assert new != old and result.output.strip().endswith(new)
    assert get_row(SchoolToken, old).retired_at is not None
    assert client.get(f"/r/{old}").status_code == 410
    assert client.get(f"/r/{new}").status_code == 200


@pytest.mark.parametrize("lang, words", [("kk", "Бізге жаз"), ("ru", "Напиши нам")])
def test_posters_are_a4_pdf_and_png_with_a_working_qr_code(app: Flask, tmp_path: Path,
                                                          lang: str, words: str,
                                                          artifacts_dir: Path) -> None:
    import pypdfium2
    from PIL import Image

    _cli(app, "schools", "import", _csv(tmp_path))
    school = db.session.scalars(select(School).where(School.district == "KZ-27-TEREKTI")).one()
    pdf, png = tmp_path / "p.pdf", artifacts_dir / f"poster-{lang}.png"
    assert _cli(app, "schools", "poster", school.id, "--lang", lang, "-o", str(pdf)).exit_code == 0
    assert _cli(app, "schools", "poster", school.id, "--lang", lang, "--format", "png",
                "-o", str(png)).exit_code == 0
    document = pypdfium2.PdfDocument(str(pdf))
    assert len(document) == 1
    width, height = document[0].get_size()
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)  # A4 in mm
    page_text = " ".join(document[0].get_textpage().get_text_range().split())
    assert words in page_text and "111" in page_text and school.name(lang) in page_text
    assert poster_token(school) in page_text  # the printed URL under the code
    document.close()
    image = Image.open(png)
    assert image.size[0] > 1000 and image.size[1] / image.size[0] == pytest.approx(297 / 210, rel=0.01)


def test_the_qr_code_encodes_the_report_url(app: Flask) -> None:
    import segno

    from intake.text.posters import qr_svg

    url = "http://127.0.0.1:5000/r/abcdefghijklmnop"
    assert qr_svg(url).startswith("data:image/svg+xml")
    assert segno.make(url, error="h").designator  # encodable at the highest correction level


def test_the_demo_loads_fictional_schools_once(app: Flask) -> None:
    from core.clock import utcnow
    from intake.text.schools import load_demo_schools

    assert load_demo_schools(utcnow()) == 3
    assert load_demo_schools(utcnow()) == 0
    names = db.session.scalars(select(School.name_ru)).all()
    assert len(names) == 3 and all("(демо)" in n for n in names)
