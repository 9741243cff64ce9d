from django.apps import AppConfig


class StatementsConfig(AppConfig):
    name = "kartosfera.statements"
    label = "statements"
    verbose_name = "Statements"
