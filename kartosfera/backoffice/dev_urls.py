from __future__ import annotations

from django.urls import path

from kartosfera.backoffice import dev_views

app_name = "backoffice_dev"
urlpatterns = [
    path("staff-codes/", dev_views.staff_codes, name="staff_codes"),
]
