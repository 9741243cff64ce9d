from django.apps import AppConfig


class HelpConfig(AppConfig):
    name = "kartosfera.help"
    label = "help"
