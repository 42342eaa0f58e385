"""The packages' direction (architecture.md): ``referrals`` may import ``intake`` and ``core``;
``intake`` may import ``core`` and the pure engine ``referrals.routing``; ``core`` imports
neither. Checked on the source, so an import inside a function or under ``TYPE_CHECKING``
counts as much as one at the top."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = "referrals.routing"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, wherever it stands;
    ``from pkg import name`` yields ``pkg.name`` too, since ``name`` may be a module."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def is_within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violation(importer: str, imported: str) -> bool:
    if is_within(importer, "core"):
        return is_within(imported, "intake") or is_within(imported, "referrals")
    if is_within(importer, "intake"):
        # ``from referrals import routing`` names the engine; ``referrals`` alone (the
        # package's __init__) is not the engine.
        return is_within(imported, "referrals") and not is_within(imported, ENGINE) \
            and imported != "referrals"
    return False


def violations_in(source: str, module: str, is_package: bool = False) -> list[str]:
    names = {(line, name) for line, name in imported_modules(source, module, is_package)}
    return sorted(f"{module}:{line} imports {name}" for line, name in names
                  if violation(module, name))


def package_files() -> list[Path]:
    return sorted(path for package in ("core", "intake", "referrals")
                  for path in (ROOT / package).rglob("*.py"))


def test_core_imports_neither_intake_nor_referrals_and_intake_only_the_engine() -> None:
    found = [problem for path in package_files()
             for problem in violations_in(path.read_text(encoding="utf-8"), module_name(path),
                                          path.name == "__init__.py")]
    assert not found, "imports against the packages' direction:\n" + "\n".join(found)


def test_the_check_reads_every_kind_of_import() -> None:
    assert package_files(), "no source found: the test would pass on nothing"
    source = ("from __future__ import annotations\n"
              "from typing import TYPE_CHECKING\n"
              "if TYPE_CHECKING:\n    import intake.models\n"
              "def later():\n    from referrals import handoffs\n"
              "def engine():\n    from referrals.routing import route\n")
    assert violations_in(source, "core.example") == [
        "core.example:4 imports intake.models", "core.example:6 imports referrals",
        "core.example:6 imports referrals.handoffs", "core.example:8 imports referrals.routing",
        "core.example:8 imports referrals.routing.route"]


@pytest.mark.parametrize(("source", "expected"), [
    ("from referrals.routing import Decision\n", []),
    ("from referrals import routing\n", []),
    ("from referrals.routing.engine import route\n", []),
    ("import referrals.routing_app.service\n",
     ["intake.example:1 imports referrals.routing_app.service"]),
    ("def f():\n    from referrals.handoffs.models import Referral\n",
     ["intake.example:2 imports referrals.handoffs.models",
      "intake.example:2 imports referrals.handoffs.models.Referral"]),
    ("from .text import service\n", []),
])
def test_intake_may_import_only_the_engine_of_referrals(source: str, expected: list[str]) -> None:
    assert violations_in(source, "intake.example") == expected


def test_relative_imports_are_resolved_from_their_package() -> None:
    assert violations_in("from ..models import User\n", "core.auth.example") == []
    assert violations_in("from .. import admin\n", "referrals.handoffs.example") == []
    assert violations_in("from . import views\n", "core", is_package=True) == []
