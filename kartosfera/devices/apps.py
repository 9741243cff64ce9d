from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "kartosfera.devices"
    label = "devices"
