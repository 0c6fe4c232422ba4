"""Label elements from a GHS classification, by the GHS rules, each with the rule behind it.

`derive_label` is the whole of it: pictograms with the precedence of GHS 1.4.10.5.3.1,
the signal word (1.4.10.5.3.2), hazard statements with the precedence of 1.4.10.5.3.3
and the combinations of Annex 3 (A3.1.3), and precautionary statements by group, with
duplicates, statements already part of a combination and statements a stronger one
replaces left out. What is left out is listed too, with the reason, so an enterprise sees
why its label differs from a naive union of the categories.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ghs.reference import PRECAUTION_GROUPS, HazardCategory, Reference, reference

_MAX_CLASSIFICATIONS = 60

# Classes in which one product may carry several categories at once: target organ
# toxicity names each organ separately, and the lactation category adds to the others.
_SEVERAL_CATEGORIES = frozenset(
    {"stot_single_exposure", "stot_repeated_exposure", "reproductive_toxicity", "flammable_gases"}
)

# GHS 1.4.10.5.3.1: the exclamation mark's hazards that each stronger pictogram covers.
_SKULL = "GHS06"
_CORROSION = "GHS05"
_HEALTH = "GHS08"
_EXCLAMATION = "GHS07"
_IRRITATION = {
    ("skin_corrosion_irritation", "2"),
    ("serious_eye_damage_irritation", "2"),
    ("serious_eye_damage_irritation", "2A"),
}
_SKIN_SENSITISATION = {("skin_sensitization", c) for c in ("1", "1A", "1B")}

# GHS 1.4.10.5.3.3: hazard statements that may be left out beside a more complete one.
_HAZARD_PRECEDENCE = {
    "H400": ("H410", "1.4.10.5.3.3 (a)"),
    "H401": ("H411", "1.4.10.5.3.3 (b)"),
    "H402": ("H412", "1.4.10.5.3.3 (c)"),
    "H318": ("H314", "1.4.10.5.3.3 (d)"),
}

# Precautionary statements a stronger one assigned for the same situation replaces: the
# label does not tell the reader both "avoid breathing" and "do not breathe".
_STRONGER_PRECAUTION = {
    "P261": "P260",
    "P317": "P316",
    "P301+P317": "P301+P316",
    "P305+P351+P338": "P305+P354+P338",
    "P362+P364": "P361+P364",
    "P318": "P308+P316",
}

# Statements that open a condition ("IF SWALLOWED:", "In case of fire:").
_CONDITIONS = frozenset(
    f"P{n}" for n in (301, 302, 303, 304, 305, 306, 308, 332, 333, 337, 342, 370, 371)
)

RULES = {
    "assigned": "GHS Annex 1/3: assigned to the hazard class and category",
    "skull_supersedes_exclamation": (
        "GHS 1.4.10.5.3.1 (a): where the skull and crossbones applies, "
        "the exclamation mark does not appear"
    ),
    "corrosion_supersedes_exclamation": (
        "GHS 1.4.10.5.3.1 (b): where the corrosion symbol applies, the exclamation mark "
        "does not appear for skin or eye irritation"
    ),
    "health_hazard_supersedes_exclamation": (
        "GHS 1.4.10.5.3.1 (c): where the health hazard symbol appears for respiratory "
        "sensitisation, the exclamation mark does not appear for skin sensitisation or "
        "skin or eye irritation"
    ),
    "danger_supersedes_warning": "GHS 1.4.10.5.3.2: 'Danger' supersedes 'Warning'",
    "no_signal_word": "GHS Annex 1: none of these categories carries a signal word",
    "combined": "GHS A3.1.3: the hazard statements are combined into one",
    "hazard_precedence": "GHS {clause}: {code} may be omitted where {by} is assigned",
    "duplicate": "assigned by more than one category; shown once",
    "part_of_combination": "already part of the combined statement {by}",
    "stronger_precaution": "{by}, assigned for the same situation, says more",
}


class ClassificationError(ValueError):
    """A classification that cannot be read; `fields` names every bad entry."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        first = "; ".join(f"{k}: {v}" for k, v in list(self.fields.items())[:3])
        super().__init__(f"the classification has {len(self.fields)} problem(s): {first}")


@dataclass(frozen=True, slots=True)
class Classification:
    """One hazard class and category, and the hazard statement chosen where there is a
    choice (`H350i` for carcinogenicity by inhalation); None takes the default."""

    hazard_class: str
    category: str
    hazard: str | None = None


@dataclass(frozen=True, slots=True)
class Element:
    """A label element, the classifications that call for it and the rule that placed it."""

    code: str
    because: tuple[str, ...]
    rule: str = RULES["assigned"]


@dataclass(frozen=True, slots=True)
class Omission:
    code: str
    rule: str


@dataclass(frozen=True, slots=True)
class DerivedLabel:
    categories: tuple[HazardCategory, ...]
    pictograms: tuple[Element, ...]
    signal_word: str | None
    signal_rule: str
    hazard_statements: tuple[Element, ...]
    precautionary_statements: dict[str, tuple[Element, ...]]
    omitted: tuple[Omission, ...]


