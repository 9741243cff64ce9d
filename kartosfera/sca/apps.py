from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class ScaConfig(AppConfig):
    name = "kartosfera.sca"
    label = "sca"

    def ready(self) -> None:
        # Each app registers its confirmable operations in stepup_operations.py
        # (like admin.py for the admin site): import them all at start-up so
        # the confirmation page can run any operation it finds in a challenge.
        autodiscover_modules("stepup_operations")
