from django.apps import AppConfig


class AcsConfig(AppConfig):
    name = "kartosfera.acs"
    label = "acs"
