"""The rule-condition language of algorithm files, compiled once into closures.

A condition is a mapping with exactly one operator::

    {category: violence.sexual}                       # a code or a list: "any of"
    {category_group: missing}                         # any category of a group
    {flag: [ongoing, injury]}                         # operator-ticked flags
    {child_flag: orphan} / {any_child_flag: true}     # risk-group flags on the child
    {perpetrator: school_staff}                       # relation codes
    {perpetrator_group: family}                       # a named group of relations
    {place: school}
    {age_lt: 16, unknown: true}                       # unknown age counts only when told so
    {age_ge: 14}
    {all: [...]} / {any: [...]} / {not: {...}}
    {urgency: P1} / {rule: sexual-violence}           # decisions only: final urgency, fired rules

``urgency`` and ``rule`` look at the outcome of routing, so they are allowed only where the
outcome exists (instructions and registers), never in rules, referrals or constraints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .model import Facts

_AGE_OPERATORS = frozenset({"age_lt", "age_ge"})
_OUTCOME_OPERATORS = frozenset({"urgency", "rule"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What instructions and registers may look at besides the facts."""

    fired: frozenset[str]
    urgency: str | None


NO_OUTCOME = Outcome(frozenset(), None)

Predicate = Callable[[Facts, Outcome], bool]


@dataclass(frozen=True)
class Vocabulary:
    """The codes conditions may name, for checking references at compile time."""

    categories: frozenset[str]
    category_groups: Mapping[str, frozenset[str]]
    flags: frozenset[str]
    child_flags: frozenset[str]
    relations: frozenset[str]
    relation_groups: Mapping[str, frozenset[str]]
    places: frozenset[str]
    urgencies: frozenset[str]
    rules: frozenset[str]


def _never(facts: Facts, outcome: Outcome) -> bool:
    return False


