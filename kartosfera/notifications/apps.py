from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class NotificationsConfig(AppConfig):
    name = "kartosfera.notifications"
    label = "notifications"

    def ready(self) -> None:
        from kartosfera.notifications import checks  # noqa: F401 (registers the system check)

        # Each app declares its text messages in sms_texts.py: import them all,
        # so the registry (and the test that renders every one) is complete.
        autodiscover_modules("sms_texts")
