"""What changed between two algorithm versions, for the administrators' upload page."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .algorithm import ROUND_THE_CLOCK, Algorithm

# Rule fields compared one by one, so a change says which part of the rule moved.
_RULE_FIELDS = ("when", "referrals", "min_urgency", "raise_urgency", "lead",
                "lead_only_if_alone", "label")


@dataclass(frozen=True, slots=True)
class Change:
    """One difference. ``action`` is added, removed, changed or moved."""

    action: str
    kind: str  # "version", "rule", or a label kind such as "service", "category"
    code: str
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.kind} {self.code}: {self.action}"
        return f"{text} ({self.detail})" if self.detail else text


def diff_algorithms(old: Algorithm, new: Algorithm) -> list[Change]:
    """Changes from ``old`` to ``new``: version, rules, then every other code and setting."""
    changes: list[Change] = []
    if old.version != new.version:
        changes.append(Change("changed", "version", new.version, f"was {old.version}"))
    changes.extend(_rule_changes(old, new))
    changes.extend(_code_changes(old, new))
    return changes


def _rule_changes(old: Algorithm, new: Algorithm) -> Iterator[Change]:
    before = {spec["id"]: spec for spec in old.data["rules"]}
    after = {spec["id"]: spec for spec in new.data["rules"]}
    for number, (rule_id, spec) in enumerate(after.items(), start=1):
        if rule_id not in before:
            yield Change("added", "rule", rule_id, f"as #{number}")
            continue
        fields = [_rule_field(f, before[rule_id], spec) for f in _RULE_FIELDS
                  if before[rule_id].get(f) != spec.get(f)]
        if fields:
            yield Change("changed", "rule", rule_id, "; ".join(fields))
    for rule_id in before:
        if rule_id not in after:
            yield Change("removed", "rule", rule_id)
    yield from _moves(list(before), list(after))


def _rule_field(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """A changed rule field, with the services gone and come for its referrals."""
    if name != "referrals":
        return name
    was = [ref["service"] for ref in old["referrals"]]
    now = [ref["service"] for ref in new["referrals"]]
    moved = _members_detail(was, now)
    return f"referrals: {moved}" if moved else "referrals"


def _members_detail(was: list[str], now: list[str]) -> str:
    """"-a +b" for a list of codes that changed (empty when only the order or details did)."""
    gone = [f"-{code}" for code in was if code not in now]
    came = [f"+{code}" for code in now if code not in was]
    return " ".join([*gone, *came])


def _moves(before: list[str], after: list[str]) -> Iterator[Change]:
    """Rules whose order relative to the other kept rules changed (order decides the lead).

    The rules outside a longest common subsequence of the two orders are the ones that moved,
    so moving one rule names that rule only, not every rule it jumped over.
    """
    kept_before = [r for r in before if r in after]
    kept_after = [r for r in after if r in before]
    stayed = _longest_common_subsequence(kept_before, kept_after)
    for rule_id in kept_after:
        if rule_id not in stayed:
            yield Change("moved", "rule", rule_id,
                         f"#{before.index(rule_id) + 1} -> #{after.index(rule_id) + 1}")


def _longest_common_subsequence(a: list[str], b: list[str]) -> set[str]:
    lengths = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            lengths[i + 1][j + 1] = (lengths[i][j] + 1 if x == y
                                     else max(lengths[i][j + 1], lengths[i + 1][j]))
    common: set[str] = set()
    i, j = len(a), len(b)
    while i and j:
        if a[i - 1] == b[j - 1]:
            common.add(a[i - 1])
            i, j = i - 1, j - 1
        elif lengths[i - 1][j] >= lengths[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return common


def _code_changes(old: Algorithm, new: Algorithm) -> Iterator[Change]:
    old_settings, new_settings = _settings(old), _settings(new)
    kinds = [*new.labels, *(k for k in old.labels if k not in new.labels)]
    for kind in kinds:
        if kind == "rule":
            continue  # rules are compared as a whole above
        before, after = old.labels.get(kind, {}), new.labels.get(kind, {})
        for code in after:
            if code not in before:
                yield Change("added", kind, code)
                continue
            parts = ["labels"] if before[code] != after[code] else []
            parts += _setting_changes(old_settings.get((kind, code), {}),
                                      new_settings.get((kind, code), {}))
            if parts:
                yield Change("changed", kind, code, ", ".join(parts))
        for code in before:
            if code not in after:
                yield Change("removed", kind, code)


def _setting_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Named settings that differ: "clock: round_the_clock -> office_hours", "members: +x"."""
    changes = []
    for name in [*new, *(n for n in old if n not in new)]:
        was, now = old.get(name), new.get(name)
        if was == now:
            continue
        if isinstance(was, list) and isinstance(now, list):
            moved = _members_detail(was, now)
            changes.append(f"{name}: {moved}" if moved else name)
        elif isinstance(was, str | None) and isinstance(now, str | None):
            changes.append(f"{name}: {was or '—'} -> {now or '—'}")
        else:
            changes.append(name)
    return changes


def _settings(algorithm: Algorithm) -> dict[tuple[str, str], dict[str, Any]]:
    """Everything about a code besides its labels (deadlines, agency, members, conditions),
    by setting name, so that a change names the setting that moved."""
    data = algorithm.data
    settings: dict[tuple[str, str], dict[str, Any]] = {}
    for code, spec in data["services"].items():
        settings["service", code] = {"agency": spec["agency"],
                                     "clock": spec.get("clock", ROUND_THE_CLOCK),
                                     "cap": data["service_caps"].get(code)}
    for code, spec in data["relation_groups"].items():
        settings["relation_group", code] = {"members": list(spec["members"])}
    for code, spec in data["contact_types"].items():
        settings["contact_type", code] = {"routable": spec["routable"]}
    for rank, spec in enumerate(data["urgencies"]):
        settings["urgency", spec["code"]] = {
            "settings": _without(spec, "label", "description") | {"rank": rank}}
    for spec in data["constraints"]:
        settings["constraint", spec["id"]] = {"settings": _without(spec, "label")}
    for section, kind in (("instructions", "instruction"), ("registers", "register")):
        for position, spec in enumerate(data[section]):
            settings[kind, spec["code"]] = {"when": spec["when"], "position": position}
    return settings


def _without(spec: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in keys}
