from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from kartosfera.backoffice.roles import StaffPermission, StaffRole, permissions_table_markdown


def test_the_docs_matrix_is_the_codes_matrix():
    """docs/backoffice.md shows exactly the matrix the services enforce."""
    text = (Path(settings.BASE_DIR) / "docs" / "backoffice.md").read_text()
    match = re.search(r"<!-- permissions-table:start -->\n(.*?)\n<!-- permissions-table:end -->", text, re.S)
    assert match, "docs/backoffice.md lost its table markers"
    assert match.group(1) == permissions_table_markdown()


def test_the_matrix_has_a_row_per_permission_and_a_column_per_role():
    lines = permissions_table_markdown().splitlines()
    assert len(lines) == 2 + len(StaffPermission)
    assert all(line.count("|") == len(StaffRole) + 2 for line in lines)
