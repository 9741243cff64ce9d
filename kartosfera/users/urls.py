from __future__ import annotations

from django.urls import path

from kartosfera.users import views

app_name = "users"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
]
