from django.apps import AppConfig


class StopsConfig(AppConfig):
    name = "kartosfera.stops"
    label = "stops"
    verbose_name = "Stop everything"
