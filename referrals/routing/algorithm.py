"""Algorithm files: loading, validation (schema, then cross-references) and compilation.

An algorithm is data (routing.md: "versioned data ... not if statements"). Loading it checks
the shape with a JSON Schema, then that every code it names exists and that every code carries
kk/ru/en labels, and compiles each condition once into a closure so that routing a contact is
only a walk over precompiled predicates.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import jsonschema
import yaml

from .conditions import ConditionCompiler, Predicate, Vocabulary
from .model import DEFAULT_PLACE, NO_PERPETRATOR, Facts
from .schema import ALGORITHM_SCHEMA
from .table import rule_table

if TYPE_CHECKING:
    from .table import RuleRow

#: Versions bundled with the code, oldest first. A published version never changes: 2026.1 stays
#: here so decisions it made stay explainable; the last one is the default of a new install.
BUNDLED_VERSIONS: tuple[str, ...] = ("2026.1", "2026.2")
DEFAULT_VERSION = BUNDLED_VERSIONS[-1]

#: How a service's P1/P2 durations run (issue 14): on the clock, 24/7, or in working time only.
ROUND_THE_CLOCK = "round_the_clock"
OFFICE_HOURS = "office_hours"

LabelKind = Literal[
    "agency", "service", "category", "category_group", "relation", "relation_group", "flag",
    "place", "child_flag", "contact_type", "urgency", "urgency_description", "rule",
    "constraint", "instruction", "register", "decline_reason", "action_code", "outcome",
]

# Label kinds whose codes are plain top-level "code: labels" maps in the file.
_PLAIN_CODE_MAPS: tuple[tuple[str, LabelKind], ...] = (
    ("agencies", "agency"), ("relations", "relation"), ("flags", "flag"), ("places", "place"),
    ("child_flags", "child_flag"), ("decline_reasons", "decline_reason"),
    ("action_codes", "action_code"), ("outcomes", "outcome"),
)
_MAX_REPORTED_SCHEMA_ERRORS = 25
_RULES_MEMO_LIMIT = 4096  # distinct categories tuples remembered by Algorithm.rules_for


class AlgorithmError(ValueError):
    """An algorithm file that cannot be used; ``problems`` names each thing wrong with it."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid routing algorithm ({len(self.problems)} problem(s)):\n{listing}")


# Durations and deadlines -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WallClock:
    """A deadline on the clock, 24/7 (P1, P2, most caps)."""

    delta: timedelta


@dataclass(frozen=True, slots=True)
class WorkingDays:
    """A deadline in working days: the same local time on the N-th working day after."""

    count: int


Duration = WallClock | WorkingDays


@dataclass(frozen=True, slots=True)
class Deadlines:
    """How long an agency has to acknowledge a referral and to act on it."""

    acknowledge: Duration
    act: Duration


@dataclass(frozen=True, slots=True)
class ServiceCap:
    """A service's own limits, tightening the urgency's; ``None`` means no cap.

    ``condition`` (outcome-aware, e.g. "rule sexual-violence fired") limits the cap to the
    decisions where it holds; ``None`` means always.
    """

    acknowledge: Duration | None
    act: Duration | None
    condition: Predicate | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Urgency:
    code: str
    rank: int  # 0 is the most urgent; the file lists urgencies most urgent first
    routable: bool
    deadlines: Deadlines | None
    forbidden_flags: frozenset[str]


# Compiled parts ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RuleReferral:
    service: str
    agency: str
    mandatory: bool
    condition: Predicate | None = field(compare=False)


@dataclass(frozen=True, slots=True)
class UrgencyRaise:
    to: str
    rank: int
    condition: Predicate = field(compare=False)


@dataclass(frozen=True, slots=True)
class Rule:
    number: int  # 1-based position: table order decides lead and output order
    id: str
    min_urgency: str
    min_rank: int
    raises: tuple[UrgencyRaise, ...]
    referrals: tuple[RuleReferral, ...]
    lead: str
    lead_only_if_alone: bool
    condition: Predicate = field(compare=False)
    # At least one of these categories is needed for ``condition`` to hold (None: no such
    # set). Not part of equality: it is derived from the condition.
    requires: frozenset[str] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Constraint:
    """A global ban: ``service`` is never proposed when ``condition`` holds."""

    id: str
    service: str
    condition: Predicate = field(compare=False)


