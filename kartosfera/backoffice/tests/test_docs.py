from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from kartosfera.backoffice.roles import (
    STAFF_POSTS,
    StaffPermission,
    StaffRole,
    StaffScope,
    permissions_table_markdown,
    role_exists_in,
    role_scope_allows,
)


def test_the_docs_matrix_is_the_codes_matrix():
    """docs/backoffice.md shows exactly the matrix the services enforce."""
    text = (Path(settings.BASE_DIR) / "docs" / "backoffice.md").read_text()
    match = re.search(r"<!-- permissions-table:start -->\n(.*?)\n<!-- permissions-table:end -->", text, re.S)
    assert match, "docs/backoffice.md lost its table markers"
    assert match.group(1) == permissions_table_markdown()


def test_the_matrix_has_a_row_per_permission_and_a_column_per_role_in_each_scope():
    """Header, rule, the customers each post reaches, then one row per permission; a column per role and scope."""
    lines = permissions_table_markdown().splitlines()
    assert len(lines) == 3 + len(StaffPermission)
    assert all(line.count("|") == len(STAFF_POSTS) + 2 for line in lines)
    assert lines[0] == (
        "| action | agent (group) | supervisor (group) | auditor (group) "
        "| branch (bank) | supervisor (bank) | auditor (bank) |"
    )


def test_each_role_exists_in_the_scopes_the_database_allows():
    """The contact centre is the group's, a branch is a bank's; supervisors and auditors are either."""
    assert {(role, scope) for role in StaffRole for scope in StaffScope if role_exists_in(role, scope)} == {
        ("agent", "group"),
        ("branch", "bank"),
        ("supervisor", "group"),
        ("supervisor", "bank"),
        ("auditor", "group"),
        ("auditor", "bank"),
    }
    assert not role_scope_allows(StaffRole.AGENT, StaffScope.BANK, StaffPermission.CUSTOMER_VIEW)
    assert not role_scope_allows(StaffRole.BRANCH, StaffScope.GROUP, StaffPermission.CUSTOMER_VIEW)
