from __future__ import annotations

from django.urls import path

from kartosfera.help import views

app_name = "help"
urlpatterns = [
    path("", views.index, name="index"),
    path("guide/", views.guide, name="guide"),
    path("security/", views.security, name="security"),
    path("browsers/", views.browsers, name="browsers"),
    path("accessibility/", views.accessibility, name="accessibility"),
]
