"""Reference data the project owns: regions, districts and the calendar of days off.

Copied from the shared data set into ``core/data/`` so the product never depends on anything
outside its own tree at run time. Loaded once per process; the files are small.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
REGIONS_CSV = DATA_DIR / "regions.csv"
DISTRICTS_CSV = DATA_DIR / "districts-KZ-27.csv"
HOLIDAYS_CSV = DATA_DIR / "holidays-KZ.csv"


@dataclass(frozen=True)
class Place:
    code: str
    name_kk: str
    name_ru: str
    name_en: str
    region: str  # a region's own code for regions

    def name(self, lang: str) -> str:
        return {"kk": self.name_kk, "ru": self.name_ru}.get(lang, self.name_en)


@dataclass(frozen=True)
class DayOff:
    day: date
    kind: str
    name_en: str


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def regions() -> dict[str, Place]:
    return {
        row["code"]: Place(row["code"], row["name_kk"], row["name_ru"], row["name_en"], row["code"])
        for row in _rows(REGIONS_CSV)
    }


@cache
def districts() -> dict[str, Place]:
    return {
        row["code"]: Place(row["code"], row["name_kk"], row["name_ru"], row["name_en"], row["region"])
        for row in _rows(DISTRICTS_CSV)
    }


def districts_of(region: str) -> list[Place]:
    return [place for place in districts().values() if place.region == region]


@cache
def days_off() -> tuple[DayOff, ...]:
    return tuple(
        DayOff(date.fromisoformat(row["date"]), row["kind"], row["name_en"])
        for row in _rows(HOLIDAYS_CSV)
    )


# Official Russian names put the generic word first ("область Абай", issue 14): a list of
# regions sorts by the proper name.
_GENERIC_PREFIXES = ("область ", "город ")


def sort_name(name: str) -> str:
    """A place's name without a leading generic word, for sorting lists of places."""
    for prefix in _GENERIC_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def place_name(code: str | None, lang: str) -> str:
    if not code:
        return ""
    place = regions().get(code) or districts().get(code)
    return place.name(lang) if place else code


def region_options(language: str, key: Callable[[str, str], Any]) -> list[tuple[str, str]]:
    """(code, name) of every region in ``language``, sorted by ``key(name, language)`` (the
    caller's collation), ignoring the leading words that do not sort (``sort_name``)."""
    return sorted(((p.code, p.name(language)) for p in regions().values()),
                  key=lambda option: key(sort_name(option[1]), language))
