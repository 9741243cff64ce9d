from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kartosfera.api"
    label = "api"

    def ready(self) -> None:
        from kartosfera.api import checks  # noqa: F401 (registers the client certificate deploy check)
