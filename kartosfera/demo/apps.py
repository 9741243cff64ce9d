from django.apps import AppConfig


class DemoConfig(AppConfig):
    # The demo bank's loader (manage.py load_demo_bank): it sits above every other app, because it fills them all
    # through their services, so that core stays the base that imports none of them (docs/architecture.md).
    name = "kartosfera.demo"
    label = "demo"
