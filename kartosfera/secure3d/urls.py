from __future__ import annotations

from django.urls import path

from kartosfera.secure3d import views

app_name = "secure3d"
urlpatterns = [
    path("", views.index, name="index"),
    path("pin/", views.pin, name="pin"),
    path("exemption/", views.exemption, name="exemption"),
    path("merchants/add/", views.merchant_add, name="merchant_add"),
    path("merchants/<int:pk>/remove/", views.merchant_remove, name="merchant_remove"),
    path("authentications/", views.authentications, name="authentications"),
    path("authentications/<uuid:acs_trans_id>/", views.authentication_detail, name="authentication_detail"),
]