@dataclass
class _Assignments:
    """Codes in first-seen order, with the classifications that assigned each."""

    because: dict[str, list[str]] = field(default_factory=dict)

    def add(self, code: str, label: str) -> None:
        reasons = self.because.setdefault(code, [])
        if label not in reasons:
            reasons.append(label)


def parse_classifications(
    items: object, ref: Reference | None = None
) -> tuple[Classification, ...]:
    """Read `[{"class": ..., "category": ..., "hazard": ...}, ...]`; raises
    `ClassificationError` naming every entry that is not a class and category of the GHS."""
    ref = ref or reference()
    if not isinstance(items, list) or not items:
        raise ClassificationError({"classifications": "must be a non-empty list"})
    if len(items) > _MAX_CLASSIFICATIONS:
        raise ClassificationError(
            {"classifications": f"must have at most {_MAX_CLASSIFICATIONS} entries"}
        )
    problems: dict[str, str] = {}
    result: list[Classification] = []
    for i, item in enumerate(items):
        path = f"classifications[{i}]"
        if not isinstance(item, Mapping):
            problems[path] = "must be an object with class and category"
            continue
        if unknown := sorted(set(item) - {"class", "category", "hazard"}):
            problems[f"{path}.{unknown[0]}"] = "is not a field (class, category, hazard)"
        parsed = _classification(ref, item, path, problems)
        if parsed is not None:
            result.append(parsed)
    _check_combination(ref, result, problems)
    if problems:
        raise ClassificationError(problems)
    return tuple(result)


def _classification(
    ref: Reference, item: Mapping[str, Any], path: str, problems: dict[str, str]
) -> Classification | None:
    class_id, category, hazard = item.get("class"), item.get("category"), item.get("hazard")
    if not isinstance(class_id, str) or class_id not in ref.classes:
        problems[f"{path}.class"] = (
            f"{class_id!r} is not a GHS hazard class; see GET /api/v1/ghs/hazard-classes"
            if isinstance(class_id, str)
            else "is required: a hazard class id such as flammable_liquids"
        )
        return None
    if isinstance(category, int) and not isinstance(category, bool):
        category = str(category)
    if not isinstance(category, str) or (class_id, category) not in ref.categories:
        known = ", ".join(ref.categories_of(class_id))
        problems[f"{path}.category"] = (
            f"{category!r} is not a category of {class_id}; it has {known}"
            if category is not None
            else f"is required; {class_id} has {known}"
        )
        return None
    choices = {code for options in ref.categories[class_id, category].hazards for code in options}
    if hazard is not None and (not isinstance(hazard, str) or hazard not in choices):
        offered = ", ".join(sorted(choices)) or "none"
        problems[f"{path}.hazard"] = f"must be one of the statements of the category: {offered}"
        return None
    return Classification(class_id, category, hazard)


def _check_combination(
    ref: Reference, items: Sequence[Classification], problems: dict[str, str]
) -> None:
    seen: dict[str, tuple[int, str]] = {}
    for i, item in enumerate(items):
        key = item.hazard_class
        if key in seen and (seen[key][1] == item.category or key not in _SEVERAL_CATEGORIES):
            first, category = seen[key]
            problems[f"classifications[{i}]"] = (
                f"{key} is already classified as category {category} (entry {first}); "
                "a product has one category per hazard class"
            )
        seen.setdefault(key, (i, item.category))


def derive_label(
    classifications: Iterable[Classification], ref: Reference | None = None
) -> DerivedLabel:
    """The label elements of a (parsed) classification."""
    ref = ref or reference()
    categories = tuple(ref.categories[c.hazard_class, c.category] for c in classifications)
    chosen = {(c.hazard_class, c.category): c.hazard for c in classifications}
    omitted: list[Omission] = []

    pictograms = _pictograms(categories, omitted)
    signal_word, signal_rule = _signal_word(categories)

    hazards = _Assignments()
    for category in categories:
        pick = chosen[category.hazard_class.id, category.category]
        for options in category.hazards:
            hazards.add(pick if pick in options else options[0], category.label_en)
    hazard_statements = _hazard_statements(ref, hazards, omitted)

    precautions = {group: _Assignments() for group in PRECAUTION_GROUPS}
    for category in categories:
        for group, codes in category.precautions.items():
            for code in codes:
                precautions[group].add(code, category.label_en)
    precautionary = _precautionary_statements(precautions, omitted)

    return DerivedLabel(
        categories=categories,
        pictograms=pictograms,
        signal_word=signal_word,
        signal_rule=signal_rule,
        hazard_statements=hazard_statements,
        precautionary_statements=precautionary,
        omitted=tuple(omitted),
    )


