
app_name = "profile"
urlpatterns: list = []
