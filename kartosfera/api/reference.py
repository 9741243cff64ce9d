"""The API reference page's content, read from the OpenAPI schema that ninja builds.

The page is rendered on the server from this plain data (``templates/api/reference.html``):
no JavaScript, so it works under the strict CSP, and every endpoint, parameter and field
it shows comes from the same schema as ``openapi.json``, so the two cannot drift apart.

Text from the schema may mark code with backticks (as Markdown does); the template's
``inline_code`` filter renders those as ``<code>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kartosfera.api.idempotency import HEADER as IDEMPOTENCY_HEADER

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
# Nested objects are shown as dotted rows ("errors[].field"); this bounds a recursive schema.
_MAX_DEPTH = 4
# String formats: the type column names the format, a rule says how it is written.
_FORMATS: dict[str, Any] = {"date": "`YYYY-MM-DD`", "date-time": gettext_lazy("ISO 8601, e.g. `2026-03-14T09:30:00Z`")}
# The range pydantic writes for a 64-bit column: shown as words, not as two 19-digit numbers.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Field:
    """One row of a fields table: a body field, a response field or a parameter."""

    name: str
    type: str
    required: bool
    constraints: tuple[str, ...] = ()
    description: str = ""
    location: str = ""  # parameters only: "path", "header", "query"


@dataclass(frozen=True)
class Body:
    schema: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Response:
    status: str
    description: str
    schema: str
    fields: tuple[Field, ...]

    @property
    def is_error(self) -> bool:
        # Every error of every endpoint has the one error format (kartosfera/api/errors.py).
        return not self.status.startswith(("1", "2", "3"))


@dataclass(frozen=True)
class Operation:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    parameters: tuple[Field, ...]
    body: Body | None
    responses: tuple[Response, ...]

    @property
    def success(self) -> tuple[Response, ...]:
        return tuple(response for response in self.responses if not response.is_error)

    @property
    def needs_idempotency_key(self) -> bool:
        return any(p.name == IDEMPOTENCY_HEADER and p.location == "header" for p in self.parameters)


@dataclass(frozen=True)
class Group:
    """The operations of one tag, in the order the API declares them."""

    name: str
    anchor: str
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class Reference:
    title: str
    version: str
    description: str
    openapi: str
    base_path: str
    groups: tuple[Group, ...]
    security_schemes: tuple[str, ...] = field(default=())

    @property
    def base_url(self) -> str:
        """The base path as the operations' paths continue it: ``/api/provisioning/v1`` + ``/customers``."""
        return self.base_path.rstrip("/")

    @property
    def operations(self) -> Iterator[Operation]:
        for group in self.groups:
            yield from group.operations


def anchor(*parts: str) -> str:
    """A readable, stable id for a URL fragment: ``post /cards/{reference}/renew`` → ``post-cards-reference-renew``."""
    return re.sub(r"[^a-z0-9]+", "-", " ".join(parts).lower()).strip("-")


