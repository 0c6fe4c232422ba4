"""Every action the registry writes to the audit log has a name people read on the
console's enterprise page: an action added without one fails here instead of showing as
`something.done` to a county clerk.

Read from the registry's source: the subject types its audit calls name, and every action
text of those subjects (`enterprise.update`), with the one action made from a pipeline's
name (`submission.{pipeline}`) spelt out for each pipeline."""

from __future__ import annotations

import ast
import re

from console.rendering import AUDIT_ACTIONS
from registry_api.reviews.pipelines import Pipeline
from tests.conftest import ROOT

REGISTRY = ROOT / "registry_api"


def _audit_calls() -> list[ast.Call]:
    calls = []
    for path in REGISTRY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("audit", "append_audit"):
                    calls.append(node)
    return calls


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    """`audit(conn, actor, action, subject_type, ...)` passes them by position,
    `append_audit(conn, *, action=..., subject_type=...)` by keyword."""
    name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
    if name == "audit" and len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _subject_types() -> set[str]:
    found = set()
    for call in _audit_calls():
        subject = _argument(call, 3, "subject_type")
        if isinstance(subject, ast.Constant) and isinstance(subject.value, str):
            found.add(subject.value)
    return found


def _recorded_actions() -> set[str]:
    subjects = "|".join(sorted(_subject_types()))
    action_text = re.compile(rf"^(?:{subjects})\.[a-z_]+$")
    actions = set()
    for path in REGISTRY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and action_text.match(text):
                actions.add(text)
    for call in _audit_calls():
        action = _argument(call, 2, "action")
        if isinstance(action, ast.JoinedStr):  # f"submission.{pipeline}": every pipeline
            [prefix, *_] = action.values
            assert isinstance(prefix, ast.Constant), ast.dump(action)
            assert isinstance(prefix.value, str), ast.dump(action)
            actions |= {prefix.value + pipeline.value for pipeline in Pipeline}
    return actions


def test_every_recorded_action_has_a_name_in_both_languages() -> None:
    actions = _recorded_actions()
    # The scan finds what the registry records (sign-ins, filings, decisions ...): if it
    # found next to nothing, the way actions are written has changed under this test.
    assert {"account.sign_in", "submission.approve", "submission.registration"} <= actions
    unnamed = sorted(actions - set(AUDIT_ACTIONS))
    assert unnamed == [], f"audit actions without a name in console/rendering.py: {unnamed}"
    for action in actions:
        zh, en = AUDIT_ACTIONS[action]
        assert re.search(r"[\u4e00-\u9fff]", zh), action
        assert en != action, action  # a name, not the recorded text again


def test_no_name_is_kept_for_an_action_nothing_records() -> None:
    assert sorted(set(AUDIT_ACTIONS) - _recorded_actions()) == []
