from django.apps import AppConfig


class Secure3dConfig(AppConfig):
    name = "kartosfera.secure3d"
    label = "secure3d"
