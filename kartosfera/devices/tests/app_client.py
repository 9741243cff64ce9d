"""A test client that plays the BS Pay app: it owns an Ed25519 key and a PIN, activates, and signs every request.

Like the app, it opens its app session with the PIN when it needs one (``auto_session``): when a request is
answered 401 session_required (none open yet, or it ran out or was ended), it opens one and sends the request
once more. Tests of the session itself switch that off.
"""

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
# The PIN every test app sets at activation (devices/tests/helpers.py device_for too): not a run, not one digit.
DEFAULT_PIN = "270419"
# Requests that need no app session: the activation and the session's own endpoints.
_NO_SESSION_PATHS = ("/activations", "/session")


class AppClient:
    """The app on one phone: its key pair and, once activated, its device id."""

    def __init__(
        self,
        client: Client | None = None,
        *,
        private_key: Ed25519PrivateKey | None = None,
        pin: str = DEFAULT_PIN,
        auto_session: bool = True,
    ) -> None:
        self.client = client or Client()
        self.private_key = private_key or Ed25519PrivateKey.generate()
        self.device_id = ""
        self.pin = pin
        self.auto_session = auto_session
        self.session_open = False

    @property
    def public_key(self) -> str:
        return signatures.public_key_text(self.private_key)

    def activate(self, *, identifier: str, code: str, device_name: str = "Pixel 8", pin: str | None = None) -> Any:
        body = {
            "identifier": identifier,
            "code": code,
            "public_key": self.public_key,
            "device_name": device_name,
            "pin": self.pin if pin is None else pin,
        }
        response = self.client.post(
            f"{BASE}/activations",
            data=json.dumps(body),
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
        return self._with_session(path, lambda: self._get(path, **options), options)

    def post(self, path: str, payload: dict[str, Any] | None = None, **options: Any) -> Any:
        return self._with_session(path, lambda: self._post(path, payload, **options), options)

    def put(self, path: str, payload: dict[str, Any] | None = None, **options: Any) -> Any:
        return self._with_session(path, lambda: self._put(path, payload, **options), options)

    def delete(self, path: str, **options: Any) -> Any:
        full = f"{BASE}{path}"
        return self.client.delete(full, **self.signed_headers("DELETE", full, **options))

    def open_session(self, *, pin: str | None = None, **options: Any) -> Any:
        """POST /session with the PIN (this app's own unless ``pin``)."""
        response = self._post("/session", {"pin": self.pin if pin is None else pin}, **options)
        self.session_open = response.status_code == 200
        return response

    def end_session(self) -> Any:
        response = self.delete("/session")
        self.session_open = False
        return response

    def _get(self, path: str, **options: Any) -> Any:
        full = f"{BASE}{path}"
        return self.client.get(full, **self.signed_headers("GET", full, **options))

    def _post(self, path: str, payload: dict[str, Any] | None = None, **options: Any) -> Any:
        full = f"{BASE}{path}"
        body = json.dumps(payload).encode() if payload is not None else b""
        headers = self.signed_headers("POST", full, body, **options)
        return self.client.post(full, data=body, content_type="application/json", **headers)

    def _put(self, path: str, payload: dict[str, Any] | None = None, **options: Any) -> Any:
        full = f"{BASE}{path}"
        body = json.dumps(payload).encode() if payload is not None else b""
        headers = self.signed_headers("PUT", full, body, **options)
        return self.client.put(full, data=body, content_type="application/json", **headers)

    def _with_session(self, path: str, send: Callable[[], Any], options: dict[str, Any]) -> Any:
        response = send()
        if not self.auto_session or path.startswith(_NO_SESSION_PATHS) or "request_id" in options:
            return response
        # As the app does: the session ran out (or none was open), so it asks for the PIN and sends again.
        needed = response.status_code == 401 and _code(response) == "session_required"
        if needed and self.open_session().status_code == 200:
            response = send()
        return response


def _code(response: Any) -> str:
    try:
        return str(response.json().get("code", ""))
    except (ValueError, AttributeError):
        return ""


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
