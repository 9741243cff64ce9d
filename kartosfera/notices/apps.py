from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "kartosfera.notices"
    label = "notices"
    verbose_name = "Notices to cardholders"
