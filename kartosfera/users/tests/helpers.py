"""Helpers for the sign-in and registration tests: the SMS outbox and a client that walks the steps."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.urls import reverse

from kartosfera.notifications.backends import locmem

LOGIN_URL = reverse("users:login")
LOGIN_CODE_URL = reverse("users:login_code")
REGISTER_URL = reverse("users:register")
REGISTER_SEND_URL = reverse("users:register_send")
REGISTER_ACTIVATE_URL = reverse("users:register_activate")
REGISTER_PASSWORD_URL = reverse("users:register_password")
SECURITY_URL = reverse("users:security")
GENERIC_ERROR = "Nieprawidłowy identyfikator lub hasło."
NEW_PASSWORD = "Ćma nad łąką o zmierzchu"


def last_sms(to: str | None = None) -> str:
    messages = [m for m in locmem.outbox if to is None or m.to == to]
    assert messages, f"no SMS{' to ' + to if to else ''} in the outbox"
    return messages[-1].text


def last_login_code(to: str | None = None) -> str:
    text = last_sms(to)
    match = re.search(r"\b([0-9]{6})\b", text)
    assert match, text
    return match.group(1)


def last_activation_password(to: str | None = None) -> str:
    text = last_sms(to)
    match = re.search(r"\b([A-Z2-9]{10})\b", text)
    assert match, text
    return match.group(1)


@dataclass
class Portal:
    """A browser-like client whose requests deliver their SMS (on_commit runs inside the test's transaction)."""

    client: Client
    capture: Callable[..., Any]

    def get(self, url: str, **extra: Any) -> Any:
        with self.capture(execute=True):
            return self.client.get(url, **extra)

    def post(self, url: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
        with self.capture(execute=True):
            return self.client.post(url, data or {}, **extra)

    def password_step(self, identifier: str, password: str, **extra: Any) -> Any:
        return self.post(LOGIN_URL, {"identifier": identifier, "password": password, **extra})

    def code_step(self, code: str) -> Any:
        return self.post(LOGIN_CODE_URL, {"code": code})

    def sign_in(self, identifier: str, password: str, **extra: Any) -> Any:
        """Both steps; returns the response to the code."""
        response = self.password_step(identifier, password, **extra)
        assert response.status_code == 302 and response["Location"] == LOGIN_CODE_URL, response.content[:300]
        return self.code_step(last_login_code())

    def register(self, identifier: str, password: str = NEW_PASSWORD) -> Any:
        """Every registration step; returns the response to the new password."""
        response = self.post(REGISTER_URL, {"identifier": identifier})
        assert response.status_code == 302 and response["Location"] == REGISTER_SEND_URL, response.content[:300]
        response = self.post(REGISTER_SEND_URL)
        assert response.status_code == 302 and response["Location"] == REGISTER_ACTIVATE_URL
        response = self.post(REGISTER_ACTIVATE_URL, {"activation_password": last_activation_password()})
        assert response.status_code == 302 and response["Location"] == REGISTER_PASSWORD_URL, response.content[:300]
        return self.post(REGISTER_PASSWORD_URL, {"new_password": password, "new_password_again": password})

    @property
    def signed_in_user_id(self) -> int | None:
        value = self.client.session.get("_auth_user_id")
        return int(value) if value is not None else None
