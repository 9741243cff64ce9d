from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kartosfera.core"
    label = "core"

    def ready(self) -> None:
        # Each app lists the audit actions it writes in its own audit_actions.py.
        from kartosfera.core.audit_actions import audit_actions_autodiscover

        audit_actions_autodiscover()
