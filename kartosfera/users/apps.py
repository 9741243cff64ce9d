from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "kartosfera.users"
    label = "users"
