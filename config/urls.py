from django.urls import include, path

from kartosfera.core.metrics import metrics_view
from kartosfera.core.views import health

urlpatterns = [
    path("health/", health, name="health"),
    path("internal/metrics", metrics_view, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("kartosfera.api.urls")),
    path("", include("kartosfera.users.urls")),
    path("confirm/", include("kartosfera.sca.urls")),
    path("settings/", include("kartosfera.profile.urls")),
    path("3d-secure/", include("kartosfera.secure3d.urls")),
    path("blik/", include("kartosfera.blik.urls")),
    path("stop/", include("kartosfera.stops.urls")),
    path("bs-pay/", include("kartosfera.devices.urls")),
    path("acs/", include("kartosfera.acs.urls")),
    path("backoffice/", include("kartosfera.backoffice.urls")),
    path("help/", include("kartosfera.help.urls")),
    path("banks/", include("kartosfera.banks.urls")),
    path("dev/", include("kartosfera.notifications.urls")),
    path("dev/", include("kartosfera.backoffice.dev_urls")),
    path("dev/", include("kartosfera.processing.dev_urls")),
    path("dev/", include("kartosfera.acs.dev_urls")),
    path("", include("kartosfera.portal.urls")),
]
