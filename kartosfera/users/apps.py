from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "kartosfera.users"
    label = "users"

    def ready(self) -> None:
        from kartosfera.users import checks  # noqa: F401 (registers the deploy check of breached passwords)
