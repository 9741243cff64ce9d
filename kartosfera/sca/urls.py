
app_name = "sca"
urlpatterns: list = []
