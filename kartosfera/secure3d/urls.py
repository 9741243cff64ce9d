from django.urls import path

app_name = "secure3d"
urlpatterns: list = []
