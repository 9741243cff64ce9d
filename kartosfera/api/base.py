"""What every JSON API of Kartosfera shares: key auth with one scope, the error format, a reference page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.translation import gettext as _
from ninja import NinjaAPI

from kartosfera.api.auth import ApiKeyAuth
from kartosfera.api.errors import error_response, install_exception_handlers
from kartosfera.api.reference import build_reference

ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 413, 422)


def _json_method_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    # Ninja answers a wrong method with a plain-text 405; give it the one error format.
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            allowed = response.get("Allow", "")
            response = error_response(
                status=405,
                detail=_("Method %(method)s is not allowed here.") % {"method": request.method},
                code="method_not_allowed",
                headers={"Allow": allowed},
            )
        return response

    return wrapper


class KartosferaAPI(NinjaAPI):
    """A server-to-server JSON API whose every endpoint needs an API key with ``scope``."""

    def __init__(self, *, scope: str, **kwargs: Any) -> None:
        # Ninja serves only the schema (openapi.json); the one docs page is our server-rendered
        # reference (_docs below): no JavaScript, so it meets the strict CSP and axe-core.
        kwargs["docs_url"] = None
        super().__init__(auth=ApiKeyAuth(scope=scope), **kwargs)
        self.scope = scope
        install_exception_handlers(self)

    def _index(self, request: HttpRequest, **kwargs: Any) -> JsonResponse:
        return JsonResponse(
            {
                "title": self.title,
                "version": self.version,
                "scope": self.scope,
                "openapi": reverse(f"{self.urls_namespace}:openapi-json"),
                "docs": reverse(f"{self.urls_namespace}:docs"),
            }
        )

    def _docs(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """The API reference: every operation, parameter and field, read from the OpenAPI schema."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        base_path = self.get_root_path(kwargs)
        reference = build_reference(
            self.get_openapi_schema(path_prefix=base_path),
            base_path=base_path,
            openapi_url=reverse(f"{self.urls_namespace}:openapi-json", kwargs=kwargs),
        )
        return render(request, "api/reference.html", {"reference": reference, "scope": self.scope})

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = [path("docs", self._docs, name="docs"), *super()._get_urls()]
        for pattern in urls:
            if not isinstance(pattern, URLPattern):
                continue
            if pattern.name == "api-root":
                # Ninja's root view is a bare 404; name where the schema and the docs are instead.
                pattern.callback = self._index
            else:
                pattern.callback = _json_method_not_allowed(pattern.callback)
        return urls
