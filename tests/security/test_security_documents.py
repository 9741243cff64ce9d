"""The security documents stay honest: docs/security/asvs.md and docs/security/threat-model.md.

The ASVS requirement list is data taken from the standard (docs/security/asvs-5.0.0-requirements.csv:
each requirement's id, chapter and level, as OWASP ASVS 5.0.0 gives them). The mapping must hold
every requirement of the levels Kartosfera claims, exactly once, with the standard's level; every test either document
names must exist and be collected by pytest; a requirement left to the deployment must be listed
in docs/operations.md; and every open gap is owned up to in the page's "Open gaps".
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECURITY_DOCS = ROOT / "docs" / "security"
STANDARD = SECURITY_DOCS / "asvs-5.0.0-requirements.csv"
MAPPING = SECURITY_DOCS / "asvs.md"
THREAT_MODEL = SECURITY_DOCS / "threat-model.md"
OPERATIONS = ROOT / "docs" / "operations.md"

# Level 2 throughout (which includes Level 1), Level 3 for authentication and sessions.
LEVEL_3_CHAPTERS = {"V6", "V7"}
STATUSES = {"met", "not applicable", "deployment", "gap"}
# A test as a document names it: a file under the suite's roots, then ::name (or ::Class::name).
TEST_REFERENCE = re.compile(r"`?((?:kartosfera|tests)/[\w/]+/test_\w+\.py)::(\w+(?:::\w+)?)`?")
ROW = re.compile(r"^\|\s*v5\.0\.0-(\d+\.\d+\.\d+)\b")


@dataclass(frozen=True)
class Requirement:
    id: str  # "6.2.1"
    chapter: str  # "V6"
    level: int


@dataclass(frozen=True)
class MappingRow:
    id: str
    level: int
    status: str
    how: str
    shown_by: str
    line: int


def covered_requirements() -> dict[str, Requirement]:
    with STANDARD.open(newline="", encoding="utf-8") as file:
        requirements = [
            Requirement(id=row["requirement"].removeprefix("v5.0.0-"), chapter=row["chapter"], level=int(row["level"]))
            for row in csv.DictReader(file)
        ]
    return {r.id: r for r in requirements if r.level <= 2 or (r.level == 3 and r.chapter in LEVEL_3_CHAPTERS)}


@cache
def mapping_rows() -> tuple[MappingRow, ...]:
    rows = []
    for number, line in enumerate(MAPPING.read_text(encoding="utf-8").splitlines(), start=1):
        match = ROW.match(line)
        if not match:
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 5, f"asvs.md line {number}: a row has five cells, found {len(cells)}: {line!r}"
        _, level, status, how, shown_by = cells
        rows.append(
            MappingRow(id=match.group(1), level=int(level), status=status, how=how, shown_by=shown_by, line=number)
        )
    return tuple(rows)


def test_the_standard_s_list_is_the_whole_of_asvs_5():
    """The data file is the standard's: 345 requirements in 17 chapters, 70 of them Level 1."""
    with STANDARD.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 345
    assert len({row["chapter"] for row in rows}) == 17
    assert Counter(row["level"] for row in rows) == {"1": 70, "2": 183, "3": 92}
    assert all(re.fullmatch(r"v5\.0\.0-\d+\.\d+\.\d+", row["requirement"]) for row in rows)
    assert all(row["requirement"].split("-")[1].split(".")[0] == row["chapter"][1:] for row in rows)


def test_every_requirement_of_the_claimed_levels_has_exactly_one_line():
    expected = covered_requirements()
    counts = Counter(row.id for row in mapping_rows())
    missing = sorted(set(expected) - set(counts), key=_order)
    unknown = sorted(set(counts) - set(expected), key=_order)
    twice = sorted((id for id, count in counts.items() if count > 1), key=_order)
    assert not missing, f"requirements without a line in asvs.md: {missing}"
    assert not unknown, f"lines for requirements outside the claimed levels or the standard: {unknown}"
    assert not twice, f"requirements with more than one line: {twice}"
    assert len(expected) == 266


