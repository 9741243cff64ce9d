from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    name = "kartosfera.backoffice"
    label = "backoffice"
    verbose_name = _("Back office")

    def ready(self) -> None:
        from kartosfera.backoffice import checks  # noqa: F401 (registers the checks of BACKOFFICE_BASE_URL)
