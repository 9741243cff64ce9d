from __future__ import annotations

from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "kartosfera.tokens"
    label = "tokens"

    def ready(self) -> None:
        from kartosfera.tokens import checks  # noqa: F401 (registers the token service backend check)
