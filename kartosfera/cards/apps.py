from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "kartosfera.cards"
    label = "cards"
