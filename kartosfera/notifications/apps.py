from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "kartosfera.notifications"
    label = "notifications"

    def ready(self) -> None:
        from kartosfera.notifications import checks  # noqa: F401 (registers the system check)