@dataclass(frozen=True, slots=True)
class CodedCondition:
    """An instruction or register code, given when its condition holds."""

    code: str
    condition: Predicate = field(compare=False)


@dataclass(frozen=True, eq=False)
class Algorithm:
    """A compiled, validated algorithm version. Equal when their documents are equal."""

    version: str
    data: Mapping[str, Any] = field(repr=False)
    source_text: str = field(repr=False)
    digest: str  # sha256 of the canonical JSON of ``data``
    services: Mapping[str, str] = field(repr=False)  # service -> agency
    office_hours_services: frozenset[str] = field(repr=False)  # counted in working time
    urgencies: Mapping[str, Urgency] = field(repr=False)  # most urgent first
    urgency_order: tuple[str, ...] = field(repr=False)  # codes by rank, most urgent first
    routable_contact_types: frozenset[str] = field(repr=False)
    deadlines: Mapping[str, Deadlines] = field(repr=False)  # routable urgencies only
    service_caps: Mapping[str, ServiceCap] = field(repr=False)
    constraints: tuple[Constraint, ...] = field(repr=False)
    rules: tuple[Rule, ...] = field(repr=False)
    instructions: tuple[CodedCondition, ...] = field(repr=False)
    registers: tuple[CodedCondition, ...] = field(repr=False)
    labels: Mapping[str, Mapping[str, Mapping[str, str]]] = field(repr=False)
    # categories tuple -> the rules that can fire for it, in table order (see rules_for).
    _rules_by_categories: dict[tuple[str, ...], tuple[Rule, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    # Owned by engine.route: what it worked out once per situation (see there).
    route_memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False,
                                       compare=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Algorithm):
            return NotImplemented
        return self.digest == other.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def codes(self, kind: LabelKind) -> tuple[str, ...]:
        """Every code of a kind, in file order (e.g. to fill a form's options)."""
        return tuple(self.labels[kind])

    def label(self, kind: LabelKind, code: str, lang: str) -> str:
        """The ``lang`` label of a code; ``KeyError`` for an unknown kind, code or language."""
        return self.labels[kind][code][lang]

    def rules_for(self, categories: tuple[str, ...]) -> tuple[Rule, ...]:
        """The rules whose condition can hold for a contact with these categories, in table
        order: a rule that needs one of some categories (``Rule.requires``) is left out when
        the contact has none of them. Routing evaluates every rule for every contact, and most
        rules are about one category, so this skips most condition calls; the result is
        memoised per categories tuple (a small space: the categories a contact is filed under).
        """
        found = self._rules_by_categories.get(categories)
        if found is None:
            present = frozenset(categories)
            found = tuple(rule for rule in self.rules
                          if rule.requires is None or not rule.requires.isdisjoint(present))
            if len(self._rules_by_categories) >= _RULES_MEMO_LIMIT:
                self._rules_by_categories.clear()
            self._rules_by_categories[categories] = found
        return found

    def is_office_hours(self, service: str) -> bool:
        """True when the service's body works office hours (its P1/P2 clocks count working
        time only); False for a round-the-clock service or a code this version lacks."""
        return service in self.office_hours_services

    def is_routable(self, facts: Facts) -> bool:
        """routing.md §3: routable contact type and an operator urgency that is routable."""
        if facts.contact_type not in self.routable_contact_types:
            return False
        urgency = self.urgencies.get(facts.urgency or "")
        return urgency is not None and urgency.routable

    def to_table(self, lang: str) -> tuple[RuleRow, ...]:
        """The rules as readable rows for the administrators' page (see :mod:`.table`)."""
        return rule_table(self, lang)


# Loading -----------------------------------------------------------------------------------

def load_algorithm(source: str | bytes | os.PathLike[str]) -> Algorithm:
    """Load, validate and compile an algorithm.

    ``source`` is a path (``os.PathLike``, or a ``str`` without a line break that does not
    start with ``{``) or the document itself (``bytes``, or any other ``str``), YAML or JSON.
    Raises :class:`AlgorithmError` naming every problem found.
    """
    return _compile_text(_source_text(source))


def default_algorithm() -> Algorithm:
    """The bundled default algorithm (the newest bundled version), loaded once per process."""
    return bundled_algorithm(DEFAULT_VERSION)


@functools.cache
def bundled_algorithm(version: str) -> Algorithm:
    """A version bundled with the code (``BUNDLED_VERSIONS``); ``KeyError`` for another."""
    if version not in BUNDLED_VERSIONS:
        raise KeyError(version)
    resource = resources.files(__package__).joinpath("algorithms", f"{version}.yaml")
    return _compile_text(resource.read_text(encoding="utf-8"))


def _compile_text(text: str) -> Algorithm:
    data = _parse(text)
    _check_schema(data)
    return _Builder(data, text).build()


def _source_text(source: str | bytes | os.PathLike[str]) -> str:
    if isinstance(source, str) and ("\n" in source or source.lstrip().startswith("{")):
        return source
    if isinstance(source, bytes):
        try:
            return source.decode("utf-8")
        except UnicodeDecodeError as error:
            raise AlgorithmError([f"the file is not UTF-8 text ({error.reason})"]) from None
    try:
        with open(source, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise AlgorithmError([f"cannot read {os.fspath(source)!s}: {error}"]) from None


# libyaml's parser when present (several times faster); the constructor is the safe one either way.
if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):
    """Safe YAML that refuses duplicate keys: a silently overwritten rule would be a disaster."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is not text (quote it)", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def _parse(text: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise AlgorithmError([f"not valid YAML/JSON: {error}"]) from None
    if not isinstance(data, dict):
        raise AlgorithmError(["the document must be a mapping (version, agencies, rules, ...)"])
    return data


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    validator_class = jsonschema.validators.validator_for(ALGORITHM_SCHEMA)
    validator_class.check_schema(ALGORITHM_SCHEMA)
    validator: jsonschema.protocols.Validator = validator_class(ALGORITHM_SCHEMA)
    return validator


def _check_schema(data: Mapping[str, Any]) -> None:
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.path)))
    if errors:
        raise AlgorithmError(
            f"{_json_path(e.path)}: {e.message}" for e in errors[:_MAX_REPORTED_SCHEMA_ERRORS]
        )


def _json_path(path: Iterable[Any]) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return text.lstrip(".") or "(document)"


def _duration(spec: Mapping[str, int]) -> Duration:
    if "working_days" in spec:
        return WorkingDays(spec["working_days"])
    minutes = spec.get("minutes", 0) + 60 * spec.get("hours", 0)
    return WallClock(timedelta(minutes=minutes))


class _Builder:
    """Cross-checks and compiles a schema-valid document, collecting every problem."""

    def __init__(self, data: dict[str, Any], text: str) -> None:
        self.data = data
        self.text = text
        self.problems: list[str] = []
        self.labels: dict[str, dict[str, Mapping[str, str]]] = {}

    def build(self) -> Algorithm:
        self._collect_labels()
        self._check_codes()
        urgencies = self._urgencies()
        compiler = ConditionCompiler(self._vocabulary(), self.problems)
        constraints = self._constraints(compiler)
        rules = self._rules(compiler, urgencies)
        instructions = self._coded(compiler, "instructions")
        registers = self._coded(compiler, "registers")
        caps = self._service_caps(compiler)
        if self.problems:
            raise AlgorithmError(self.problems)
        return Algorithm(
            version=self.data["version"],
            data=self.data,
            source_text=self.text,
            digest=_digest(self.data),
            services={code: spec["agency"] for code, spec in self.data["services"].items()},
            office_hours_services=frozenset(
                code for code, spec in self.data["services"].items()
                if spec.get("clock", ROUND_THE_CLOCK) == OFFICE_HOURS),
            urgencies=urgencies,
            urgency_order=tuple(urgencies),
            deadlines={c: u.deadlines for c, u in urgencies.items() if u.deadlines is not None},
            routable_contact_types=frozenset(
                code for code, spec in self.data["contact_types"].items() if spec["routable"]
            ),
            service_caps=caps,
            constraints=constraints,
            rules=rules,
            instructions=instructions,
            registers=registers,
            labels=self.labels,
        )

    def problem(self, text: str) -> None:
        self.problems.append(text)

    # Codes and labels ----------------------------------------------------------------------

    def _collect_labels(self) -> None:
        d = self.data
        for section, kind in _PLAIN_CODE_MAPS:
            self.labels[kind] = dict(d.get(section, {}))
        self.labels["service"] = {c: s["label"] for c, s in d["services"].items()}
        self.labels["category_group"] = {g: s["label"] for g, s in d["category_groups"].items()}
        self.labels["category"] = {
            f"{group}.{sub}": labels
            for group, spec in d["category_groups"].items()
            for sub, labels in spec["categories"].items()
        }
        self.labels["relation_group"] = {g: s["label"] for g, s in d["relation_groups"].items()}
        self.labels["contact_type"] = {c: s["label"] for c, s in d["contact_types"].items()}
        self.labels["urgency"] = {u["code"]: u["label"] for u in d["urgencies"]}
        self.labels["urgency_description"] = {u["code"]: u["description"] for u in d["urgencies"]}
        for section, kind in (("rules", "rule"), ("constraints", "constraint")):
            self.labels[kind] = self._unique(section, [(x["id"], x["label"]) for x in d[section]])
        for section, kind in (("instructions", "instruction"), ("registers", "register")):
            self.labels[kind] = self._unique(section,
                                             [(x["code"], x["label"]) for x in d[section]])

    def _unique(self, section: str,
                pairs: list[tuple[str, Mapping[str, str]]]) -> dict[str, Mapping[str, str]]:
        found: dict[str, Mapping[str, str]] = {}
        for code, labels in pairs:
            if code in found:
                self.problem(f"{section}: '{code}' appears more than once")
            found[code] = labels
        return found

    def _check_codes(self) -> None:
        agencies = self.labels["agency"]
        for code, spec in self.data["services"].items():
            agency = spec["agency"]
            if agency not in agencies:
                self.problem(f"services.{code}.agency: unknown agency '{agency}'")
            elif not code.startswith(f"{agency}."):
                self.problem(f"services.{code}: a service code starts with its agency '{agency}.'")
        relations = self.labels["relation"]
        for group, spec in self.data["relation_groups"].items():
            for member in spec["members"]:
                if member not in relations:
                    self.problem(f"relation_groups.{group}.members: unknown relation '{member}'")
        if NO_PERPETRATOR not in relations:
            self.problem(f"relations: '{NO_PERPETRATOR}' is required (missing relation means it)")
        if DEFAULT_PLACE not in self.labels["place"]:
            self.problem(f"places: '{DEFAULT_PLACE}' is required (missing place means it)")
        if not any(spec["routable"] for spec in self.data["contact_types"].values()):
            self.problem("contact_types: at least one contact type must be routable")

    def _vocabulary(self) -> Vocabulary:
        groups = {
            group: frozenset(f"{group}.{sub}" for sub in spec["categories"])
            for group, spec in self.data["category_groups"].items()
        }
        relation_groups = {
            group: frozenset(spec["members"])
            for group, spec in self.data["relation_groups"].items()
        }
        return Vocabulary(
            categories=frozenset(self.labels["category"]),
            category_groups=groups,
            flags=frozenset(self.labels["flag"]),
            child_flags=frozenset(self.labels["child_flag"]),
            relations=frozenset(self.labels["relation"]),
            relation_groups=relation_groups,
            places=frozenset(self.labels["place"]),
            urgencies=frozenset(self.labels["urgency"]),
            rules=frozenset(self.labels["rule"]),
        )

    # Urgencies and caps --------------------------------------------------------------------

    def _urgencies(self) -> dict[str, Urgency]:
        urgencies: dict[str, Urgency] = {}
        for rank, spec in enumerate(self.data["urgencies"]):
            code, where = spec["code"], f"urgencies[{rank}]"
            if code in urgencies:
                self.problem(f"{where}: urgency '{code}' appears more than once")
            urgencies[code] = self._urgency(spec, rank, where)
        if not any(u.routable for u in urgencies.values()):
            self.problem("urgencies: at least one urgency must be routable")
        return urgencies

    def _urgency(self, spec: Mapping[str, Any], rank: int, where: str) -> Urgency:
        routable = spec.get("routable", True)
        has_deadlines = "acknowledge" in spec and "act" in spec
        if routable and not has_deadlines:
            self.problem(f"{where}: a routable urgency needs 'acknowledge' and 'act' deadlines")
        if not routable and ("acknowledge" in spec or "act" in spec):
            self.problem(f"{where}: an urgency that is never routed has no deadlines")
        forbidden = frozenset(spec.get("forbidden_flags", ()))
        for flag in sorted(forbidden - self.labels["flag"].keys()):
            self.problem(f"{where}.forbidden_flags: unknown flag '{flag}'")
        deadlines = (
            Deadlines(_duration(spec["acknowledge"]), _duration(spec["act"]))
            if routable and has_deadlines else None
        )
        return Urgency(spec["code"], rank, routable, deadlines, forbidden)

    def _service_caps(self, compiler: ConditionCompiler) -> dict[str, ServiceCap]:
        caps: dict[str, ServiceCap] = {}
        for service, spec in self.data["service_caps"].items():
            if service not in self.labels["service"]:
                self.problem(f"service_caps: unknown service '{service}'")
            condition = (compiler.compile(spec["when"], f"service_caps.{service}.when",
                                          outcome=True) if "when" in spec else None)
            ack, act = (_duration(spec[part]) if part in spec else None
                        for part in ("acknowledge", "act"))
            caps[service] = ServiceCap(ack, act, condition)
        return caps

    def _routable_rank(self, urgencies: Mapping[str, Urgency], code: str, where: str) -> int:
        urgency = urgencies.get(code)
        if urgency is None or not urgency.routable:
            self.problem(f"{where}: '{code}' is not a routable urgency")
            return len(urgencies)
        return urgency.rank

    # Rules and the rest --------------------------------------------------------------------

    def _service_agency(self, service: str, where: str) -> str:
        spec = self.data["services"].get(service)
        if spec is None:
            self.problem(f"{where}: unknown service '{service}'")
            return ""
        agency: str = spec["agency"]
        return agency

    def _constraints(self, compiler: ConditionCompiler) -> tuple[Constraint, ...]:
        built = []
        for i, spec in enumerate(self.data["constraints"]):
            where = f"constraints[{i}]"
            self._service_agency(spec["never"], f"{where}.never")
            built.append(Constraint(spec["id"], spec["never"],
                                    compiler.compile(spec["when"], f"{where}.when")))
        return tuple(built)

    def _rules(self, compiler: ConditionCompiler,
               urgencies: Mapping[str, Urgency]) -> tuple[Rule, ...]:
        return tuple(
            self._rule(compiler, urgencies, spec, number)
            for number, spec in enumerate(self.data["rules"], start=1)
        )

    def _rule(self, compiler: ConditionCompiler, urgencies: Mapping[str, Urgency],
              spec: Mapping[str, Any], number: int) -> Rule:
        where = f"rules[{number - 1}] ({spec['id']})"
        if spec["lead"] not in self.labels["agency"]:
            self.problem(f"{where}.lead: unknown agency '{spec['lead']}'")
        referrals = tuple(
            RuleReferral(
                service=ref["service"],
                agency=self._service_agency(ref["service"], f"{where}.referrals[{i}]"),
                mandatory=ref["mandatory"],
                condition=(compiler.compile(ref["when"], f"{where}.referrals[{i}].when")
                           if "when" in ref else None),
            )
            for i, ref in enumerate(spec["referrals"])
        )
        raises = tuple(
            UrgencyRaise(
                to=r["to"],
                rank=self._routable_rank(urgencies, r["to"], f"{where}.raise_urgency[{i}].to"),
                condition=compiler.compile(r["when"], f"{where}.raise_urgency[{i}].when"),
            )
            for i, r in enumerate(spec.get("raise_urgency", ()))
        )
        return Rule(
            number=number,
            id=spec["id"],
            min_urgency=spec["min_urgency"],
            min_rank=self._routable_rank(urgencies, spec["min_urgency"], f"{where}.min_urgency"),
            raises=raises,
            referrals=referrals,
            lead=spec["lead"],
            lead_only_if_alone=spec.get("lead_only_if_alone", False),
            condition=compiler.compile(spec["when"], f"{where}.when"),
            requires=compiler.required_categories(spec["when"]),
        )

    def _coded(self, compiler: ConditionCompiler, section: str) -> tuple[CodedCondition, ...]:
        return tuple(
            CodedCondition(spec["code"],
                           compiler.compile(spec["when"], f"{section}[{i}].when", outcome=True))
            for i, spec in enumerate(self.data[section])
        )


def _digest(data: Mapping[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
