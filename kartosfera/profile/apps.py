from django.apps import AppConfig


class ProfileConfig(AppConfig):
    name = "kartosfera.profile"
    label = "profile"
