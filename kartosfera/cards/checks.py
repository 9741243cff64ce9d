"""System checks of the cards app: every registered control has its columns (cards/controls.py)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error

from kartosfera.cards.controls import missing_columns


def check_controls_have_columns(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """A control registered without its columns would fail on its first read: say so at start-up."""
    return [
        Error(
            f"The card control column {column} does not exist.",
            hint="Add the field and run makemigrations.",
            id="cards.E001",
        )
        for column in missing_columns()
    ]
