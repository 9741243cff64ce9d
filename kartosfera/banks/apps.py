from django.apps import AppConfig


class BanksConfig(AppConfig):
    name = "kartosfera.banks"
    label = "banks"

    def ready(self) -> None:
        from kartosfera.banks import audit_actions  # noqa: F401  (registers the audit actions)
