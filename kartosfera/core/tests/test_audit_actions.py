"""The registry of audit actions: every action the code writes is registered and reads in Polish.

The source walk finds every ``audit_record(action=...)`` in the application
code and resolves what it can write: a literal, both sides of a conditional, a
variable assigned literals in the same function or module, and the two f-strings
below, expanded from the code's own tables. Anything else fails here until it is
added to ``_dynamic()`` with its expansion: no action escapes the check.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import translation
from django.utils.translation import pgettext

from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.audit_actions import (
    Audience,
    AuditKind,
    UnregisteredAuditAction,
    audit_action_get,
    audit_action_names,
    audit_actions,
)
from kartosfera.core.models import AuditEvent

APP_ROOT = Path(__file__).resolve().parents[2]  # kartosfera/


def _dynamic() -> dict[str, set[str]]:
    """The f-strings the code writes, with every value they can take (from the code's own tables)."""
    from kartosfera.backoffice.actions import ACTIONS
    from kartosfera.cards.states import ALLOWED_TRANSITIONS

    return {
        # processing/services.py: an authorization's decision (its approved or declined audit row, or an advice's).
        "_decision_action(authorization)": {
            "processing.advice.recorded",
            "processing.authorization.approved",
            "processing.authorization.declined",
        },
        "f'backoffice.{action.name}'": {f"backoffice.{name}" for name in ACTIONS},
        "f'cards.card.{to_status}'": {
            f"cards.card.{target}" for targets in ALLOWED_TRANSITIONS.values() for target in targets
        },
    }


def _sources() -> Iterator[Path]:
    for path in sorted(APP_ROOT.rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        if path == APP_ROOT / "core" / "audit.py":  # the writer itself passes on whatever action it is given
            continue
        yield path


def _calls(tree: ast.AST) -> Iterator[tuple[ast.Call, list[ast.AST]]]:
    """Every audit_record and audit_event call with the chain of nodes enclosing it (module first)."""

    def visit(node: ast.AST, chain: list[ast.AST]) -> Iterator[tuple[ast.Call, list[ast.AST]]]:
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            # audit_event builds the row that audit_record writes (a batched insert writes it too).
            if name in ("audit_record", "audit_event"):
                yield node, chain
        for child in ast.iter_child_nodes(node):
            yield from visit(child, [*chain, node])

    yield from visit(tree, [])


def _assigned(name: str, scopes: list[ast.AST]) -> list[ast.expr]:
    """The values assigned to ``name`` in the innermost function enclosing the call, else in the module."""
    for scope in reversed(scopes):
        if not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module):
            continue
        values = []
        for node in ast.walk(scope):
            targets: list[ast.expr] = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            value = getattr(node, "value", None)
            if isinstance(value, ast.expr) and any(isinstance(t, ast.Name) and t.id == name for t in targets):
                values.append(value)
        if values:
            return values
    return []


def _resolve(expr: ast.expr, scopes: list[ast.AST], where: str) -> set[str]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        return _resolve(expr.body, scopes, where) | _resolve(expr.orelse, scopes, where)
    source = ast.unparse(expr)
    dynamic = _dynamic()
    if source in dynamic:
        return dynamic[source]
    if isinstance(expr, ast.Name):
        values = _assigned(expr.id, scopes)
        if values:
            return set().union(*(_resolve(value, scopes, where) for value in values))
    raise AssertionError(
        f"{where}: cannot tell which audit actions `action={source}` writes; "
        "write a literal, or add the expression and its values to _dynamic() in this test"
    )


def written_actions() -> dict[str, list[str]]:
    """Every action name the application code can write, with where."""
    found: dict[str, list[str]] = {}
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call, chain in _calls(tree):
            where = f"{path.relative_to(APP_ROOT.parent)}:{call.lineno}"
            for keyword in call.keywords:
                if keyword.arg == "action":
                    for name in _resolve(keyword.value, [*chain, call], where):
                        found.setdefault(name, []).append(where)
    return found


def test_the_source_walk_finds_the_writers_literal_conditional_variable_and_f_string():
    found = written_actions()

    assert len(found) > 60
    assert "users.login.failed" in found  # a literal
    assert {"secure3d.pin.set", "secure3d.pin.changed"} <= found.keys()  # a conditional
    assert {"sca.code.confirmed", "sca.code.failed"} <= found.keys()  # a variable assigned literals
    assert {"cards.card.blocked", "backoffice.card_block"} <= found.keys()  # the f-strings


def test_every_action_the_code_writes_is_registered():
    missing = {name: where for name, where in written_actions().items() if audit_action_get(name) is None}

    assert not missing, f"register these in their app's audit_actions.py (docs/audit.md): {missing}"


def test_every_registered_action_is_written_somewhere():
    """The registry does not keep dead names (an action renamed in the code but not here)."""
    written = written_actions()

    assert [a.name for a in audit_actions() if a.name not in written] == []


def _translatable_literals() -> Iterator[tuple[str, str, str]]:
    """Every pgettext_lazy(context, text) in the apps' audit_actions modules (labels, variants, details)."""
    for path in _sources():
        if path.name != "audit_actions.py" and path.name != "actions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "pgettext_lazy"
                and all(isinstance(arg, ast.Constant) for arg in node.args[:2])
            ):
                context, text = (arg.value for arg in node.args[:2])  # type: ignore[attr-defined]
                yield f"{path.name}:{node.lineno}", context, text


def test_every_label_variant_and_detail_has_a_polish_translation():
    untranslated = []
    for where, context, text in _translatable_literals():
        with translation.override("pl"):
            polish = pgettext(context, text)
        if polish == text and text not in {"3-D Secure", "System", "Bank"}:
            untranslated.append((where, context, text))
    for action in audit_actions():
        with translation.override("pl"):
            if str(action.label) == str(action.name) or not str(action.label):
                untranslated.append((action.name, "label", str(action.label)))

    assert not untranslated


def test_every_registered_action_is_well_formed():
    for action in audit_actions():
        assert action.name == action.name.lower() and action.name.count(".") >= 1, action.name
        assert action.kind in AuditKind.values, action.name
        assert action.audience & Audience.BOTH, action.name
        with translation.override("en"):
            assert not str(action.label)[:1].islower(), action.name


def test_staff_only_actions_are_not_offered_to_the_cardholder():
    cardholder = set(audit_action_names(audience=Audience.CARDHOLDER))

    assert "backoffice.customer.viewed" not in cardholder
    assert "sca.operation.completed" not in cardholder
    assert "cards.card.wrong_pin_reset" in cardholder
    assert "backoffice.customer.viewed" in audit_action_names(audience=Audience.STAFF)


@pytest.mark.django_db
def test_audit_record_refuses_an_unregistered_action_and_writes_nothing():
    with pytest.raises(UnregisteredAuditAction), transaction.atomic():
        audit_record(actor=Actor.system("tests"), action="cards.card.teleported")

    assert not AuditEvent.objects.exists()
