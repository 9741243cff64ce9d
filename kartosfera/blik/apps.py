from django.apps import AppConfig


class BlikConfig(AppConfig):
    name = "kartosfera.blik"
    label = "blik"
    verbose_name = "BLIK"
