from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "kartosfera.notifications"
    label = "notifications"