class ConditionCompiler:
    """Turns condition mappings into predicates, recording every problem it meets.

    A broken condition compiles to a predicate that never holds, so that compilation can go on
    and report all problems of a file at once; the caller refuses the file if any were found.
    """

    def __init__(self, vocabulary: Vocabulary, problems: list[str]) -> None:
        self._vocabulary = vocabulary
        self._problems = problems

    def compile(self, node: Mapping[str, Any], where: str, *, outcome: bool = False) -> Predicate:
        operators = [key for key in node if key != "unknown"]
        if len(operators) != 1:
            found = ", ".join(operators) or "none"
            return self._fail(f"{where}: a condition needs exactly one operator (found: {found})")
        operator = operators[0]
        if "unknown" in node and operator not in _AGE_OPERATORS:
            return self._fail(f"{where}: 'unknown' goes only with age_lt or age_ge")
        if operator in _OUTCOME_OPERATORS and not outcome:
            return self._fail(
                f"{where}: '{operator}' is allowed only in instructions and registers"
            )
        compile_operator = getattr(self, f"_op_{operator}")
        predicate: Predicate = compile_operator(node, f"{where}.{operator}", outcome)
        return predicate

    def required_categories(self, node: Mapping[str, Any]) -> frozenset[str] | None:
        """See :func:`required_categories`."""
        return required_categories(node, self._vocabulary.category_groups)

    def _fail(self, problem: str) -> Predicate:
        self._problems.append(problem)
        return _never

    def _known(self, value: str | list[str], known: Iterable[str], what: str,
               where: str) -> frozenset[str]:
        codes = frozenset(_as_list(value))
        unknown = sorted(codes.difference(known))
        if unknown:
            self._problems.append(f"{where}: unknown {what} {', '.join(map(repr, unknown))}")
        return codes

    def _members(self, value: str | list[str], groups: Mapping[str, frozenset[str]],
                 what: str, where: str) -> frozenset[str]:
        names = self._known(value, groups, what, where)
        return frozenset().union(*(groups.get(name, frozenset()) for name in names))

    # Combinators ---------------------------------------------------------------------------

    def _parts(self, node: Mapping[str, Any], op: str, where: str,
               outcome: bool) -> list[Predicate]:
        return [self.compile(part, f"{where}[{i}]", outcome=outcome)
                for i, part in enumerate(node[op])]

    def _op_all(self, node: Mapping[str, Any], where: str, outcome: bool) -> Predicate:
        return _all_of(self._parts(node, "all", where, outcome))

    def _op_any(self, node: Mapping[str, Any], where: str, outcome: bool) -> Predicate:
        return _any_of(self._parts(node, "any", where, outcome))

    def _op_not(self, node: Mapping[str, Any], where: str, outcome: bool) -> Predicate:
        inner = self.compile(node["not"], where, outcome=outcome)
        return lambda facts, out: not inner(facts, out)

    # Facts ---------------------------------------------------------------------------------

    def _op_category(self, node: Mapping[str, Any], where: str, outcome: bool) -> Predicate:
        codes = self._known(node["category"], self._vocabulary.categories, "category", where)
        return _any_category(codes)

    def _op_category_group(self, node: Mapping[str, Any], where: str,
                           outcome: bool) -> Predicate:
        codes = self._members(node["category_group"], self._vocabulary.category_groups,
                              "category group", where)
        return _any_category(codes)

    def _op_flag(self, node: Mapping[str, Any], where: str, outcome: bool) -> Predicate:
        codes = self._known(node["flag"], self._vocabulary.flags, "flag", where)
        if len(codes) == 1:
            (code,) = codes
            return lambda facts, out: code in facts.flags
        return lambda facts, out: not codes.isdisjoint(facts.flags)

    def _op_child_flag(self, node: Mapping[str, Any], where: str, outcome: bool) -> Predicate:
        codes = self._known(node["child_flag"], self._vocabulary.child_flags, "child flag",
                            where)
        return lambda facts, out: not codes.isdisjoint(facts.child.flags)

    def _op_any_child_flag(self, node: Mapping[str, Any], where: str,
                           outcome: bool) -> Predicate:
        wanted = bool(node["any_child_flag"])
        return lambda facts, out: bool(facts.child.flags) is wanted

    def _op_perpetrator(self, node: Mapping[str, Any], where: str, outcome: bool) -> Predicate:
        codes = self._known(node["perpetrator"], self._vocabulary.relations, "relation", where)
        return lambda facts, out: facts.perpetrator_relation in codes

    def _op_perpetrator_group(self, node: Mapping[str, Any], where: str,
                              outcome: bool) -> Predicate:
        codes = self._members(node["perpetrator_group"], self._vocabulary.relation_groups,
                              "relation group", where)
        return lambda facts, out: facts.perpetrator_relation in codes

    def _op_place(self, node: Mapping[str, Any], where: str, outcome: bool) -> Predicate:
        codes = self._known(node["place"], self._vocabulary.places, "place", where)
        return lambda facts, out: facts.place in codes

    def _op_age_lt(self, node: Mapping[str, Any], where: str, outcome: bool) -> Predicate:
        limit: int = node["age_lt"]
        if_unknown = bool(node.get("unknown", False))
        return lambda facts, out: (
            if_unknown if facts.child.age is None else facts.child.age < limit
        )

    def _op_age_ge(self, node: Mapping[str, Any], where: str, outcome: bool) -> Predicate:
        limit: int = node["age_ge"]
        if_unknown = bool(node.get("unknown", False))
        return lambda facts, out: (
            if_unknown if facts.child.age is None else facts.child.age >= limit
        )

    # Outcome -------------------------------------------------------------------------------

    def _op_urgency(self, node: Mapping[str, Any], where: str, outcome: bool) -> Predicate:
        codes = self._known(node["urgency"], self._vocabulary.urgencies, "urgency", where)
        return lambda facts, out: out.urgency in codes

    def _op_rule(self, node: Mapping[str, Any], where: str, outcome: bool) -> Predicate:
        codes = self._known(node["rule"], self._vocabulary.rules, "rule", where)
        return lambda facts, out: not codes.isdisjoint(out.fired)


