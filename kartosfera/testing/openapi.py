"""Schemathesis against the APIs in-process: one configuration, the production WSGI app, the test's connection.

Every API's conformance test (``test_openapi_conformance*.py``) fuzzes its OpenAPI schema with the same
bounded, deterministic settings: a fixed seed, derandomized generation, a few examples per operation, and
every check but ``positive_data_acceptance`` (schema-valid data may rightly be refused by a business rule,
docs/api.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections

from kartosfera.core.wsgi import Dispatcher, ServerApiWSGIHandler

SEED = 20261129
# What every refusal of every API looks like (kartosfera/api/errors.py).
ERROR_KEYS = {"detail", "code", "errors"}


def fuzz_config(*, max_examples: int, coverage: bool = True) -> schemathesis.Config:
    """All checks but positive_data_acceptance, a fixed seed, ``max_examples`` generated cases per operation.

    ``coverage``: also schemathesis's coverage phase (boundary and negative values of every parameter; most
    of the cases). A run whose point is the credentials, not the input, leaves it out.
    """
    data: dict[str, Any] = {
        "seed": SEED,
        "generation": {"max-examples": max_examples, "deterministic": True},
        "checks": {"enabled": True, "positive_data_acceptance": {"enabled": False}},
    }
    if not coverage:
        data["phases"] = {"coverage": {"enabled": False}}
    return schemathesis.Config.from_dict(data)


def production_app() -> Dispatcher:
    """The WSGI application of config/wsgi.py: the APIs behind their lean middleware stack."""
    return Dispatcher(WSGIHandler(), ServerApiWSGIHandler())


def wsgi_schema(url: str, *, max_examples: int, coverage: bool = True, app: Any = None) -> Any:
    """The schema at ``url``, called through ``app`` (by default the production one: config/wsgi.py).

    The schema is public and read without the database; every call is made in the test's
    transaction, as the WSGI app runs in the test's thread.
    """
    application = app if app is not None else production_app()
    config = fuzz_config(max_examples=max_examples, coverage=coverage)
    return schemathesis.openapi.from_wsgi(url, application, config=config)


@contextmanager
def connection_kept() -> Iterator[None]:
    """Requests made in-process leave the test's database connection open (Django's test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def assert_error_format(response: Any) -> None:
    """A refusal (4xx, declared or not, e.g. 405) is in the one error format of the APIs."""
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == ERROR_KEYS, body


def wrong_credentials(*, other_scope: str) -> list[dict[str, str]]:
    """No key, an unknown key, and a real key of another API (``other_scope``, a key of the group's systems)."""
    from kartosfera.api.services import api_key_create
    from kartosfera.core.audit import Actor

    _key, token = api_key_create(actor=Actor.system("tests"), name="another system", scopes=[other_scope])
    return [{}, {"Authorization": "Bearer kfk_unknown000000000000000000"}, {"Authorization": f"Bearer {token}"}]


def assert_refused_with_each(case: Any, credentials: list[dict[str, str]]) -> None:
    """``case`` sent with each of ``credentials`` instead of its own is refused (401 or 403), in the error format.

    A case whose path the fuzzer made invalid (a "/" in a reference) may miss the operation's route: an unknown
    URL is a 404 before any key is looked at, as it is with the right key.
    """
    replaced = {"authorization"} | {name.lower() for headers in credentials for name in headers}
    for headers in credentials:
        case.headers = {name: value for name, value in (case.headers or {}).items() if name.lower() not in replaced}
        response = case.call(headers=headers)

        expected = {401, 403}
        if _path_is_negative(case):
            expected.add(404)
        assert response.status_code in expected, (headers, case.method, case.formatted_path, response.text)
        assert_error_format(response)


def _path_is_negative(case: Any) -> bool:
    from schemathesis.core.parameters import ParameterLocation

    return case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