def test_each_line_gives_the_standard_s_level_and_a_known_status_in_the_standard_s_order():
    expected = covered_requirements()
    for row in mapping_rows():
        standard = expected[row.id].level
        assert row.level == standard, f"v5.0.0-{row.id}: level {row.level}, the standard says L{standard}"
        assert row.status in STATUSES, f"v5.0.0-{row.id}: unknown status {row.status!r}"
        assert row.how and row.how != "—", f"v5.0.0-{row.id}: says nothing about how"
    ids = [row.id for row in mapping_rows()]
    assert ids == sorted(ids, key=_order), "asvs.md lists the requirements out of the standard's order"


def test_every_open_gap_is_listed_where_the_page_owns_up_to_it():
    """A gap may not hide in a chapter: "Open gaps" lists exactly the lines marked gap (issue 17 closes them)."""
    text = MAPPING.read_text(encoding="utf-8")
    assert "## Open gaps" in text
    listed = re.findall(r"^- `v5\.0\.0-(\d+\.\d+\.\d+)`", text.split("## Open gaps", 1)[1].split("\n## ", 1)[0], re.M)
    gaps = [row.id for row in mapping_rows() if row.status == "gap"]
    assert sorted(listed, key=_order) == sorted(gaps, key=_order)


def test_every_met_requirement_names_a_test_and_nothing_is_left_pending():
    for row in mapping_rows():
        assert "PENDING" not in row.shown_by, f"v5.0.0-{row.id}: a test still to be named: {row.shown_by}"
        if row.status == "met":
            assert TEST_REFERENCE.search(row.shown_by), f"v5.0.0-{row.id} is met but names no test"


def test_every_requirement_left_to_the_deployment_is_listed_as_its_duty_in_operations():
    operations = OPERATIONS.read_text(encoding="utf-8")
    assert "## Security duties of the deployment" in operations
    duties = operations.split("## Security duties of the deployment", 1)[1]
    deployment = [f"v5.0.0-{row.id}" for row in mapping_rows() if row.status == "deployment"]
    missing = [id for id in deployment if id not in duties]
    assert not missing, f"deployment duties missing from docs/operations.md: {missing}"


def test_the_summary_counts_what_the_lines_say():
    counts = Counter(row.status for row in mapping_rows())
    text = MAPPING.read_text(encoding="utf-8")
    for status in STATUSES:
        assert f"| {status} | {counts[status]} |" in text, f"the summary's count of {status!r} is not {counts[status]}"


@pytest.mark.parametrize("document", [MAPPING, THREAT_MODEL], ids=["asvs", "threat-model"])
def test_every_test_a_document_names_exists_and_is_collected(document):
    referenced = {f"{path}::{name}" for path, name in TEST_REFERENCE.findall(document.read_text(encoding="utf-8"))}
    assert referenced, f"{document.name} names no test"
    missing_files = sorted({id.split("::")[0] for id in referenced if not (ROOT / id.split("::")[0]).is_file()})
    assert not missing_files, f"{document.name} names test files that do not exist: {missing_files}"
    collected = _collected({id.split("::")[0] for id in referenced})
    not_collected = sorted(id for id in referenced if id not in collected)
    assert not not_collected, f"{document.name} names tests pytest does not collect: {not_collected}"


def test_the_threat_model_gives_each_threat_a_control_and_a_test():
    text = THREAT_MODEL.read_text(encoding="utf-8")
    for heading in ("## Assets", "## Actors", "## Trust boundaries", "## Threats"):
        assert heading in text, f"threat-model.md has no {heading!r}"
    threats = [line for line in text.split("## Threats", 1)[1].splitlines() if re.match(r"^\|\s*T\d+", line)]
    assert len(threats) >= 20
    for line in threats:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert TEST_REFERENCE.search(cells[-1]), f"threat {cells[0]} names no test: {line!r}"
    ids = [line.split("|")[1].strip() for line in threats]
    assert len(ids) == len(set(ids)), "a threat id is used twice"


def _order(id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in id.split("."))


def _collected(files: set[str]) -> set[str]:
    """The node ids pytest collects from these files, parametrized ids folded to their function."""
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *sorted(files)]
    result = subprocess.run(  # noqa: S603 (our own interpreter on our own test files)
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTEST_ADDOPTS": ""},
        timeout=600,
    )
    output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"collecting the named tests failed:\n{output}"
    return {line.split("[", 1)[0] for line in result.stdout.splitlines() if "::" in line}
