from __future__ import annotations

from django.urls import path

from kartosfera.sca import views

app_name = "sca"
urlpatterns = [
    path("<uuid:public_id>/", views.confirm, name="confirm"),
    path("<uuid:public_id>/resend/", views.resend, name="resend"),
    path("<uuid:public_id>/cancel/", views.cancel, name="cancel"),
]
