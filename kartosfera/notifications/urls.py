from __future__ import annotations

from django.urls import path

from kartosfera.notifications import views

app_name = "notifications"
urlpatterns = [
    path("sms-outbox/", views.outbox, name="outbox"),
]
