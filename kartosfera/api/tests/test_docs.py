"""The OpenAPI schema and the API reference page rendered from it on the server, under the strict CSP."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template import engines
from django.utils import translation

from kartosfera.api.reference import anchor, build_reference
from kartosfera.api.tests.conftest import BASE

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "/customers": {"post"},
    "/customers/{reference}": {"get", "patch"},
    "/accounts": {"post"},
    "/accounts/{reference}": {"get", "patch"},
    "/accounts/{reference}/postings": {"post"},
    "/accounts/{reference}/repayments": {"post"},
    "/card-products": {"post"},
    "/card-products/{code}": {"get", "patch"},
    "/cards": {"post"},
    "/cards/{reference}": {"get"},
    "/cards/{reference}/renew": {"post"},
    "/cards/{reference}/replace": {"post"},
    "/conversion-rates": {"post"},
    "/conversion-rates/{from_currency}/{to_currency}": {"get"},
    "/reference-rates": {"post"},
    "/reference-rates/{currency}": {"get"},
    "/banks": {"post", "get"},
    "/banks/{code}": {"get", "patch"},
    "/banks/{code}/branches": {"post", "get"},
    "/banks/{code}/branches/{branch_id}": {"patch"},
    "/banks/{code}/logo": {"put"},
}


class Page(HTMLParser):
    """What the checks below need of a page: ids, links, assets, tables, and the text of each operation."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.fragment_links: list[str] = []
        self.assets: list[str] = []
        self.tables = 0
        self.captions = 0
        self.headers_without_scope: list[str] = []
        self.lang = ""
        self.operations: dict[str, str] = {}
        self._operation: str | None = None
        self._depth = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if tag == "html":
            self.lang = attributes.get("lang", "")
        if tag == "a" and attributes.get("href", "").startswith("#"):
            self.fragment_links.append(attributes["href"][1:])
        if tag in {"link", "img", "script"} and (attributes.get("href") or attributes.get("src")):
            self.assets.append(attributes.get("href") or attributes.get("src", ""))
        self.tables += tag == "table"
        self.captions += tag == "caption"
        if tag == "th" and attributes.get("scope") not in {"col", "row"}:
            self.headers_without_scope.append(f"line {self.getpos()[0]}")
        if tag == "section":
            if self._operation is not None:
                self._depth += 1
            elif "operation" in attributes.get("class", "").split():
                self._operation = attributes["id"]
                self.operations[self._operation] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self._operation is not None:
            if self._depth:
                self._depth -= 1
            else:
                self._operation = None

    def handle_data(self, data: str) -> None:
        if self._operation is not None:
            self.operations[self._operation] += data


def docs(client, language: str = "en") -> str:
    response = client.get(BASE + "/docs", headers={"Accept-Language": language})
    assert response.status_code == 200
    return response.content.decode()


