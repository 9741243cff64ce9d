from __future__ import annotations

from django.urls import path

from kartosfera.acs import dev_views

app_name = "acs_dev"
urlpatterns = [
    path("shop/", dev_views.shop, name="shop"),
    path("shop/notification/", dev_views.shop_notification, name="shop_notification"),
    path("shop/result/", dev_views.shop_result, name="shop_result"),
]