def required_categories(node: Mapping[str, Any],
                        groups: Mapping[str, frozenset[str]]) -> frozenset[str] | None:
    """Categories of which the contact must have at least one for ``node`` to hold, or
    ``None`` when no such set follows from its shape (the condition may hold without any).

    Routing uses this as a necessary condition only, to skip rules that cannot fire (see
    ``Algorithm.rules_for``); the compiled predicate still decides. ``groups`` names the
    category groups. A node that does not validate yields ``None`` (it never reaches routing).
    """
    operators = [key for key in node if key != "unknown"]
    if len(operators) != 1:
        return None
    operator, value = operators[0], node[operators[0]]
    if operator == "category":
        return frozenset(_as_list(value))
    if operator == "category_group":
        return frozenset().union(*(groups.get(name, frozenset()) for name in _as_list(value)))
    if operator == "all":
        # Every part must hold: any part's requirement is the whole's; the narrowest is best.
        found = [r for r in (required_categories(part, groups) for part in value) if r is not None]
        return min(found, key=len) if found else None
    if operator == "any":
        # One part suffices: only when each part needs a category does the whole need one.
        parts = [required_categories(part, groups) for part in value]
        if not parts or any(part is None for part in parts):
            return None
        return frozenset().union(*(part for part in parts if part is not None))
    return None  # "not", facts other than categories, outcomes


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _any_category(codes: frozenset[str]) -> Predicate:
    # Routing evaluates every rule for every contact, so these closures are the hot path: a
    # single code is tested by plain membership in the facts' short tuple, the fastest test
    # Python offers, and each closure reads its field directly rather than through a helper.
    if len(codes) == 1:
        (code,) = codes
        return lambda facts, out: code in facts.categories
    return lambda facts, out: not codes.isdisjoint(facts.categories)


