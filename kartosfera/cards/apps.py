from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "kartosfera.cards"
    label = "cards"

    def ready(self) -> None:
        from django.core import checks

        from kartosfera.cards.checks import check_controls_have_columns

        checks.register(check_controls_have_columns)
