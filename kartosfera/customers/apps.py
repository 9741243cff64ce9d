from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "kartosfera.customers"
    label = "customers"
