from django.urls import path

from kartosfera.blik import views

app_name = "blik"

urlpatterns = [
    path("", views.blik, name="index"),
]
