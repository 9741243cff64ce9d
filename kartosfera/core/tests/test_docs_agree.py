"""The docs say what the code does: the lists that drifted once are checked against the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

from kartosfera.sca import stepup

ROOT = Path(settings.BASE_DIR)
DOCS = ROOT / "docs"


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_the_domain_doc_lists_every_app():
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", _read(DOCS / "domain.md"), flags=re.MULTILINE))
    installed = {config.label for config in apps.get_app_configs() if config.name.startswith("kartosfera.")}
    assert installed <= documented, f"apps missing from docs/domain.md: {sorted(installed - documented)}"


def test_the_step_up_doc_lists_every_operation_that_needs_a_code():
    text = _read(DOCS / "step-up.md")
    missing = [name for name in stepup.operation_names() if f"| `{name}` |" not in text]
    assert missing == [], f"operations missing from docs/step-up.md's tables: {missing}"


def test_the_settings_decision_names_every_key_production_requires():
    settings_text = _read(ROOT / "config" / "settings.py")
    required = set(re.findall(r"^([A-Z_]+_KEYS?) = env_required\(", settings_text, re.M))
    # The key lists (newest first) production requires: the variable's name, as the environment spells it.
    required |= set(re.findall(r'^[A-Z_]+ = env_list\("([A-Z_]+_KEYS?)", "" if IS_PRODUCTION', settings_text, re.M))
    assert {"CARD_FINGERPRINT_KEY", "CARD_PIN_KEY", "PIN_ENCRYPTION_KEY"} <= required
    decision = _read(DOCS / "decisions" / "0006-secure-by-default-settings.md")
    assert [key for key in sorted(required) if f"`{key}`" not in decision] == []
    # The README's list, the configuration doc's modes table and .env.example name them too.
    readme, configuration = _read(ROOT / "README.md"), _read(DOCS / "configuration.md")
    env_example = _read(ROOT / ".env.example")
    assert [key for key in sorted(required) if f"`{key}`" not in readme] == []
    assert [key for key in sorted(required) if f"`{key}`" not in configuration] == []
    assert [key for key in sorted(required) if not re.search(rf"^{key}=", env_example, re.M)] == []


def test_the_sessions_doc_gives_staff_their_own_idle_limit():
    minutes = int(settings.STAFF_SESSION_IDLE_TIMEOUT // 60)
    assert minutes == 15
    assert f"**{minutes} minutes** idle" in _read(DOCS / "sessions.md")


def test_no_doc_promises_what_is_built_as_still_to_do():
    # "comes later" / "Still to do" lists went stale once the work landed.
    stale = {
        path.name: line
        for path in DOCS.rglob("*.md")
        for line in _read(path).splitlines()
        if re.search(r"Still to do|screens come later|translations.*to do", line, re.IGNORECASE)
    }
    assert stale == {}


def test_every_library_the_stack_decision_names_is_a_dependency_in_use():
    decision = _read(DOCS / "decisions" / "0005-libraries-added-to-the-stack.md")
    named = re.findall(r"^\| ([a-z][a-z0-9-]*)(?: \d+| \(dev\))? \|", decision, flags=re.MULTILINE)
    pyproject = _read(ROOT / "pyproject.toml").lower()
    assert named, "the decision's table was not read"
    assert [name for name in named if name != "library" and f'"{name}==' not in pyproject] == []
    # A library a decision names is in the pins, and is used (pypdf reads the statements' PDFs back).
    assert '"pypdf==' in pyproject
    assert "from pypdf import" in _read(ROOT / "kartosfera" / "statements" / "tests" / "test_documents.py")


def test_the_readme_says_which_operations_need_no_code():
    readme = _read(ROOT / "README.md")
    assert "need no code" in readme and "docs/step-up.md" in readme


@pytest.mark.django_db
def test_the_operations_doc_names_every_metric_and_its_alerts_only_real_ones():
    import yaml
    from prometheus_client import REGISTRY

    from kartosfera.core.metrics import metrics_exposition

    text = _read(DOCS / "operations.md")
    ours = {family.name for family in REGISTRY.collect() if family.name.startswith("kartosfera_")}
    ours |= set(re.findall(r"^# TYPE (kartosfera_\w+) ", metrics_exposition().decode(), re.M))
    assert "kartosfera_sms_queued_messages" in ours and "kartosfera_authorizations" in ours
    assert [name for name in sorted(ours) if f"| `{name}" not in text] == []
    rules_block = re.search(r"```yaml\n(groups:.*?)```", text, re.S)
    assert rules_block, "the alert rules example is missing"
    rules = yaml.safe_load(rules_block.group(1))["groups"][0]["rules"]
    used = {name for rule in rules for name in re.findall(r"kartosfera_\w+", rule["expr"])}
    unknown = {name for name in used if re.sub(r"_(total|bucket|count|sum)$", "", name) not in ours}
    assert unknown == set()
