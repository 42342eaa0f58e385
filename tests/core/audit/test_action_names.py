"""Every audit action the code can record is written out as a literal somewhere (issue 15, item
4): an auditor who sees ``referral.decline`` in the trail finds the code that wrote it with
``grep -rn '"referral.decline"'``. An action built at run time (an f-string, a concatenation)
would be found by no grep, so the test refuses it."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from referrals.handoffs import transitions

ROOT = Path(__file__).resolve().parents[3]
RECORDING = {"record", "record_kept", "reading"}  # core.audit's functions that take an action
NAME = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$")


def _modules() -> list[Path]:
    return sorted(p for package in ("core", "intake", "referrals")
                  for p in (ROOT / package).rglob("*.py"))


def _module_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "literal"`` assignments (an action named once, used twice), also
    when imported by name from another application module."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            source = ROOT / (node.module.replace(".", "/") + ".py")
            if source.is_file():
                theirs = _module_constants(ast.parse(source.read_text(encoding="utf-8")))
                found.update({alias.asname or alias.name: theirs[alias.name]
                              for alias in node.names if alias.name in theirs})
        if (isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def _is_audit_call(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr in RECORDING
            and isinstance(func.value, ast.Name) and func.value.id == "audit")


def _actions_in(path: Path) -> Iterator[tuple[str, str | None]]:
    yield from _actions_in_source(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))


def _actions_in_source(source: str, name: str) -> Iterator[tuple[str, str | None]]:
    """(where, action) for every call; action None when it is not a literal we can resolve."""
    tree = ast.parse(source)
    constants = _module_constants(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_audit_call(node) and node.args):
            continue
        where = f"{name}:{node.lineno}"
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            yield where, first.value
        elif isinstance(first, ast.Name) and first.id in constants:
            yield where, constants[first.id]
        elif _is_transition_table(first):
            yield from ((where, action) for action in transitions.AUDIT_ACTIONS.values())
        else:
            yield where, None


def _is_transition_table(node: ast.expr) -> bool:
    """``transitions.AUDIT_ACTIONS[action]``: a table of literals, checked below."""
    return (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "AUDIT_ACTIONS")


def _source_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in _modules())


def test_every_recorded_action_is_a_literal_in_the_source() -> None:
    found = [(where, action) for path in _modules() for where, action in _actions_in(path)]
    assert len(found) > 60, "the scan must see the application's audit calls"
    unresolved = [where for where, action in found if action is None]
    assert unresolved == [], "an audit action that grep cannot find"
    source = _source_text()
    for where, action in found:
        assert action is not None and NAME.match(action), (where, action)
        assert f'"{action}"' in source, (where, action)


def test_the_transition_table_spells_out_every_action() -> None:
    source = (ROOT / "referrals/handoffs/transitions.py").read_text(encoding="utf-8")
    assert set(transitions.AUDIT_ACTIONS) == set(transitions.ACTIONS)
    for action in transitions.AUDIT_ACTIONS.values():
        assert f'"{action}"' in source, action
    assert '"referral.decline"' in source


def test_an_action_built_at_run_time_is_refused() -> None:
    source = ('from core import audit\nCLOSED = "case.closed"\n\ndef act(kind):\n'
              '    audit.record(f"case.{kind}", object_type="case")\n'
              '    audit.record(CLOSED)\n'
              '    with audit.reading("case.viewed", "case"):\n        pass\n')
    assert [action for _where, action in _actions_in_source(source, "x.py")] == [
        None, "case.closed", "case.viewed"]
