from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kartosfera.api"
    label = "api"
