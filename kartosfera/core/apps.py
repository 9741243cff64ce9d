from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kartosfera.core"
    label = "core"
