"""A test client that plays the BS Pay app: it owns an Ed25519 key, activates, and signs every request."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.handlers.wsgi import WSGIRequest
from django.test import Client

from kartosfera.devices import signatures

BASE = "/api/app/v1"


class AppClient:
    """The app on one phone: its key pair and, once activated, its device id."""

    def __init__(self, client: Client | None = None, *, private_key: Ed25519PrivateKey | None = None) -> None:
        self.client = client or Client()
        self.private_key = private_key or Ed25519PrivateKey.generate()
        self.device_id = ""

    @property
    def public_key(self) -> str:
        return signatures.public_key_text(self.private_key)

    def activate(self, *, identifier: str, code: str, device_name: str = "Pixel 8") -> Any:
        response = self.client.post(
            f"{BASE}/activations",
            data=json.dumps(
                {"identifier": identifier, "code": code, "public_key": self.public_key, "device_name": device_name}
            ),
            content_type="application/json",
        )
        if response.status_code == 201:
            self.device_id = response.json()["id"]
        return response

    def signed_headers(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        timestamp: int | None = None,
        request_id: str | None = None,
        key: Ed25519PrivateKey | None = None,
    ) -> dict[str, Any]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        rid = request_id or uuid.uuid4().hex
        message = signatures.canonical_string(method=method, path=path, timestamp=stamp, request_id=rid, body=body)
        return {
            "HTTP_X_DEVICE_ID": self.device_id,
            "HTTP_X_TIMESTAMP": stamp,
            "HTTP_X_REQUEST_ID": rid,
            "HTTP_X_SIGNATURE": signatures.sign(key or self.private_key, message),
        }

    def get(self, path: str, **options: Any) -> Any:
        full = f"{BASE}{path}"
        return self.client.get(full, **self.signed_headers("GET", full, **options))

    def post(self, path: str, payload: dict[str, Any] | None = None, **options: Any) -> Any:
        full = f"{BASE}{path}"
        body = json.dumps(payload).encode() if payload is not None else b""
        headers = self.signed_headers("POST", full, body, **options)
        return self.client.post(full, data=body, content_type="application/json", **headers)


class SigningApp:
    """A WSGI app in front of ``app`` that signs as the app does a request naming a device in X-Device-Id.

    For a client that cannot sign (schemathesis): with ``X-Test-Signing-Key: <name>`` it signs the request
    as it arrives (method, path with query, body) with ``keys[name]``, a fresh timestamp and request id.
    Without that header the request passes unsigned.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], keys: dict[str, Ed25519PrivateKey]) -> None:
        self.app = app
        self.keys = keys

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        name = environ.pop("HTTP_X_TEST_SIGNING_KEY", None)
        if name is not None:
            # A copy: WSGIRequest writes its decoded PATH_INFO back into the environ it is given.
            request = WSGIRequest(dict(environ))
            body = request.body
            environ["wsgi.input"] = BytesIO(body)
            stamp = str(int(time.time()))
            rid = uuid.uuid4().hex
            message = signatures.canonical_string(
                method=request.method or "", path=request.get_full_path(), timestamp=stamp, request_id=rid, body=body
            )
            environ["HTTP_X_TIMESTAMP"] = stamp
            environ["HTTP_X_REQUEST_ID"] = rid
            environ["HTTP_X_SIGNATURE"] = signatures.sign(self.keys[name], message)
        return self.app(environ, start_response)