def _pictograms(
    categories: Sequence[HazardCategory], omitted: list[Omission]
) -> tuple[Element, ...]:
    assigned: dict[str, list[HazardCategory]] = {}
    for category in categories:
        for pictogram in category.pictograms:
            assigned.setdefault(pictogram, []).append(category)
    if _EXCLAMATION in assigned:
        reasons = assigned[_EXCLAMATION]
        keys = {(c.hazard_class.id, c.category): c for c in reasons}
        rule = None
        if _SKULL in assigned:
            keys, rule = {}, "skull_supersedes_exclamation"
        if _CORROSION in assigned and keys.keys() & _IRRITATION:
            keys = {k: c for k, c in keys.items() if k not in _IRRITATION}
            rule = "corrosion_supersedes_exclamation"
        if any(c.hazard_class.id == "respiratory_sensitization" for c in assigned.get(_HEALTH, ())):
            covered = _IRRITATION | _SKIN_SENSITISATION
            if keys.keys() & covered:
                keys = {k: c for k, c in keys.items() if k not in covered}
                rule = "health_hazard_supersedes_exclamation"
        if not keys:
            del assigned[_EXCLAMATION]
            omitted.append(Omission(_EXCLAMATION, RULES[rule or "assigned"]))
        else:
            assigned[_EXCLAMATION] = list(keys.values())
    return tuple(
        Element(code, tuple(c.label_en for c in assigned[code])) for code in sorted(assigned)
    )


def _signal_word(categories: Sequence[HazardCategory]) -> tuple[str | None, str]:
    words = {c.signal_word for c in categories} - {None}
    if "danger" in words:
        rule = "danger_supersedes_warning" if "warning" in words else "assigned"
        return "danger", RULES[rule]
    if "warning" in words:
        return "warning", RULES["assigned"]
    return None, RULES["no_signal_word"]


def _hazard_statements(
    ref: Reference, assigned: _Assignments, omitted: list[Omission]
) -> tuple[Element, ...]:
    because = dict(assigned.because)
    for code, (by, clause) in _HAZARD_PRECEDENCE.items():
        if code in because and by in because:
            del because[code]
            rule = RULES["hazard_precedence"].format(clause=clause, code=code, by=by)
            omitted.append(Omission(code, rule))
    # Combine the longest GHS combinations first (H300+H310+H330 before H300+H310).
    combinations = sorted(
        (s for s in ref.hazard_statements.values() if len(s.parts) > 1),
        key=lambda s: -len(s.parts),
    )
    elements: dict[str, Element] = {}
    used: set[str] = set()
    for statement in combinations:
        parts = statement.parts
        if all(p in because and p not in used for p in parts):
            used.update(parts)
            combined = tuple(dict.fromkeys(r for p in parts for r in because[p]))
            elements[parts[0]] = Element(statement.code, combined, RULES["combined"])
    for code, reasons in because.items():
        if code not in used:
            elements[code] = Element(code, tuple(reasons))
    # In the order the categories assigned them, a combination at its first part's place.
    return tuple(elements[code] for code in because if code in elements)


def _precautionary_statements(
    assigned: Mapping[str, _Assignments], omitted: list[Omission]
) -> dict[str, tuple[Element, ...]]:
    every = {code for group in assigned.values() for code in group.because}
    kept = {code for code in every if _STRONGER_PRECAUTION.get(code) not in every}
    # A single statement inside an unconditional combination says nothing new
    # (P264 beside P264+P265); inside "IF SWALLOWED: ..." it is narrower, so it stays.
    absorbed_by = {
        part: code
        for code in sorted(kept)
        if "+" in code and code.split("+")[0] not in _CONDITIONS
        for part in code.split("+")
    }
    shown: set[str] = set()
    result: dict[str, tuple[Element, ...]] = {}
    for group in PRECAUTION_GROUPS:
        elements = []
        for code in sorted(assigned[group].because, key=_statement_order):
            if code in shown:
                omitted.append(Omission(code, RULES["duplicate"]))
            elif code not in kept:
                rule = RULES["stronger_precaution"].format(by=_STRONGER_PRECAUTION[code])
                omitted.append(Omission(code, rule))
            elif "+" not in code and code in absorbed_by:
                rule = RULES["part_of_combination"].format(by=absorbed_by[code])
                omitted.append(Omission(code, rule))
            else:
                shown.add(code)
                elements.append(Element(code, tuple(assigned[group].because[code])))
        result[group] = tuple(elements)
    return result


def _statement_order(code: str) -> tuple[int, ...]:
    """Numeric order, as the GHS lists them: P264 before P264+P265 before P270."""
    return tuple(int(part[1:4]) for part in code.split("+"))


def label_elements(derived: DerivedLabel, ref: Reference | None = None) -> dict[str, Any]:
    """The derived label in the shape of a published record's label, texts in both languages."""
    ref = ref or reference()

    def statements(elements: Iterable[Element]) -> list[dict[str, Any]]:
        texts = (ref.statement(e.code) for e in elements)
        return [{"code": s.code, "text": {"zh": s.zh, "en": s.en}} for s in texts]

    return {
        "pictograms": [e.code for e in derived.pictograms],
        "signal_word": derived.signal_word,
        "hazard_statements": statements(derived.hazard_statements),
        "precautionary_statements": {
            group: statements(elements)
            for group, elements in derived.precautionary_statements.items()
        },
    }
