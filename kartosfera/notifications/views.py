from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from kartosfera.notifications.selectors import outbox_read

FILE_BACKEND = "kartosfera.notifications.backends.file.SmsBackend"
OUTBOX_LIMIT = 50


@require_GET
@never_cache
@vary_on_headers("HX-Request")
def outbox(request: HttpRequest) -> HttpResponse:
    """The demo's SMS outbox, newest first, so that a demo user can read the codes (DEBUG only)."""
    # The page shows full numbers and codes: it exists only on a developer's machine.
    if not settings.DEBUG:
        raise Http404
    box = outbox_read(limit=OUTBOX_LIMIT)
    context = {
        "outbox": box,
        "limit": OUTBOX_LIMIT,
        "file_backend": settings.SMS_BACKEND == FILE_BACKEND,
    }
    if request.headers.get("HX-Request") == "true":
        # htmx polls every few seconds: nothing new, nothing to swap (204), so
        # the table and a screen reader's position in it stay untouched.
        if request.GET.get("version") == box.version:
            return HttpResponse(status=204)
        return render(request, "notifications/_outbox_messages.html", context)
    return render(request, "notifications/outbox.html", context)
