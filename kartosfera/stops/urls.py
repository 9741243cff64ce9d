from django.urls import path

from kartosfera.stops import views

app_name = "stops"

urlpatterns = [
    path("", views.index, name="index"),
]
