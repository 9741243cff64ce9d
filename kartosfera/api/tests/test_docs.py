"""The OpenAPI schema and the interactive docs, served self-hosted under the site's strict CSP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from kartosfera.api.tests.conftest import BASE

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "/customers": {"post"},
    "/customers/{reference}": {"get", "patch"},
    "/accounts": {"post"},
    "/accounts/{reference}": {"get", "patch"},
    "/card-products": {"post"},
    "/card-products/{code}": {"get", "patch"},
    "/cards": {"post"},
    "/cards/{reference}": {"get"},
    "/cards/{reference}/renew": {"post"},
    "/cards/{reference}/replace": {"post"},
}


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
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "img-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "data:" not in csp
    html = response.content.decode()
    assert BASE + "/openapi.json" in html


def test_the_docs_page_has_no_inline_script_or_style_and_no_foreign_asset(client):
    html = client.get(BASE + "/docs").content.decode()

    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.DOTALL)
    for attributes, content in scripts:
        # A JSON data block is not executed, so CSP does not apply to it; anything else must be a file.
        if 'type="application/json"' in attributes:
            continue
        assert "src=" in attributes and not content.strip(), attributes
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
    assert "http://" not in html and "https://" not in html and "//cdn" not in html


def test_every_asset_of_the_docs_page_is_a_static_file_of_this_site(client):
    html = client.get(BASE + "/docs").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)

    assert len(assets) >= 5
    for url in assets:
        assert url.startswith(settings.STATIC_URL), url
        assert finders.find(url.removeprefix(settings.STATIC_URL)), url


def test_the_stylesheets_need_no_data_uri_images(client):
    # Swagger UI's own CSS draws icons as data: URIs, which img-src 'self' refuses;
    # our override must replace every one of them with a self-hosted file.
    def compact(css: str) -> str:
        return re.sub(r'[\s"]', "", css)

    swagger_css = Path(finders.find("ninja/swagger-ui.css")).read_text(encoding="utf-8")
    overrides = Path(finders.find("api/swagger-overrides.css")).read_text(encoding="utf-8")
    selectors = [
        selector
        for rule in re.findall(r"([^{}]+)\{[^{}]*url\(\"?data:image/svg", swagger_css)
        for selector in rule.split(",")
    ]
    assert len(selectors) >= 8
    for selector in selectors:
        assert compact(selector) + "{background-image:url(swagger-icons/" in compact(overrides), selector
    for icon in re.findall(r'url\("([^"]+)"\)', overrides):
        assert finders.find(f"api/{icon}"), icon


def test_the_docs_are_public_but_the_endpoints_are_not(client):
    assert client.get(BASE + "/docs").status_code == 200
    assert client.get(BASE + "/openapi.json").status_code == 200
    assert client.get(BASE + "/customers/ANY").status_code == 401
