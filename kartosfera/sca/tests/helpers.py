"""Helpers for tests that go through a step-up confirmation (read codes from the locmem SMS outbox)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.messages.storage import default_storage
from django.http import HttpResponse
from django.test import Client, RequestFactory

from kartosfera.notifications.backends import locmem
from kartosfera.sca.models import SmsChallenge
from kartosfera.sca.stepup import stepup_begin
from kartosfera.users.models import User

_CODE = re.compile(r"\b([0-9]{6})\b")


def code_sent_to(phone: str) -> str:
    """The 6-digit code of the latest SMS to ``phone``."""
    for message in reversed(locmem.outbox):
        if message.to == phone and (match := _CODE.search(message.text)):
            return match.group(1)
    raise AssertionError(f"no code was sent to {phone}: {[m.to for m in locmem.outbox]}")


def texts_to(phone: str) -> list[str]:
    return [message.text for message in locmem.outbox if message.to == phone]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def challenge_from(response: HttpResponse) -> SmsChallenge:
    """The challenge a redirect to the confirmation page is about."""
    assert response.status_code == 302, response
    match = re.search(r"/confirm/([0-9a-f-]{36})/$", response["Location"])
    assert match, response["Location"]
    return SmsChallenge.objects.get(public_id=match.group(1))


def begin(client: Client, user: User, path: str = "/settings/", **kwargs: Any) -> HttpResponse:
    """Call stepup_begin as a view of ``client``'s session would (for operations with no page of their own)."""
    request = RequestFactory().post(path)
    request.user = user
    request.session = client.session
    request._messages = default_storage(request)  # type: ignore[attr-defined]
    response = stepup_begin(request, **kwargs)
    request.session.save()
    return response
