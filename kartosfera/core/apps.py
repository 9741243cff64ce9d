from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kartosfera.core"
    label = "core"

    def ready(self) -> None:
        from kartosfera.core import checks  # noqa: F401 (registers the system checks, the deploy check among them)

        # Each app lists the audit actions it writes in its own audit_actions.py.
        from kartosfera.core.audit_actions import audit_actions_autodiscover

        audit_actions_autodiscover()

        # The SQLite function the append-only tables' DELETE guards ask (kartosfera/core/append_only.py).
        from django.db.backends.signals import connection_created

        from kartosfera.core.append_only import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="kartosfera.core.sqlite_functions")

        # A cached template fragment (settings.CACHES["template_fragments"]) may show a setting (the helpline);
        # a test that changes settings must not see a fragment rendered under the old ones.
        from django.test.signals import setting_changed

        from kartosfera.core.fragments import fragments_clear

        setting_changed.connect(fragments_clear, dispatch_uid="kartosfera.core.fragments_clear")

        # Prometheus metrics (kartosfera/core/metrics.py): every app's own metrics.py, and the task signals.
        from django.utils.module_loading import autodiscover_modules
        from django_tasks.signals import task_enqueued, task_finished

        from kartosfera.core import metrics

        autodiscover_modules("metrics")
        task_enqueued.connect(metrics.task_enqueued_count, dispatch_uid="kartosfera.core.metrics.task_enqueued")
        task_finished.connect(metrics.task_finished_count, dispatch_uid="kartosfera.core.metrics.task_finished")
