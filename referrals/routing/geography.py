"""Region and district codes the facts may name (routing.md §2)."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

StrPath = str | os.PathLike[str]


@dataclass(frozen=True)
class Geography:
    """Known region codes and, for each known district code, the region it lies in."""

    regions: frozenset[str]
    # Excluded from the hash: a mapping is not hashable, and equal regions plus equal
    # districts already make equal geographies.
    districts: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", frozenset(self.regions))
        object.__setattr__(self, "districts", MappingProxyType(dict(self.districts)))
        strays = sorted(d for d, r in self.districts.items() if r not in self.regions)
        if strays:
            raise ValueError(f"districts in unknown regions: {', '.join(strays)}")

    @classmethod
    def from_csv(cls, regions_path: StrPath, *districts_paths: StrPath) -> Geography:
        """Load ``regions.csv`` (column ``code``) and district files (``code``, ``region``)."""
        regions = frozenset(row["code"] for row in _rows(regions_path, ("code",)))
        districts: dict[str, str] = {}
        for path in districts_paths:
            districts.update(
                (row["code"], row["region"]) for row in _rows(path, ("code", "region"))
            )
        return cls(regions, districts)

    def region_of(self, district: str) -> str | None:
        return self.districts.get(district)


def _rows(path: StrPath, required: Iterable[str]) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{os.fspath(path)}: missing column(s) {', '.join(missing)}")
        return [
            {k: (v or "").strip() for k, v in row.items() if k is not None}
            for row in reader
        ]