def _all_of(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda facts, out: first(facts, out) and second(facts, out)
    return lambda facts, out: all(part(facts, out) for part in parts)


def _any_of(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda facts, out: first(facts, out) or second(facts, out)
    return lambda facts, out: any(part(facts, out) for part in parts)


# Readable words ----------------------------------------------------------------------------

Labeler = Callable[[str, str], str]
"""``labeler(kind, code)`` gives a code's label in the language being described."""

# (one code, several codes) per operator; {0} is the quoted label(s).
_PHRASES: dict[str, dict[str, Any]] = {
    "en": {
        "category": ("category {0}", "any of the categories {0}"),
        "category_group": ("any category of the group {0}", "any category of the groups {0}"),
        "flag": ("flag {0}", "any of the flags {0}"),
        "child_flag": ("child's flag {0}", "any of the child's flags {0}"),
        "any_child_flag": ("the child has a risk-group flag", "the child has no risk-group flag"),
        "perpetrator": ("perpetrator is {0}", "perpetrator is one of {0}"),
        "perpetrator_group": ("perpetrator in the group {0}", "perpetrator in the groups {0}"),
        "place": ("place is {0}", "place is one of {0}"),
        "age_lt": "child's age under {0}",
        "age_ge": "child's age {0} or over",
        "unknown": "{0} (or age unknown)",
        "urgency": ("final urgency {0}", "final urgency one of {0}"),
        "rule": ("rule {0} fired", "any of the rules {0} fired"),
        "and": " and ", "or": " or ", "not": "not ({0})", "quote": "\u201c{0}\u201d",
        "if": "if {0}", "lead_alone": "only when no other rule fires",
    },
    "ru": {
        "category": ("категория {0}", "любая из категорий {0}"),
        "category_group": ("любая категория группы {0}", "любая категория групп {0}"),
        "flag": ("признак {0}", "любой из признаков {0}"),
        "child_flag": ("признак ребёнка {0}", "любой из признаков ребёнка {0}"),
        "any_child_flag": ("у ребёнка есть признак группы риска",
                           "у ребёнка нет признаков группы риска"),
        "perpetrator": ("обидчик — {0}", "обидчик — один из: {0}"),
        "perpetrator_group": ("обидчик из группы {0}", "обидчик из групп {0}"),
        "place": ("место — {0}", "место — одно из: {0}"),
        "age_lt": "возраст ребёнка меньше {0}",
        "age_ge": "возраст ребёнка {0} или больше",
        "unknown": "{0} (или возраст неизвестен)",
        "urgency": ("итоговая срочность {0}", "итоговая срочность — одна из: {0}"),
        "rule": ("сработало правило {0}", "сработало любое из правил {0}"),
        "and": " и ", "or": " или ", "not": "не ({0})", "quote": "«{0}»",
        "if": "если {0}", "lead_alone": "только если не срабатывает другое правило",
    },
    "kk": {
        "category": ("{0} санаты", "мына санаттардың кез келгені: {0}"),
        "category_group": ("{0} тобының кез келген санаты",
                           "мына топтардың кез келген санаты: {0}"),
        "flag": ("{0} белгісі", "мына белгілердің кез келгені: {0}"),
        "child_flag": ("баланың {0} белгісі", "баланың мына белгілерінің кез келгені: {0}"),
        "any_child_flag": ("балада қауіп тобының белгісі бар",
                           "балада қауіп тобының белгісі жоқ"),
        "perpetrator": ("зиян келтірген адам — {0}", "зиян келтірген адам мыналардың бірі: {0}"),
        "perpetrator_group": ("зиян келтірген адам {0} тобынан",
                              "зиян келтірген адам мына топтардың бірінен: {0}"),
        "place": ("орны — {0}", "орны мыналардың бірі: {0}"),
        "age_lt": "баланың жасы {0} жастан кіші",
        "age_ge": "баланың жасы {0} жас немесе одан үлкен",
        "unknown": "{0} (немесе жасы белгісіз)",
        "urgency": ("қорытынды шұғылдық — {0}", "қорытынды шұғылдық мыналардың бірі: {0}"),
        "rule": ("{0} ережесі іске қосылды", "мына ережелердің кез келгені іске қосылды: {0}"),
        "and": " және ", "or": " немесе ", "not": "({0}) емес", "quote": "«{0}»",
        "if": "егер {0} болса", "lead_alone": "басқа ереже іске қосылмаса ғана",
    },
}

# The label kind each code-naming operator refers to.
_LABEL_KIND = {
    "category": "category", "category_group": "category_group", "flag": "flag",
    "child_flag": "child_flag", "perpetrator": "relation", "perpetrator_group": "relation_group",
    "place": "place", "urgency": "urgency", "rule": "rule",
}


def phrase(lang: str, key: str) -> str:
    """A connective phrase of the describer (e.g. ``"if"``) in ``lang``."""
    text: str = _PHRASES[lang][key]
    return text


def describe(node: Mapping[str, Any], lang: str, labeler: Labeler) -> str:
    """A validated condition in plain words, e.g. for the administrators' rule table."""
    return _Describer(_PHRASES[lang], labeler).words(node, nested=False)


class _Describer:
    def __init__(self, phrases: dict[str, Any], labeler: Labeler) -> None:
        self._p = phrases
        self._label = labeler

    def words(self, node: Mapping[str, Any], *, nested: bool) -> str:
        operator = next(key for key in node if key != "unknown")
        value = node[operator]
        if operator in ("all", "any"):
            joiner = self._p["and" if operator == "all" else "or"]
            text = joiner.join(self.words(part, nested=True) for part in value)
            return f"({text})" if nested and len(value) > 1 else text
        if operator == "not":
            return str(self._p["not"]).format(self.words(value, nested=False))
        if operator in _AGE_OPERATORS:
            text = str(self._p[operator]).format(value)
            return str(self._p["unknown"]).format(text) if node.get("unknown") else text
        if operator == "any_child_flag":
            return str(self._p["any_child_flag"][0 if value else 1])
        return self._codes(operator, _as_list(value))

    def _codes(self, operator: str, codes: list[str]) -> str:
        quoted = ", ".join(
            str(self._p["quote"]).format(self._label(_LABEL_KIND[operator], code))
            for code in codes
        )
        one, several = self._p[operator]
        return str(one if len(codes) == 1 else several).format(quoted)
