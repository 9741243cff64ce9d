"""The project's URLs plus two that fail on purpose: the 500 answers of the portal's stack and of the lean one."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a failure the security tests cause on purpose")


urlpatterns = [
    path("security-tests/crash/", crash),
    path("internal/security-tests-crash", crash),
    *project_urlpatterns,
]
