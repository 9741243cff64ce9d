from django.urls import include, path

from kartosfera.core.views import health

urlpatterns = [
    path("health/", health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("kartosfera.api.urls")),
    path("", include("kartosfera.users.urls")),
    path("", include("kartosfera.portal.urls")),
]
