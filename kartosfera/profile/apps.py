from django.apps import AppConfig


class ProfileConfig(AppConfig):
    name = "kartosfera.profile"
    label = "profile"

    def ready(self) -> None:
        # Connects the sign-in signal that starts a session's idle and absolute clocks.
        from kartosfera.users import session_timeout  # noqa: F401
