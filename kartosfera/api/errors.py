"""One error format for every JSON API, and the one place domain errors become HTTP answers.

Every error answer is ``{"detail": str, "code": str, "errors": [{"field", "message"}]}``
(docs/api.md, "Errors"). The handlers below are installed on every NinjaAPI of the
project, so a service's ``ValidationFailed`` means the same 422 everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from kartosfera.core.errors import Conflict, DomainError, InvalidTransition, ValidationFailed

logger = logging.getLogger(__name__)

AUTH_REALM = "kartosfera"


class ApiError(Exception):
    """An error of the API layer itself (not of a business rule), e.g. a missing header."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None, field: str = "") -> None:
        self.detail = detail
        self.code = code or self.code
        self.status = status or self.status
        self.field = field
        super().__init__(detail)


class InvalidToken(AuthenticationError):
    """A token was sent but is malformed, unknown or revoked."""


class InsufficientScope(AuthorizationError):
    """A valid key without the scope this API requires."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()


def error_response(
    *,
    status: int,
    detail: str,
    code: str,
    errors: Iterable[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    body = {"detail": str(detail), "code": code, "errors": [dict(e) for e in errors]}
    return JsonResponse(body, status=status, headers=dict(headers or {}))


# Pydantic's own messages are English only and name Python types; these are
# the ones a bank's developer meets, in words that fit a JSON API.
_PYDANTIC_MESSAGES: dict[str, Any] = {
    "missing": gettext_lazy("This field is required."),
    "extra_forbidden": gettext_lazy("This field is not allowed here."),
    "string_type": gettext_lazy("Enter a string."),
    "string_too_short": gettext_lazy("Ensure this value has at least %(min_length)s characters."),
    "string_too_long": gettext_lazy("Ensure this value has at most %(max_length)s characters."),
    "string_pattern_mismatch": gettext_lazy("Enter a value matching the pattern %(pattern)s."),
    "int_type": gettext_lazy("Enter a whole number."),
    "int_parsing": gettext_lazy("Enter a whole number."),
    "int_from_float": gettext_lazy("Enter a whole number."),
    "bool_type": gettext_lazy("Enter true or false."),
    "bool_parsing": gettext_lazy("Enter true or false."),
    "date_type": gettext_lazy("Enter a date as YYYY-MM-DD."),
    "date_parsing": gettext_lazy("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": gettext_lazy("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_inexact": gettext_lazy("Enter a date as YYYY-MM-DD."),
    "greater_than_equal": gettext_lazy("Ensure this value is greater than or equal to %(ge)s."),
    "less_than_equal": gettext_lazy("Ensure this value is less than or equal to %(le)s."),
    "enum": gettext_lazy("Choose one of: %(expected)s."),
    "literal_error": gettext_lazy("Choose one of: %(expected)s."),
    "model_type": gettext_lazy("Send a JSON object."),
    "model_attributes_type": gettext_lazy("Send a JSON object."),
    "dict_type": gettext_lazy("Send a JSON object."),
}
_PARAM_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}
# Every endpoint names its JSON body parameter "payload": it is not a field the client sees.
BODY_PARAM = "payload"


def _field_name(loc: Iterable[Any]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in _PARAM_SOURCES:
        source = parts.pop(0)
        if source == "body" and parts and parts[0] == BODY_PARAM:
            parts.pop(0)
    return ".".join(parts) or "body"


def _message(error: Mapping[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    if error.get("type") == "value_error" and "error" in ctx:
        # Our own validators raise ValueError with a translated message.
        return str(ctx["error"])
    template = _PYDANTIC_MESSAGES.get(str(error.get("type")))
    if template is None:
        return str(error.get("msg", _("This value is not valid.")))
    try:
        return str(template) % {key: str(value) for key, value in ctx.items()}
    except (KeyError, ValueError, TypeError):
        return str(error.get("msg", template))


def schema_field_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Pydantic/ninja validation errors as ``[{"field", "message"}]`` (never echoing the input)."""
    return [{"field": _field_name(error.get("loc", ())), "message": _message(error)} for error in errors]


# Headers with their own error codes: name (lower case) -> {"missing"|"invalid": (code, message)}.
_HEADER_ERRORS: dict[str, dict[str, tuple[str, Any]]] = {}


