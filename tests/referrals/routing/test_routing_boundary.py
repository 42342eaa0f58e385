"""The engine is pure (architecture.md): importing it loads nothing of the application."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "referrals" / "routing"
FORBIDDEN = ("flask", "sqlalchemy", "core", "intake")
# What the engine may import besides the standard library and itself.
ALLOWED_THIRD_PARTY = {"yaml", "jsonschema"}

PROBE = f"""
import sys
import referrals.routing as routing
routing.default_algorithm()
loaded = sorted(m for m in sys.modules
                if m.split('.')[0] in {FORBIDDEN!r}
                or (m.startswith('referrals.') and m != 'referrals.routing'
                    and not m.startswith('referrals.routing.')))
print(','.join(loaded))
"""


def test_importing_the_engine_loads_no_application_module() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"the engine pulled in: {result.stdout.strip()}"


def test_engine_modules_import_only_the_standard_library_yaml_and_jsonschema() -> None:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue  # relative: inside the engine
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                allowed = top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY
                assert allowed, f"{path.relative_to(ROOT)} imports {name}"
