from django.apps import AppConfig


class ScaConfig(AppConfig):
    name = "kartosfera.sca"
    label = "sca"