def register_header_errors(header: str, *, missing: tuple[str, Any], invalid: tuple[str, Any]) -> None:
    """Give a header parameter its own 400 codes for when it alone is missing or malformed."""
    _HEADER_ERRORS[header.lower()] = {"missing": missing, "invalid": invalid}


def _header_only_error(errors: Sequence[Mapping[str, Any]]) -> HttpResponse | None:
    # Only when the header is the request's one problem: a wrong body is still the schema's 422.
    locs = [tuple(error.get("loc", ())) for error in errors]
    if not locs or any(len(loc) < 2 or loc[0] != "header" for loc in locs):
        return None
    headers = {str(loc[1]) for loc in locs}
    if len(headers) != 1:
        return None
    header = headers.pop()
    codes = _HEADER_ERRORS.get(header.lower())
    if codes is None:
        return None
    code, message = codes["missing" if all(e.get("type") == "missing" for e in errors) else "invalid"]
    return error_response(
        status=400, detail=str(message), code=code, errors=[{"field": header, "message": str(message)}]
    )


def _on_schema_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    header_error = _header_only_error(exc.errors)
    if header_error is not None:
        return header_error
    return error_response(
        status=422,
        detail=_("The request does not match the schema."),
        code="validation_failed",
        errors=schema_field_errors(exc.errors),
    )


def _on_validation_failed(request: HttpRequest, exc: ValidationFailed) -> HttpResponse:
    return error_response(
        status=422,
        detail=exc.message,
        code=exc.code,
        errors=[{"field": field, "message": message} for field, message in exc.field_errors.items()],
    )


def _on_conflict(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(status=409, detail=exc.message, code=exc.code)


def _on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(status=422, detail=exc.message, code=exc.code)


def _on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    errors = [{"field": exc.field, "message": exc.detail}] if exc.field else []
    return error_response(status=exc.status, detail=exc.detail, code=exc.code, errors=errors)


def _on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(status=404, detail=_("Not found."), code="not_found")


def _on_authentication(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    # RFC 6750 section 3: a 401 names the scheme, and says why when a token was sent.
    challenge = f'Bearer realm="{AUTH_REALM}"'
    if isinstance(exc, InvalidToken):
        challenge += ', error="invalid_token"'
        detail = _("The API key is not valid or has been revoked.")
    else:
        detail = _("Send an API key: Authorization: Bearer <token>.")
    return error_response(status=401, detail=detail, code="not_authenticated", headers={"WWW-Authenticate": challenge})


def _on_authorization(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    scope = getattr(exc, "scope", "")
    return error_response(
        status=403,
        detail=_("This API key does not have the scope this API requires (%(scope)s).") % {"scope": scope},
        code="insufficient_scope",
        headers={"WWW-Authenticate": f'Bearer realm="{AUTH_REALM}", error="insufficient_scope", scope="{scope}"'},
    )


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        # Ninja's answer to a body that is not JSON; in DEBUG its text carries parser details.
        return error_response(status=400, detail=_("The request body is not valid JSON."), code="malformed_json")
    return error_response(status=exc.status_code, detail=str(exc), code="http_error")


def _on_too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(status=413, detail=_("The request body is too large."), code="request_too_large")


def _on_suspicious(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(status=400, detail=_("The request was refused."), code="bad_request")


def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A bug: logged with its traceback (never the request body, which may hold a card number).
    logger.exception("unhandled error in %s %s", request.method, request.path)
    return error_response(status=500, detail=_("An internal error occurred."), code="server_error")


def install_exception_handlers(api: NinjaAPI) -> None:
    """Map every exception an endpoint can raise to the one error format."""
    handlers: dict[type[Exception], Any] = {
        Exception: _on_unexpected,
        NinjaValidationError: _on_schema_validation,
        ValidationFailed: _on_validation_failed,
        Conflict: _on_conflict,
        InvalidTransition: _on_conflict,
        DomainError: _on_domain_error,
        ApiError: _on_api_error,
        Http404: _on_not_found,
        AuthenticationError: _on_authentication,
        AuthorizationError: _on_authorization,
        HttpError: _on_http_error,
        RequestDataTooBig: _on_too_big,
        SuspiciousOperation: _on_suspicious,
    }
    for exc_class, handler in handlers.items():
        api.add_exception_handler(exc_class, handler)