def test_the_schema_lists_every_endpoint_with_bearer_auth(client):
    response = client.get(BASE + "/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert {path.removeprefix(BASE): set(ops) for path, ops in schema["paths"].items()} == ENDPOINTS
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"] == {"type": "http", "scheme": "bearer"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"ApiKeyAuth": []}], (method, path)
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            assert ("Idempotency-Key" in headers) == (method == "post"), (method, path)


def test_the_schema_never_offers_a_full_card_number_in_an_answer(client):
    schema = client.get(BASE + "/openapi.json").json()

    card_out = schema["components"]["schemas"]["CardOut"]["properties"]
    assert "last4" in card_out
    assert not {"pan", "card_number", "number"} & set(card_out)


def test_the_docs_page_answers_under_the_strict_csp(client):
    response = client.get(BASE + "/docs")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "img-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "data:" not in csp
    assert f'href="{BASE}/openapi.json"' in response.content.decode()


def test_the_docs_page_has_no_script_no_inline_style_and_no_foreign_asset(client):
    html = docs(client)

    assert "<script" not in html, "the reference is plain HTML: it needs no JavaScript"
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
    assert "http://" not in html and "https://" not in html and "//cdn" not in html


def test_every_asset_of_the_docs_page_is_a_static_file_of_this_site(client):
    page = Page(docs(client))

    assert len(page.assets) >= 3
    for url in page.assets:
        assert url.startswith(settings.STATIC_URL), url
        assert finders.find(url.removeprefix(settings.STATIC_URL)), url


def test_the_page_lists_every_endpoint_with_an_anchor_and_a_contents_entry(client):
    page = Page(docs(client))

    expected = {anchor(method, path) for path, methods in ENDPOINTS.items() for method in methods}
    assert set(page.operations) == expected
    assert expected <= set(page.fragment_links), "every operation is in the contents"
    for path, methods in ENDPOINTS.items():
        for method in methods:
            text = " ".join(page.operations[anchor(method, path)].split())
            assert text.startswith(f"{method.upper()} {path}"), text


def test_every_field_of_every_body_is_listed_with_its_operation(client):
    schema = client.get(BASE + "/openapi.json").json()
    components = schema["components"]["schemas"]
    page = Page(docs(client))

    def properties(content: dict) -> set[str]:
        body = content["application/json"]["schema"]
        ref = body.get("items", body)["$ref"].rsplit("/", 1)[-1]  # an object, or a list of them
        return set(components[ref]["properties"])

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            text = page.operations[anchor(method, path.removeprefix(BASE))]
            names = {p["name"] for p in operation.get("parameters", [])}
            if "requestBody" in operation:
                names |= properties(operation["requestBody"]["content"])
            success = next(r for status, r in operation["responses"].items() if status.startswith("2"))
            names |= properties(success["content"])
            missing = {name for name in names if not re.search(rf"(?<![\w.\[\]-]){re.escape(name)}(?![\w-])", text)}
            assert not missing, (method, path, missing)
            for status in operation["responses"]:
                assert re.search(rf"\b{status}\b", text), (method, path, status)


def test_the_page_is_well_formed_for_assistive_technology(client):
    page = Page(docs(client))

    assert len(page.ids) == len(set(page.ids)), "ids are unique"
    assert set(page.fragment_links) <= set(page.ids), "every in-page link has its target"
    assert page.tables >= 2 * len(page.operations)
    assert page.captions == page.tables, "every table has a caption"
    assert not page.headers_without_scope, "every table header has a scope"
    assert "main" in page.ids and "contents" in page.ids


def test_the_page_follows_the_language_and_marks_the_schema_text_as_english(client):
    assert Page(docs(client, "en")).lang == "en"
    html = docs(client, "pl")

    assert Page(html).lang == "pl"
    assert '<h1 lang="en">Kartosfera provisioning API</h1>' in html
    assert '<p class="operation__summary" lang="en">Create a customer</p>' in html


def test_the_docs_are_public_but_the_endpoints_are_not(client):
    assert client.get(BASE + "/docs").status_code == 200
    assert client.get(BASE + "/openapi.json").status_code == 200
    assert client.get(BASE + "/customers/ANY").status_code == 401


def test_the_docs_page_refuses_other_methods_in_the_error_format(client):
    response = client.post(BASE + "/docs")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


# --- How the schema becomes rows ------------------------------------------------------

REF = "#/components/schemas/"
SCHEMA = {
    "paths": {
        "/api/x/v1/things/{code}": {
            "post": {
                "tags": ["things"],
                "summary": "Make a `thing`",
                "parameters": [
                    {"in": "path", "name": "code", "schema": {"type": "string"}, "required": True},
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "schema": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                        "required": False,
                    },
                ],
                "requestBody": {"content": {"application/json": {"schema": {"$ref": REF + "ThingIn"}}}},
                "responses": {
                    "201": {
                        "description": "Created",
                        "content": {"application/json": {"schema": {"$ref": REF + "ThingOut"}}},
                    },
                    "422": {
                        "description": "Unprocessable Entity",
                        "content": {"application/json": {"schema": {"$ref": REF + "Err"}}},
                    },
                },
            }
        }
    },
    "components": {
        "schemas": {
            "Colour": {"enum": ["red", "blue"], "type": "string", "title": "Colour"},
            "ThingIn": {
                "type": "object",
                "required": ["colour"],
                "properties": {
                    "colour": {"$ref": REF + "Colour"},
                    "shade": {"allOf": [{"$ref": REF + "Colour"}], "default": "red"},
                    "note": {
                        "anyOf": [{"type": "string", "maxLength": 20, "description": "Free text."}, {"type": "null"}],
                        "description": "Shown on the thing.",
                    },
                    "amount": {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
                    "day": {"type": "integer", "minimum": 1, "maximum": 28},
                    "on": {"type": "string", "format": "date"},
                },
            },
            "Err": {"type": "object", "properties": {"detail": {"type": "string"}}},
            "ThingOut": {
                "type": "object",
                "properties": {
                    "errors": {"type": "array", "items": {"$ref": REF + "FieldError"}},
                    "replaces": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                },
            },
            "FieldError": {"type": "object", "properties": {"field": {"type": "string"}}},
        }
    },
}


@translation.override("en")
def test_the_reference_resolves_refs_enums_defaults_and_nullable_types():
    reference = build_reference(SCHEMA, base_path="/api/x/v1/", openapi_url="/api/x/v1/openapi.json")

    (group,) = reference.groups
    (operation,) = group.operations
    assert (group.name, group.anchor) == ("things", "tag-things")
    assert (operation.method, operation.path, operation.anchor) == ("POST", "/things/{code}", "post-things-code")
    assert reference.base_url == "/api/x/v1"

    code, key = operation.parameters
    assert (code.location, code.type, code.required) == ("path", "string", True)
    # Ninja declares the header optional; the idempotency module requires it.
    assert (key.location, key.type, key.required) == ("header", "string", True)
    assert operation.needs_idempotency_key

    assert operation.body is not None and operation.body.schema == "ThingIn"
    fields = {f.name: f for f in operation.body.fields}
    assert fields["colour"].required and fields["colour"].type == "string"
    assert fields["colour"].constraints == ('one of `"red"`, `"blue"`',)
    assert fields["shade"].constraints == ('one of `"red"`, `"blue"`', 'default `"red"`')
    assert not fields["shade"].required
    assert fields["note"].type == "string", "a request body does not show null"
    assert fields["note"].description == "Free text. Shown on the thing."
    assert fields["note"].constraints == ("at most 20 characters",)
    assert fields["amount"].constraints == ("64-bit signed integer",)
    assert fields["day"].constraints == ("1 to 28",)
    assert (fields["on"].type, fields["on"].constraints) == ("date", ("`YYYY-MM-DD`",))

    created, refused = operation.responses
    assert not created.is_error and refused.is_error
    assert [f.name for f in created.fields] == ["errors", "errors[].field", "replaces"]
    assert created.fields[0].type == "array of FieldError"
    assert created.fields[2].type == "string or null"
    assert refused.fields == ()


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Send `Idempotency-Key`.", "Send <code>Idempotency-Key</code>."),
        ("<b>`<i>`</b>", "&lt;b&gt;<code>&lt;i&gt;</code>&lt;/b&gt;"),
        ("one ` alone", "one ` alone"),
    ],
)
def test_inline_code_escapes_and_marks_code(text, html):
    template = engines["django"].from_string("{% load api_reference %}{{ text|inline_code }}")

    assert template.render({"text": text}) == html


def test_a_path_may_wrap_after_its_slashes():
    template = engines["django"].from_string("{% load api_reference %}{{ path|path_breaks }}")

    assert template.render({"path": "/cards/{reference}/<x>"}) == "/cards/<wbr>{reference}/<wbr>&lt;x&gt;"
