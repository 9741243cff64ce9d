"""A bare Django "hello world" for bench/authorizations.py and bench/pages.py: the machine's own limit for Django
under gunicorn.

No middleware, no database: parse the JSON body, answer JSON (or, for the pages, a small HTML page).
What the authorization endpoint does on top of this (security middleware, the API key, validation, the decision, the
transaction) is what the ratio measures.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

settings.configure(
    DEBUG=False,
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1"],
    SECRET_KEY="bench-only-hello-world",  # noqa: S106
    MIDDLEWARE=[],
    USE_TZ=True,
)


@csrf_exempt
def hello(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body or b"{}")
    return JsonResponse({"id": body.get("id"), "approved": True})


def hello_page(request: HttpRequest) -> HttpResponse:
    """bench/pages.py's ceiling: a small HTML page, no template, no session, no database."""
    return HttpResponse("<!doctype html><title>Hello</title><p>Hello, world</p>")


urlpatterns = [path("api/processor/v1/authorizations", hello), path("hello/", hello_page)]
application = get_wsgi_application()
