from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "kartosfera.processing"
    verbose_name = "Card processing"
