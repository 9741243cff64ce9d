from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "kartosfera.users"
    label = "users"

    def ready(self) -> None:
        from kartosfera.sca.stepup import stepup_passkey_rule_register
        from kartosfera.users import checks  # noqa: F401 (registers the deploy check of breached passwords)
        from kartosfera.users.passkeys import confirms_with_passkey

        # Step-ups of a user whose second step is the passkey alone are confirmed with it, not by SMS.
        stepup_passkey_rule_register(confirms_with_passkey)
