"""Does a submitted label say what its classification calls for? Every difference named.

The submitted label has the shape of a published record's label (`pictograms`,
`signal_word`, `hazard_statements` and `precautionary_statements` by group, statements
as `{"code": ..., "text": ...}` or bare codes). A combined statement and its parts written
separately count the same. Extra precautionary statements are the supplier's to add; extra
pictograms, signal words and hazard statements claim hazards the classification does not
have, so they are reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ghs.derivation import DerivedLabel, Element
from ghs.reference import PRECAUTION_GROUPS, Reference, reference

_PUNCTUATION = re.compile(r"[\s。．.，,；;：:！!]+")


def check_label(
    derived: DerivedLabel, submitted: object, ref: Reference | None = None, *, path: str = "label"
) -> dict[str, str]:
    """Problems by field path (`label.pictograms`, `label.hazard_statements[2].text`);
    empty when the label conforms."""
    ref = ref or reference()
    problems: dict[str, str] = {}
    if not isinstance(submitted, Mapping):
        return {path: "must be an object with pictograms, signal_word and statements"}
    _check_pictograms(derived, submitted.get("pictograms"), f"{path}.pictograms", problems)
    _check_signal_word(derived, submitted.get("signal_word"), f"{path}.signal_word", problems)
    _check_hazards(derived, ref, submitted.get("hazard_statements"), path, problems)
    _check_precautions(derived, ref, submitted.get("precautionary_statements"), path, problems)
    return problems


def _check_pictograms(
    derived: DerivedLabel, given: object, path: str, problems: dict[str, str]
) -> None:
    if given is None:
        given = []
    if not isinstance(given, list) or not all(isinstance(p, str) for p in given):
        problems[path] = "must be a list of pictogram codes such as GHS02"
        return
    expected = {e.code: e for e in derived.pictograms}
    omitted = {o.code: o.rule for o in derived.omitted}
    messages = [
        f"{code} is missing ({_why(e)})" for code, e in expected.items() if code not in given
    ]
    for code in dict.fromkeys(given):
        if code in omitted:
            messages.append(f"{code} must not appear: {omitted[code]}")
        elif code not in expected:
            messages.append(f"{code} is not called for by the classification")
    if messages:
        problems[path] = "; ".join(messages)


def _check_signal_word(
    derived: DerivedLabel, given: object, path: str, problems: dict[str, str]
) -> None:
    if given == derived.signal_word:
        return
    if derived.signal_word is None:
        problems[path] = f"must be empty: {derived.signal_rule}"
    else:
        problems[path] = f"must be {derived.signal_word!r}: {derived.signal_rule}"


def _codes(
    items: object, path: str, table: Mapping[str, Any], kind: str, problems: dict[str, str]
) -> list[tuple[str, str, object]]:
    """(path, code, text) of each statement whose code is known; the rest reported."""
    if items is None:
        return []
    if not isinstance(items, list):
        problems[path] = "must be a list of statements"
        return []
    result = []
    for i, item in enumerate(items):
        item_path = f"{path}[{i}]"
        code, text = (
            (item.get("code"), item.get("text")) if isinstance(item, Mapping) else (item, None)
        )
        if not isinstance(code, str) or code not in table:
            problems[f"{item_path}.code"] = f"{code!r} is not a GHS {kind} statement code"
            continue
        result.append((item_path, code, text))
    return result


def _check_hazards(
    derived: DerivedLabel, ref: Reference, items: object, path: str, problems: dict[str, str]
) -> None:
    path = f"{path}.hazard_statements"
    given = _codes(items, path, ref.hazard_statements, "hazard", problems)
    expected = {part: e for e in derived.hazard_statements for part in e.code.split("+")}
    optional = {o.code for o in derived.omitted}  # GHS says "may be omitted", not "must"
    given_parts: set[str] = set()
    for item_path, code, text in given:
        parts = code.split("+")
        given_parts.update(parts)
        if extra := [p for p in parts if p not in expected and p not in optional]:
            problems[item_path] = f"{', '.join(extra)} is not called for by the classification"
        elif text is not None and not _same_wording(text, ref.statement(code).zh):
            problems[f"{item_path}.text"] = f"must read “{ref.statement(code).zh}” ({code})"
    missing = [p for p in expected if p not in given_parts]
    if missing:
        problems[path] = "; ".join(f"{p} is missing ({_why(expected[p])})" for p in missing)


def _check_precautions(
    derived: DerivedLabel, ref: Reference, groups: object, path: str, problems: dict[str, str]
) -> None:
    path = f"{path}.precautionary_statements"
    if groups is None:
        groups = {}
    if not isinstance(groups, Mapping):
        problems[path] = f"must be an object with the groups {', '.join(PRECAUTION_GROUPS)}"
        return
    given_parts: set[str] = set()
    for group, items in groups.items():
        if group not in PRECAUTION_GROUPS:
            problems[f"{path}.{group}"] = f"is not a group ({', '.join(PRECAUTION_GROUPS)})"
            continue
        for _, code, _ in _codes(
            items, f"{path}.{group}", ref.precautionary_statements, "precautionary", problems
        ):
            given_parts.update(code.split("+"))
    missing = [
        e
        for elements in derived.precautionary_statements.values()
        for e in elements
        if not set(e.code.split("+")) <= given_parts
    ]
    if missing:
        problems[path] = "; ".join(f"{e.code} is missing ({_why(e)})" for e in missing)


def _why(element: Element) -> str:
    return ", ".join(element.because)


def _same_wording(text: object, reference_zh: str) -> bool:
    """The Chinese text matches the reference, punctuation and spacing aside."""
    zh = text.get("zh") if isinstance(text, Mapping) else text
    if not isinstance(zh, str):
        return False
    return _PUNCTUATION.sub("", zh) == _PUNCTUATION.sub("", reference_zh)
