from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from kartosfera.backoffice.demo import DEMO_STAFF_PASSWORD, demo_staff_codes


@require_GET
@never_cache
@vary_on_headers("HX-Request")
def staff_codes(request: HttpRequest) -> HttpResponse:
    """The demo staff's current authenticator codes (DEBUG only): a real employee has the app on a phone."""
    if not settings.DEBUG or settings.IS_PRODUCTION:
        raise Http404
    context = {"codes": demo_staff_codes(), "password": DEMO_STAFF_PASSWORD}
    if request.headers.get("HX-Request") == "true":
        return render(request, "backoffice/dev/_staff_codes.html", context)
    return render(request, "backoffice/dev/staff_codes.html", context)
