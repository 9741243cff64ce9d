from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path
from django.utils.translation import gettext as _

from kartosfera.api.acs import api as acs_api
from kartosfera.api.app import api as app_api
from kartosfera.api.errors import error_response
from kartosfera.api.processor import api as processor_api
from kartosfera.api.provisioning import api as provisioning_api
from kartosfera.api.token_service import api as token_service_api


def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """An unknown URL under the API answers in the API's error format, not with an HTML page."""
    return error_response(status=404, detail=_("Not found."), code="not_found")


urlpatterns = [
    path("provisioning/v1/", provisioning_api.urls),
    path("processor/v1/", processor_api.urls),
    path("acs/v2/", acs_api.urls),
    path("app/v1/", app_api.urls),
    path("token-service/v1/", token_service_api.urls),
    re_path(r"^(?P<rest>.*)$", not_found),
]
