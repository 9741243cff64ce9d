from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "kartosfera.portal"
    label = "portal"
