from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kartosfera.accounts"
    label = "accounts"
