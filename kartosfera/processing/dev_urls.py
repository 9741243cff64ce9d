from __future__ import annotations

from django.urls import path

from kartosfera.processing import dev_views

app_name = "processing_dev"
urlpatterns = [
    path("terminal/", dev_views.terminal, name="terminal"),
]
