from __future__ import annotations

from django.urls import path

from kartosfera.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("cards/", views.card_list, name="card_list"),
    path("cards/<int:card_id>/", views.card_detail, name="card_detail"),
]
