"""No test module imports another one (issue 15 item 8): what tests share lives in a conftest.py
(fixtures) or in a helper module (tests/factories.py, tests/sql.py, ...), so that running,
moving or deleting one test module never changes another."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _imported_modules(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every module an import statement may load, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # `from tests.x import test_y` loads the module test_y
                yield node.lineno, f"{node.module}.{alias.name}"


def _test_module(dotted: str) -> Path | None:
    path = ROOT.joinpath(*dotted.split(".")).with_suffix(".py")
    return path if path.name.startswith("test_") and path.is_file() else None


def imports_of_test_modules(source: str) -> list[str]:
    found = []
    for line, dotted in _imported_modules(ast.parse(source)):
        if _test_module(dotted) is not None:
            found.append(f"line {line}: {dotted}")
    return found


def test_no_test_module_imports_another() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sorted(TESTS.rglob("*.py"))
        if (found := imports_of_test_modules(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_check_sees_each_form_of_import() -> None:
    # Real test modules, imported in each way the check must notice (and what it must allow).
    assert imports_of_test_modules("from tests.core.test_app import make_config") == [
        "line 1: tests.core.test_app"]
    assert imports_of_test_modules("from tests.core import test_app") == ["line 1: tests.core.test_app"]
    assert imports_of_test_modules("def f():\n    import tests.core.test_app\n") == [
        "line 2: tests.core.test_app"]
    assert imports_of_test_modules("from tests.factories import sign_in\nfrom tests import sql\n") == []