class _Schemas:
    """Resolves ``$ref`` into ``components.schemas`` and describes a schema as rows of a table."""

    def __init__(self, openapi: Mapping[str, Any]) -> None:
        self.components: Mapping[str, Any] = openapi.get("components", {}).get("schemas", {})

    def resolve(self, schema: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        """The schema behind a ``$ref`` (or a lone ``allOf: [$ref]``), and its component name."""
        if "$ref" in schema:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            return name, self.components.get(name, {})
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1:
            return self.resolve(all_of[0])
        return "", schema

    def fields(
        self, schema: Mapping[str, Any], *, prefix: str = "", depth: int = 0, show_null: bool = True
    ) -> list[Field]:
        """The properties of an object schema, nested objects flattened into dotted rows."""
        _, schema = self.resolve(schema)
        required = set(schema.get("required", ()))
        rows: list[Field] = []
        for name, prop in schema.get("properties", {}).items():
            full_name = f"{prefix}{name}"
            row = self.field(full_name, prop, required=name in required, show_null=show_null)
            rows.append(row)
            if depth < _MAX_DEPTH:
                nested, suffix = self._nested_object(prop)
                if nested is not None:
                    rows.extend(
                        self.fields(nested, prefix=f"{full_name}{suffix}.", depth=depth + 1, show_null=show_null)
                    )
        return rows

    def field(
        self, name: str, prop: Mapping[str, Any], *, required: bool, show_null: bool = True, location: str = ""
    ) -> Field:
        schema, nullable = self._without_null(prop)
        ref_name, resolved = self.resolve(schema)
        type_name = self._type(resolved, ref_name)
        if nullable and show_null:
            type_name = _("%(type)s or null") % {"type": type_name}
        # The type's own description (e.g. of a shared Annotated type) first, then the field's.
        descriptions = [resolved.get("description", ""), schema.get("description", ""), prop.get("description", "")]
        unique = list(dict.fromkeys(text.strip() for text in descriptions if text and text.strip()))
        constraints = self._constraints(resolved)
        for source in (prop, schema):
            if "default" in source:
                constraints.append(_("default %(value)s") % {"value": _code(source["default"])})
                break
        return Field(
            name=name,
            type=type_name,
            required=required,
            constraints=tuple(constraints),
            description=" ".join(unique),
            location=location,
        )

    def _without_null(self, prop: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
        """``anyOf: [X, {"type": "null"}]`` (pydantic's ``X | None``) as X, and whether null is allowed."""
        any_of = prop.get("anyOf")
        if not isinstance(any_of, list):
            return prop, prop.get("type") == "null"
        others = [option for option in any_of if option.get("type") != "null"]
        nullable = len(others) < len(any_of)
        if len(others) == 1:
            merged = {**others[0]}
            if "description" in prop and "description" not in merged:
                merged["description"] = prop["description"]
            return merged, nullable
        return prop, nullable

    def _nested_object(self, prop: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, str]:
        schema, _nullable = self._without_null(prop)
        _name, resolved = self.resolve(schema)
        if resolved.get("type") == "array":
            _name, items = self.resolve(resolved.get("items", {}))
            return (items, "[]") if "properties" in items else (None, "")
        return (resolved, "") if "properties" in resolved else (None, "")

    def _type(self, schema: Mapping[str, Any], ref_name: str = "") -> str:
        if "anyOf" in schema or "oneOf" in schema:
            options = schema.get("anyOf") or schema.get("oneOf") or []
            names = []
            for option in options:
                option_name, option_schema = self.resolve(option)
                names.append(self._type(option_schema, option_name))
            return " | ".join(names)
        json_type = schema.get("type", "")
        if json_type == "array":
            item_name, items = self.resolve(schema.get("items", {}))
            return _("array of %(items)s") % {"items": self._type(items, item_name)}
        if json_type == "object" or "properties" in schema:
            return ref_name or "object"
        if json_type == "string" and schema.get("format") in _FORMATS:
            return str(schema["format"])
        if isinstance(json_type, list):
            return " | ".join(str(t) for t in json_type)
        return str(json_type) or _("any")

    def _constraints(self, schema: Mapping[str, Any]) -> list[str]:
        constraints: list[str] = []
        if schema.get("type") == "string" and schema.get("format") in _FORMATS:
            constraints.append(str(_FORMATS[schema["format"]]))
        if "enum" in schema:
            constraints.append(_("one of %(values)s") % {"values": ", ".join(_code(value) for value in schema["enum"])})
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low is not None and high is not None:
            constraints.append(_("%(min)s to %(max)s characters") % {"min": low, "max": high})
        elif high is not None:
            constraints.append(
                ngettext("at most %(count)s character", "at most %(count)s characters", high) % {"count": high}
            )
        elif low is not None:
            constraints.append(
                ngettext("at least %(count)s character", "at least %(count)s characters", low) % {"count": low}
            )
        if "pattern" in schema:
            constraints.append(_("pattern %(pattern)s") % {"pattern": f"`{schema['pattern']}`"})
        low, high = schema.get("minimum"), schema.get("maximum")
        if low == INT64_MIN and high == INT64_MAX:
            constraints.append(_("64-bit signed integer"))
        elif low is not None and high is not None:
            constraints.append(_("%(min)s to %(max)s") % {"min": low, "max": high})
        elif low is not None:
            constraints.append(_("at least %(min)s") % {"min": low})
        elif high is not None:
            constraints.append(_("at most %(max)s") % {"max": high})
        return constraints


def _code(value: Any) -> str:
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _relative(path: str, base_path: str) -> str:
    base = base_path.rstrip("/")
    if base and path.startswith(base):
        return path[len(base) :] or "/"
    return path


def build_reference(openapi: Mapping[str, Any], *, base_path: str, openapi_url: str) -> Reference:
    """What the reference page shows, from an OpenAPI 3 schema as ninja builds it."""
    schemas = _Schemas(openapi)
    info = openapi.get("info", {})
    groups: dict[str, list[Operation]] = {}
    for path, path_item in openapi.get("paths", {}).items():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            relative = _relative(path, base_path)
            tag = (operation.get("tags") or [""])[0]
            groups.setdefault(tag, []).append(_operation(schemas, method, relative, operation))
    schemes = openapi.get("components", {}).get("securitySchemes", {})
    return Reference(
        title=str(info.get("title", "")),
        version=str(info.get("version", "")),
        description=str(info.get("description", "")),
        openapi=openapi_url,
        base_path=base_path,
        groups=tuple(
            Group(name=tag or _("Other"), anchor=anchor("tag", tag or "other"), operations=tuple(operations))
            for tag, operations in groups.items()
        ),
        security_schemes=tuple(
            f"{scheme.get('type', '')} {scheme.get('scheme', '')}".strip() for scheme in schemes.values()
        ),
    )


def _operation(schemas: _Schemas, method: str, path: str, operation: Mapping[str, Any]) -> Operation:
    parameters = tuple(
        schemas.field(
            str(parameter["name"]),
            {**parameter.get("schema", {}), **({k: parameter[k] for k in ("description",) if k in parameter})},
            # The idempotency module answers 400 when the header is missing (kartosfera/api/idempotency.py);
            # ninja declares it optional only so that the answer is ours, not a schema error.
            required=bool(parameter.get("required")) or parameter["name"] == IDEMPOTENCY_HEADER,
            show_null=False,
            location=str(parameter.get("in", "")),
        )
        for parameter in operation.get("parameters", ())
    )
    body = None
    request_body = operation.get("requestBody")
    if request_body:
        schema = request_body.get("content", {}).get("application/json", {}).get("schema", {})
        name, _resolved = schemas.resolve(schema)
        # Nullability is left out of request bodies: where null means "clear the value" the description says so.
        body = Body(schema=name, fields=tuple(schemas.fields(schema, show_null=False)))
    responses = []
    for status, response in operation.get("responses", {}).items():
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema and schema.get("type") == "array" and "items" in schema:
            # A list answer (GET /banks): the fields of one element, the schema named as a list of it.
            schema = schema["items"]
            item_name, _resolved = schemas.resolve(schema)
            name = f"{item_name}[]" if item_name else ""
        else:
            name, _resolved = schemas.resolve(schema) if schema else ("", {})
        is_success = str(status).startswith("2")
        responses.append(
            Response(
                status=str(status),
                description=str(response.get("description", "")),
                schema=name,
                fields=tuple(schemas.fields(schema)) if schema and is_success else (),
            )
        )
    return Operation(
        anchor=anchor(method, path),
        method=method.upper(),
        path=path,
        summary=str(operation.get("summary", "")),
        description=str(operation.get("description", "")),
        parameters=parameters,
        body=body,
        responses=tuple(responses),
    )
