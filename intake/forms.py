"""The operator's form, read into the same contact dictionary the API takes, so one validator
(intake.service.validate_contact) serves both. Field names in the page are the dotted paths of
that dictionary (``child.name``), so an error keyed ``child.name`` lands beside its field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from intake.labels import form_message
from intake.models import CALLER_RELATIONS, CHANNELS, SEXES

TEXT_FIELDS = ("caller.name", "caller.phone", "child.name", "child.iin", "child.address",
               "child.school", "summary")
CODE_FIELDS = ("channel", "contact_type", "language", "caller.relation", "child.sex",
               "child.region", "child.district", "urgency", "perpetrator.relation", "place",
               "case_id")
LIST_FIELDS = ("categories", "flags", "child.flags")
BOOL_FIELDS = ("caller.callback_consent", "perpetrator.lives_with_child")


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _age(raw: str | None) -> Any:
    raw = _blank(raw)
    if raw is None:
        return None
    return int(raw) if raw.isdigit() else raw  # a non-number stays text: the schema says why


def _put(target: dict[str, Any], dotted: str, value: Any) -> None:
    head, _, rest = dotted.partition(".")
    if rest:
        _put(target.setdefault(head, {}), rest, value)
    else:
        target[head] = value


def contact_from_form(form: MultiDict[str, str], *, started_at: datetime | None,
                      ended_at: datetime | None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS + CODE_FIELDS:
        _put(data, name, _blank(form.get(name)))
    for name in LIST_FIELDS:
        _put(data, name, [v for v in form.getlist(name) if v])
    for name in BOOL_FIELDS:
        _put(data, name, form.get(name) == "on")
    _put(data, "child.age", _age(form.get("child.age")))
    data["started_at"] = started_at.isoformat() if started_at else None
    data["ended_at"] = ended_at.isoformat() if ended_at else None
    changes = referral_changes_from_form(form)
    if changes["remove"] or changes["add"]:
        data["referral_changes"] = changes
    return data


def referral_changes_from_form(form: MultiDict[str, str]) -> dict[str, list[dict[str, str]]]:
    """Services shown in the preview and unticked are removals; the 'add' row is a manual one."""
    shown = [s for s in form.getlist("preview.shown") if s]
    kept = set(form.getlist("preview.keep"))
    remove = [{"service": s, "reason": (form.get(f"preview.reason.{s}") or "").strip()}
              for s in shown if s not in kept]
    add = []
    if _blank(form.get("add.service")):
        add.append({"service": form["add.service"].strip(),
                    "reason": (form.get("add.reason") or "").strip()})
    return {"remove": remove, "add": add}


@dataclass
class FormState:
    """What the template needs to re-render the form exactly as the operator left it."""

    values: Mapping[str, Any] = field(default_factory=dict)
    lists: Mapping[str, list[str]] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: MultiDict[str, str], errors: Mapping[str, str] | None = None) -> FormState:
        values = {k: form.get(k, "") for k in form}
        lists = {name: form.getlist(name) for name in (*LIST_FIELDS, "preview.keep", "preview.shown")}
        return cls(values, lists, errors or {})

    @classmethod
    def from_draft(cls, saved: Mapping[str, list[str]]) -> FormState:
        """A draft keeps the form as posted (name -> values); put it back as it was."""
        return cls.from_form(MultiDict(saved))

    def value(self, name: str, default: str = "") -> str:
        value = self.values.get(name)
        return default if value is None else str(value)

    def checked(self, name: str, code: str) -> bool:
        return code in self.lists.get(name, [])

    def error(self, name: str) -> str | None:
        return form_message(self.errors.get(name))


CHOICES = {"channel": CHANNELS, "caller.relation": CALLER_RELATIONS, "child.sex": SEXES}
