from __future__ import annotations

from django.urls import path

from kartosfera.devices import views

app_name = "devices"
urlpatterns = [
    path("", views.index, name="index"),
    path("activate/", views.activate, name="activate"),
    path("activation-codes/<uuid:public_id>/", views.activation_code, name="activation_code"),
    path("<uuid:public_id>/block/", views.block, name="block"),
    path("<uuid:public_id>/unblock/", views.unblock, name="unblock"),
    path("<uuid:public_id>/block-permanently/", views.block_permanently, name="block_permanently"),
]
